"""How closely the batch functions agree with the scalar C++ functions.

The batch prices and Greeks run vector kernels (AVX2 / AVX-512, src/simd/) whose exp, log and erfc
differ from the scalar ones by an ulp or a few, so batch and scalar agree within bounds, not to the bit:
prices within 8 eps relative or 1e-15 * spot absolute, Greeks within 1e-9 relative (plus 1e-12 of the
largest magnitude of their column, for values that are nearly zero); implied vols solve in vector lanes
too and agree within 1e-12 relative, with the same status. tests/cpp/test_properties.cpp holds the C++
batch to the same bounds. NaN must match NaN.
"""
from __future__ import annotations

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


def iv_agrees(got: float, want: float) -> bool:
    """A batch implied vol against the scalar C++ one (NaN matches NaN)."""
    if np.isnan(want):
        return bool(np.isnan(got))
    return got == want or abs(got - want) <= 1e-12 * abs(want)
