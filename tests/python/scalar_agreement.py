"""How closely the batch functions agree with the scalar C++ functions.

The batch prices and Greeks run vector kernels (AVX2 / AVX-512, src/simd/) whose exp, log and erfc
differ from the scalar ones by an ulp or a few, so batch and scalar agree within bounds, not to the bit:
prices within 8 eps relative or 1e-15 * spot absolute, Greeks within 1e-9 relative (plus 1e-12 of the
largest magnitude of their column, for values that are nearly zero); implied vols reduce and solve in vector
lanes too and agree within 4x their attainable accuracy, with the same status. tests/cpp/test_properties.cpp holds the C++
batch to the same bounds. NaN must match NaN.
"""
from __future__ import annotations

import math

import numpy as np

EPS = np.finfo(float).eps


def _same_nans(got: np.ndarray, want: np.ndarray, what: str) -> np.ndarray:
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{what}: NaN in different places")
    return ~np.isnan(want)


def assert_prices_agree(got, want, spot=100.0, what: str = "price") -> None:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, (got.shape, want.shape)
    ok = _same_nans(got, want, what)
    scale = np.broadcast_to(np.abs(np.asarray(spot, dtype=float)), want.shape)[ok]
    bound = np.maximum(8 * EPS * np.abs(want[ok]), 1e-15 * scale)
    worst = np.abs(got[ok] - want[ok]) - bound
    assert np.all(worst <= 0), f"{what}: off by more than the bound at {np.argmax(worst)}"


def assert_greek_agrees(got, want, what: str) -> None:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    ok = _same_nans(got, want, what)
    if not ok.any():
        return
    floor = 1e-12 * np.max(np.abs(want[ok]))
    bound = 1e-9 * np.abs(want[ok]) + floor
    worst = np.abs(got[ok] - want[ok]) - bound
    assert np.all(worst <= 0), f"{what}: off by more than the bound at {np.argmax(worst)}"


def attainable(S, K, T, r, q, sigma, is_call, price) -> float:
    """The attainable relative accuracy of an implied vol (CONVENTIONS.md), in double: the price's
    rounding through the time value's conditioning plus x = ln(F/K)'s rounding through cond_x (as
    tests/cpp/test_properties.cpp computes it)."""
    th = 1.0 if is_call else -1.0
    x, s = math.log(S / K) + (r - q) * T, sigma * math.sqrt(T)
    fwd, disc = S * math.exp((r - q) * T), math.exp(-r * T)
    d2 = x / s - s / 2
    phi2 = math.exp(-0.5 * d2 * d2) / math.sqrt(2 * math.pi)
    vega_n = math.sqrt(fwd * K) * math.exp(-x / 2) * phi2 * disc
    tv = price - max(th * disc * (fwd - K), 0.0)
    if not tv > 0:
        return math.inf  # no time value left in double: only the status says anything
    if phi2 == 0 or vega_n == 0:
        return math.inf  # vega underflows: sigma is not determined by the price in double
    cond = tv / (s * vega_n)
    cond_x = 0.5 * math.erfc(-th * d2 / math.sqrt(2.0)) / (phi2 * s)
    x_err = 1 + abs(math.log(S / K)) + abs((r - q) * T)
    p_err = 1 + abs(r * T) + abs(q * T)
    return float(EPS * ((1 + cond * p_err) * price / tv + cond_x * x_err))


def iv_agrees(got: float, want: float, att: float) -> bool:
    """A batch implied vol against the scalar C++ one: within 4x the attainable accuracy (the batch
    reduces and solves in vector lanes, whose ulps move an ill-conditioned root by about that much).
    NaN matches NaN."""
    if np.isnan(want):
        return bool(np.isnan(got))
    return got == want or abs(got - want) <= 4 * att * abs(want)
