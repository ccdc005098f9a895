#!/usr/bin/env python3
"""optaro's Python batch functions against every peer of issue 9, in one run.

Not a test (it takes minutes): a measurement, as CONVENTIONS.md (Measurement) asks for it. Tasks
(--only) and their peers (--skip takes the peer's module name):

* iv, price, greeks: py_vollib_vectorized (and its numba IV kernel alone), QuantLib-Python; for iv
  also a per-option loop of scipy's brentq on a Black price from scipy.special.ndtr ("scipy") and
  a per-option loop of py_lets_be_rational (Jäckel's Let's Be Rational, pinned 1.0.1).
* ohlc: optaro.ohlc against pandas (Series.resample: ohlc(), volume sum, VWAP), 1-minute candles.
* svi: optaro.fit_svi (cold and warm start) against QuantLib's SviInterpolatedSmileSection, with the
  smiles, fitters and quality measure of bench/compare_svi.py (imported, not copied).

* Option inputs: the option set of the C++ benchmarks (bench/bench_inputs.hpp), rebuilt here bit for
  bit from the same std::mt19937_64 stream and the same transforms: S = F = 100, r = q = 0, K
  log-uniform in [50, 200], T log-uniform in [1 day, 2 years], sigma uniform in [5%, 100%], calls and
  puts mixed; 1M options by default. The IV input is optaro's price of each option.
* Tick inputs (ohlc): --ticks ticks (default: as many as --options) of one NSE session (2025-01-15,
  09:15 to 15:30 IST), numpy PCG64 with a fixed seed: sorted ns timestamps uniform over the session,
  prices a random walk from 21500 (steps N(0, 0.5), rounded to 0.05), integer volumes in [1, 1000).
  pandas gets them as a DataFrame on a DatetimeIndex, built outside the timing.
* Smile inputs (svi): compare_svi.py's smiles (5 shapes x --svi-per-shape, 100 strikes, 0.2 vol-point
  noise, its fixed seed).
* Timing: every library and task is timed once per round, the libraries in a rotated order each
  round; the table shows the best and the median over the rounds (wall time, one thread) per unit:
  per option, per tick (ohlc) or per smile fit (svi). Ratios are peer / optaro: above 1 means optaro
  is faster (svi: against optaro's cold start).
* First calls (numba compiles py_vollib_vectorized's and py_lets_be_rational's kernels on first use)
  are timed separately on a small slice and kept out of the rounds. By default numba compiles into a
  fresh cache directory, so the first-call figure is a cold compile; --warm-numba-cache uses numba's
  normal on-disk cache.
* QuantLib, scipy brentq and py_lets_be_rational have no vectorised path here, so they run per option
  in a Python loop on the first --loop-options options (fewer: a loop over 1M options takes minutes).
* Sanity: each peer's results against optaro's on the same rows (max abs difference); ohlc: the
  candles aligned on their window start (pandas' empty windows dropped); svi: every fitter's RMS
  distance to the true smile.
* --chart PATH: a PNG (matplotlib, Agg) of the medians, one group of bars per task, log scale.
* A peer that does not import is left out and the reason printed and kept in the JSON ("unavailable").

Set-up (what bench/run.sh does):
    python3 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install .                                  # optaro, from the repository root
    /tmp/bench-venv/bin/pip install -r bench/requirements-peers.txt
    /tmp/bench-venv/bin/python bench/compare_peers.py [--json out.json] [--chart out.png]
"""
from __future__ import annotations

import os

# One thread everywhere, before numpy or numba is imported: the comparison is single-threaded.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import atexit
import gc
import importlib
import importlib.metadata
import json
import math
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

# ------------------------------------------------------------------------------------------------
# The option set: a mirror of bench/bench_inputs.hpp (keep the two in step).

SEED = 20240617
SPOT, RATE, CARRY = 100.0, 0.0, 0.0
STRIKE_MIN, STRIKE_MAX = 50.0, 200.0
EXPIRY_MIN, EXPIRY_MAX = 1.0 / 365.0, 2.0
VOL_MIN, VOL_MAX = 0.05, 1.0

_MT_N, _MT_M = 312, 156
_MT_MATRIX_A = np.uint64(0xB5026F5AA96619E9)
_MT_UPPER = np.uint64(0xFFFFFFFF80000000)
_MT_LOWER = np.uint64(0x7FFFFFFF)


def mt19937_64(seed: int, count: int) -> np.ndarray:
    """The first `count` outputs of C++ std::mt19937_64(seed), as uint64 (vectorised per state block)."""
    mask = (1 << 64) - 1
    state = [seed & mask]
    for i in range(1, _MT_N):
        prev = state[-1]
        state.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & mask)
    mt = np.array(state, dtype=np.uint64)
    one = np.uint64(1)
    blocks = []
    for _ in range(-(-count // _MT_N)):
        new = np.empty_like(mt)
        # Rows 0..155 read only the old state; rows 156..310 read rows 0..154 of the new one; row 311
        # reads new rows 0 and 155: the in-place recurrence, in three vector steps.
        y = (mt[:_MT_M] & _MT_UPPER) | (mt[1 : _MT_M + 1] & _MT_LOWER)
        new[:_MT_M] = mt[_MT_M:] ^ (y >> one) ^ ((y & one) * _MT_MATRIX_A)
        y = (mt[_MT_M : _MT_N - 1] & _MT_UPPER) | (mt[_MT_M + 1 :] & _MT_LOWER)
        new[_MT_M : _MT_N - 1] = new[: _MT_M - 1] ^ (y >> one) ^ ((y & one) * _MT_MATRIX_A)
        y = (mt[_MT_N - 1] & _MT_UPPER) | (new[0] & _MT_LOWER)
        new[_MT_N - 1] = new[_MT_M - 1] ^ (y >> one) ^ ((y & one) * _MT_MATRIX_A)
        mt = new
        z = mt.copy()
        z ^= (z >> np.uint64(29)) & np.uint64(0x5555555555555555)
        z ^= (z << np.uint64(17)) & np.uint64(0x71D67FFFEDA60000)
        z ^= (z << np.uint64(37)) & np.uint64(0xFFF7EEE000000000)
        z ^= z >> np.uint64(43)
        blocks.append(z)
    return np.concatenate(blocks)[:count]


def option_set(n: int) -> dict[str, np.ndarray]:
    """Option i uses draws 4i..4i+3 for K, T, sigma, call (see bench/bench_inputs.hpp)."""
    draws = mt19937_64(SEED, 4 * n).reshape(n, 4)
    unit = (draws[:, :3] >> np.uint64(11)).astype(np.float64) * 2.0**-53

    def log_uniform(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
        # math.exp is the C library's exp, as in the C++ benchmark; numpy's own exp can differ by an ulp.
        return lo * np.array(list(map(math.exp, (u * math.log(hi / lo)).tolist())))

    return {
        "S": np.full(n, SPOT),
        "K": log_uniform(unit[:, 0], STRIKE_MIN, STRIKE_MAX),
        "T": log_uniform(unit[:, 1], EXPIRY_MIN, EXPIRY_MAX),
        "r": np.full(n, RATE),
        "q": np.full(n, CARRY),
        "sigma": VOL_MIN + (VOL_MAX - VOL_MIN) * unit[:, 2],
        "is_call": (draws[:, 3] >> np.uint64(63)).astype(bool),
    }


# ------------------------------------------------------------------------------------------------
# Measurement


@dataclass
class Case:
    library: str
    task: str  # one of TASKS
    n: int  # units per run: options, ticks (ohlc) or smile fits (svi)
    run: Callable[[], Any]
    first_call: Callable[[], Any]
    note: str = ""
    unit: str = "option"
    times_ns: list[int] = field(default_factory=list)
    first_call_s: float = math.nan
    result: Any = None
    sanity: dict[str, Any] = field(default_factory=dict)

    def best(self) -> float:
        return min(self.times_ns) / self.n

    def median(self) -> float:
        return statistics.median(self.times_ns) / self.n


def timed(fn: Callable[[], Any]) -> tuple[int, Any]:
    t0 = time.perf_counter_ns()
    out = fn()
    return time.perf_counter_ns() - t0, out


TASKS = ("iv", "price", "greeks", "ohlc", "svi")
TASK_TITLES = {"iv": "implied vol", "price": "price", "greeks": "Greeks", "ohlc": "OHLC, per tick",
               "svi": "SVI, per fit"}
# Peers by the module that must import; --skip takes these names.
PEERS = ("py_vollib_vectorized", "QuantLib", "scipy", "py_lets_be_rational", "pandas")
# brentq's bracket: wide around the inputs' 5% to 100%.
BRENTQ_SIGMA_LOW, BRENTQ_SIGMA_HIGH = 1e-6, 10.0


def optaro_cases(o, price, n):
    import optaro

    S, K, T, r, q, sigma, is_call = (o[k] for k in ("S", "K", "T", "r", "q", "sigma", "is_call"))
    sl = slice(0, 64)
    greeks_out = np.empty((len(optaro.GREEK_NAMES), n))
    return [
        Case("optaro", "iv", n, lambda: optaro.implied_vol(price, S, K, T, r, q, is_call),
             lambda: optaro.implied_vol(price[sl], S[sl], K[sl], T[sl], r[sl], q[sl], is_call[sl])),
        Case("optaro", "price", n, lambda: optaro.bs_price(S, K, T, r, q, sigma, is_call),
             lambda: optaro.bs_price(S[sl], K[sl], T[sl], r[sl], q[sl], sigma[sl], is_call[sl])),
        Case("optaro", "greeks", n, lambda: optaro.bs_greeks(S, K, T, r, q, sigma, is_call),
             lambda: optaro.bs_greeks(S[sl], K[sl], T[sl], r[sl], q[sl], sigma[sl], is_call[sl]),
             note="12 Greeks (delta ... veta), no price"),
        Case("optaro out=", "greeks", n, lambda: optaro.bs_greeks(S, K, T, r, q, sigma, is_call, out=greeks_out),
             lambda: optaro.bs_greeks(S[sl], K[sl], T[sl], r[sl], q[sl], sigma[sl], is_call[sl]),
             note="the same into one reused (12, n) array"),
    ]


def vollib_cases(o, price, n):
    import py_vollib_vectorized as pvv
    from py_vollib_vectorized._iv_models import implied_volatility_from_a_transformed_rational_guess as pvv_iv_kernel

    S, K, T, r, sigma, is_call = (o[k] for k in ("S", "K", "T", "r", "sigma", "is_call"))
    # A list of 'c'/'p': py_vollib_vectorized maps flags through a Python dict, and a list is the
    # cheapest input for that.
    flag = ["c" if c else "p" for c in is_call]
    # The kernel alone: flags already +-1, forward and undiscounted price given, no input checks.
    theta = np.where(is_call, 1.0, -1.0)
    forward = S * np.exp(r * T)
    undiscounted = price * np.exp(r * T)
    sl = slice(0, 64)

    return [
        Case("py_vollib_vectorized", "iv", n,
             lambda: pvv.vectorized_implied_volatility(price, S, K, T, r, flag, model="black_scholes",
                                                       on_error="ignore", return_as="numpy"),
             lambda: pvv.vectorized_implied_volatility(price[sl], S[sl], K[sl], T[sl], r[sl], flag[sl],
                                                       model="black_scholes", on_error="ignore",
                                                       return_as="numpy")),
        Case("py_vollib_vectorized kernel", "iv", n,
             lambda: np.ascontiguousarray(pvv_iv_kernel(undiscounted, forward, K, T, theta)),
             lambda: np.ascontiguousarray(pvv_iv_kernel(undiscounted[sl], forward[sl], K[sl], T[sl], theta[sl])),
             note="numba kernel only: no flag mapping or checks"),
        Case("py_vollib_vectorized", "price", n,
             lambda: pvv.vectorized_black_scholes(flag, S, K, T, r, sigma, return_as="numpy"),
             lambda: pvv.vectorized_black_scholes(flag[sl], S[sl], K[sl], T[sl], r[sl], sigma[sl], return_as="numpy")),
        Case("py_vollib_vectorized", "greeks", n,
             lambda: pvv.get_all_greeks(flag, S, K, T, r, sigma, model="black_scholes", return_as="dict"),
             lambda: pvv.get_all_greeks(flag[sl], S[sl], K[sl], T[sl], r[sl], sigma[sl], model="black_scholes",
                                        return_as="dict"),
             note="5 Greeks, no price"),
    ]


def quantlib_cases(o, price, m):
    import QuantLib as ql

    rows = [
        (ql.Option.Call if c else ql.Option.Put, s0, k, t, math.exp(-rr * t), s0 * math.exp((rr - qq) * t), v)
        for c, s0, k, t, rr, qq, v in zip(
            o["is_call"][:m].tolist(), o["S"][:m].tolist(), o["K"][:m].tolist(), o["T"][:m].tolist(),
            o["r"][:m].tolist(), o["q"][:m].tolist(), o["sigma"][:m].tolist())
    ]
    prices = price[:m].tolist()

    def iv(accuracy: float | None, rows=rows, prices=prices):
        out = np.empty(len(rows))
        for i, ((kind, _s0, k, t, df, fwd, _v), p) in enumerate(zip(rows, prices)):
            try:
                std = (ql.blackFormulaImpliedStdDev(kind, k, fwd, p, df) if accuracy is None
                       else ql.blackFormulaImpliedStdDev(kind, k, fwd, p, df, 0.0, ql.nullDouble(), accuracy, 100))
                out[i] = std / math.sqrt(t)
            except RuntimeError:  # QuantLib throws where no volatility attains the price
                out[i] = math.nan
        return out

    def price_loop(rows=rows):
        return np.array([ql.blackFormula(kind, k, fwd, v * math.sqrt(t), df) for kind, _s0, k, t, df, fwd, v in rows])

    def greeks_loop(rows=rows):
        cols = {name: np.empty(len(rows)) for name in ("price", "delta", "gamma", "vega", "theta", "rho")}
        for i, (kind, s0, k, t, df, fwd, v) in enumerate(rows):
            calc = ql.BlackCalculator(ql.PlainVanillaPayoff(kind, k), fwd, v * math.sqrt(t), df)
            cols["price"][i] = calc.value()
            cols["delta"][i] = calc.delta(s0)
            cols["gamma"][i] = calc.gamma(s0)
            cols["vega"][i] = calc.vega(t)
            cols["theta"][i] = calc.theta(s0, t)
            cols["rho"][i] = calc.rho(t)
        return cols

    few = rows[:64]
    return [
        Case("QuantLib loop", "iv", m, lambda: iv(None), lambda: iv(None, few, prices[:64]),
             note="blackFormulaImpliedStdDev, default accuracy 1e-6"),
        Case("QuantLib loop 1e-12", "iv", m, lambda: iv(1e-12), lambda: iv(1e-12, few, prices[:64]),
             note="blackFormulaImpliedStdDev, accuracy 1e-12"),
        Case("QuantLib loop", "price", m, price_loop, lambda: price_loop(few), note="blackFormula"),
        Case("QuantLib loop", "greeks", m, greeks_loop, lambda: greeks_loop(few),
             note="BlackCalculator: price + 5 Greeks"),
    ]


def scipy_cases(o, price, m):
    """Implied vol as a user without a vectorised solver writes it: scipy's brentq per option."""
    from scipy.optimize import brentq
    from scipy.special import ndtr

    rows = [
        (1.0 if c else -1.0, k, t, math.exp(-rr * t), s0 * math.exp((rr - qq) * t), p)
        for c, s0, k, t, rr, qq, p in zip(
            o["is_call"][:m].tolist(), o["S"][:m].tolist(), o["K"][:m].tolist(), o["T"][:m].tolist(),
            o["r"][:m].tolist(), o["q"][:m].tolist(), price[:m].tolist())
    ]

    def black_minus_price(sigma, theta, k, t, df, fwd, target):
        s = sigma * math.sqrt(t)
        d1 = math.log(fwd / k) / s + 0.5 * s
        return df * theta * (fwd * ndtr(theta * d1) - k * ndtr(theta * (d1 - s))) - target

    def iv(rows=rows):
        out = np.empty(len(rows))
        for i, (theta, k, t, df, fwd, p) in enumerate(rows):
            try:
                out[i] = brentq(black_minus_price, BRENTQ_SIGMA_LOW, BRENTQ_SIGMA_HIGH, args=(theta, k, t, df, fwd, p))
            except ValueError:  # no sign change in the bracket: no volatility in it attains the price
                out[i] = math.nan
        return out

    return [Case("scipy brentq loop", "iv", m, iv, lambda: iv(rows[:64]),
                 note=f"brentq on [{BRENTQ_SIGMA_LOW:g}, {BRENTQ_SIGMA_HIGH:g}], default xtol 2e-12, Black "
                      "price from scipy.special.ndtr")]


def lets_be_rational_cases(o, price, m):
    """Jäckel's Let's Be Rational, as py_lets_be_rational ships it: Python entry points calling
    numba-jitted helpers (plain Python where numba does not import)."""
    from py_lets_be_rational import implied_volatility_from_a_transformed_rational_guess as lbr_iv
    from py_lets_be_rational.exceptions import VolatilityValueException

    # Undiscounted price and forward, flag +-1: the function's own inputs.
    rows = [
        (p * math.exp(rr * t), s0 * math.exp((rr - qq) * t), k, t, 1.0 if c else -1.0)
        for c, s0, k, t, rr, qq, p in zip(
            o["is_call"][:m].tolist(), o["S"][:m].tolist(), o["K"][:m].tolist(), o["T"][:m].tolist(),
            o["r"][:m].tolist(), o["q"][:m].tolist(), price[:m].tolist())
    ]

    def iv(rows=rows):
        out = np.empty(len(rows))
        for i, (p, fwd, k, t, theta) in enumerate(rows):
            try:
                out[i] = lbr_iv(p, fwd, k, t, theta)
            except VolatilityValueException:
                out[i] = math.nan
        # It signals "below intrinsic" / "above maximum" with -DBL_MAX / +DBL_MAX.
        out[np.abs(out) >= np.finfo(float).max] = math.nan
        return out

    return [Case("py_lets_be_rational loop", "iv", m, iv, lambda: iv(rows[:64]),
                 note="implied_volatility_from_a_transformed_rational_guess per option (a Python function "
                      "over numba-jitted helpers)")]


# ------------------------------------------------------------------------------------------------
# OHLC candles: ticks of one trading day, 1-minute windows.

TICK_SEED = 20250115
SESSION_START_NS = 1_736_912_700 * 1_000_000_000  # 2025-01-15T03:45:00Z, the NSE open (09:15 IST)
SESSION_SECONDS = 22_500  # to 15:30 IST
TICK_SIZE = 0.05
CANDLE_SECONDS = 60


def tick_set(n: int) -> dict[str, np.ndarray]:
    """Sorted ns timestamps uniform over the session, a random walk from 21500 in steps of N(0, 0.5)
    rounded to the 0.05 tick, integer volumes uniform in [1, 1000)."""
    rng = np.random.default_rng(TICK_SEED)
    timestamps = np.sort(rng.integers(SESSION_START_NS, SESSION_START_NS + SESSION_SECONDS * 10**9, n))
    walk = 21500.0 + np.cumsum(rng.normal(0.0, 0.5, n))
    return {
        "timestamps_ns": timestamps.astype(np.int64),
        "prices": np.round(walk / TICK_SIZE) * TICK_SIZE,
        "volumes": rng.integers(1, 1000, n).astype(np.int64),
    }


def optaro_ohlc_case(ticks):
    import optaro

    t, p = ticks["timestamps_ns"], ticks["prices"]
    v = ticks["volumes"].astype(np.float64)  # optaro takes float volumes; converted once, outside the timing
    few = slice(0, 1000)
    return Case("optaro", "ohlc", t.size, lambda: optaro.ohlc(t, p, v, CANDLE_SECONDS),
                lambda: optaro.ohlc(t[few], p[few], v[few], CANDLE_SECONDS), unit="tick",
                note="open, high, low, close, volume, VWAP and tick count per window")


def pandas_cases(ticks):
    import pandas as pd

    # The frame a pandas user already holds (DatetimeIndex, one column per field): built outside the timing.
    frame = pd.DataFrame({"price": ticks["prices"], "volume": ticks["volumes"]},
                         index=pd.to_datetime(ticks["timestamps_ns"], unit="ns"))
    rule = f"{CANDLE_SECONDS}s"

    def candles(frame=frame):
        windows = frame.resample(rule)
        bars = windows["price"].ohlc()
        bars["volume"] = windows["volume"].sum()
        bars["vwap"] = (frame["price"] * frame["volume"]).resample(rule).sum() / bars["volume"]
        return bars

    return [Case("pandas resample", "ohlc", len(frame), candles, lambda: candles(frame.iloc[:1000]), unit="tick",
                 note=f"resample('{rule}'): price.ohlc(), volume.sum(), VWAP from sum(price*volume)")]


# ------------------------------------------------------------------------------------------------
# SVI smile fits: the smiles, fitters and quality measure of bench/compare_svi.py.


def compare_svi_module():
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:  # bench/ is not a package
        sys.path.insert(0, here)
    import compare_svi

    return compare_svi


def optaro_svi_cases(smiles):
    svi = compare_svi_module()
    warm = list(zip(smiles, svi.warm_starts(smiles)))
    return [
        Case("optaro", "svi", len(smiles), lambda: [svi.optaro_fit(s, None) for s in smiles],
             lambda: [svi.optaro_fit(s, None) for s in smiles[:1]], unit="fit",
             note="fit_svi, vega weights, cold start (the ratio base)"),
        Case("optaro warm start", "svi", len(smiles), lambda: [svi.optaro_fit(s, p) for s, p in warm],
             lambda: [svi.optaro_fit(s, p) for s, p in warm[:1]], unit="fit",
             note="fit_svi started from the fit of the noiseless smile (a live re-fit)"),
    ]


def quantlib_svi_cases(smiles):
    svi = compare_svi_module()
    return [Case("QuantLib", "svi", len(smiles), lambda: [svi.quantlib_fit(s) for s in smiles],
                 lambda: [svi.quantlib_fit(s) for s in smiles[:1]], unit="fit",
                 note="SviInterpolatedSmileSection, 5 free parameters, vega weighting")]


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> tuple[float, int, int]:
    """Max |a - b| where both are finite; rows compared; rows where exactly one is NaN."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    both = np.isfinite(a) & np.isfinite(b)
    one = np.isfinite(a) != np.isfinite(b)
    worst = float(np.max(np.abs(a[both] - b[both]))) if both.any() else math.nan
    return worst, int(both.sum()), int(one.sum())


# Rows where an ulp of the price moves sigma by less than 1e-8 relative: price / (sigma * vega) <= 1e8.
# Elsewhere (deep in the money, hours to expiry) many volatilities round to the same price, and two
# correct solvers may disagree in sigma while both reproduce the price.
CONDITION_LIMIT = 1e8


def sanity(case: Case, reference: dict[str, Any], o: dict[str, np.ndarray]) -> str:
    """A short text comparing a peer's result with optaro's on the same rows (svi: every fit with the truth)."""
    m = case.n
    if case.task == "ohlc":
        return ohlc_sanity(case, reference["ohlc"])
    if case.task == "svi":
        case.sanity = reference["svi_quality"](case.result)
        s = case.sanity
        return (f"RMS to true smile {s['rms_vol_points_median']:.3f} vol pts median, "
                f"{s['rms_vol_points_worst']:.3f} worst, {s['degenerate']} of {s['fits']} degenerate (> 1 vol pt)")
    if case.task == "iv":
        peer = np.asarray(case.result, dtype=float)
        ref_iv, price = reference["iv"][:m], reference["price"][:m]
        ok = reference["iv_ok"][:m]
        # Well-conditioned rows with a normal (not subnormal) price: there, correct solvers agree.
        well = ok & reference["well_conditioned"][:m] & (price >= np.finfo(float).tiny)
        worst, rows, _ = max_abs_diff(peer[well], ref_iv[well])
        with np.errstate(invalid="ignore"):
            off = int((well & ~(np.abs(peer - ref_iv) <= 1e-6 * ref_iv)).sum())
        # Does the peer's sigma reproduce the price? Repriced with optaro, relative to the price.
        sl = slice(0, m)
        repriced = np.asarray(reference["bs_price"](o["S"][sl], o["K"][sl], o["T"][sl], o["r"][sl], o["q"][sl],
                                              np.where(np.isfinite(peer), peer, 0.0), o["is_call"][sl]))
        has = well & np.isfinite(peer)
        resid = np.abs(repriced[has] - price[has]) / price[has]
        worst_resid = float(np.max(resid)) if resid.size else math.nan
        nan_on_ok = int((ok & ~np.isfinite(peer)).sum())
        zero_on_ok = int((ok & (peer == 0)).sum())
        case.sanity = {"max_abs_diff_vs_optaro": worst, "rows": rows,
                       "rows_rule": f"status ok, price/(sigma*vega) <= {CONDITION_LIMIT:g}, price not subnormal",
                       "rows_off_by_more_than_1e-6_relative": off, "max_rel_price_residual": worst_resid,
                       "nan_on_optaro_ok_rows": nan_on_ok, "zero_on_optaro_ok_rows": zero_on_ok}
        return (f"max|dσ| {worst:.1e} ({off} rows off >1e-6 rel), price resid {worst_resid:.1e}, "
                f"NaN on {nan_on_ok} / 0 on {zero_on_ok} ok rows")
    if case.task == "price":
        worst, rows, _ = max_abs_diff(case.result, reference["price"][:m])
        case.sanity = {"max_abs_diff_vs_optaro": worst, "rows": rows}
        return f"max|dV| {worst:.1e}"
    # py_vollib_vectorized quotes vega and rho per point and theta per day (trader units), and all five
    # of its Greeks are finite differences: delta and gamma with S +- 0.01 stay close to the analytic
    # values and are compared; theta (one day of decay), vega and rho (+-1 point) are not.
    # QuantLib's BlackCalculator is analytic, in raw units.
    if case.library.startswith("py_vollib"):
        ref, names = reference["greeks_trader"], ("delta", "gamma")
    else:
        ref, names = reference["greeks"], ("delta", "gamma", "vega", "theta", "rho")
    diffs = {name: max_abs_diff(case.result[name], ref[name][:m])[0] for name in names if name in case.result}
    case.sanity = {"max_abs_diff_vs_optaro": diffs}
    name, worst = max(diffs.items(), key=lambda kv: (kv[1] if math.isfinite(kv[1]) else -1))
    return f"max|d{name}| {worst:.1e} ({', '.join(diffs)})"


def ohlc_sanity(case: Case, optaro_bars: dict[str, np.ndarray]) -> str:
    """pandas' candles against optaro's, aligned on the window start; pandas' empty windows (NaN) dropped."""
    bars = case.result.dropna(subset=["open"])
    start_ns = bars.index.values.astype("datetime64[ns]").view(np.int64)
    common, mine, theirs = np.intersect1d(optaro_bars["start_ns"], start_ns, return_indices=True)
    only_one_side = int(optaro_bars["start_ns"].size + start_ns.size - 2 * common.size)
    diffs = {name: max_abs_diff(optaro_bars[name][mine], bars[name].to_numpy(dtype=float)[theirs])[0]
             for name in ("open", "high", "low", "close", "volume")}
    with np.errstate(invalid="ignore"):
        vwap_rel = np.abs(bars["vwap"].to_numpy(dtype=float)[theirs] / optaro_bars["vwap"][mine] - 1.0)
    worst_vwap = float(np.nanmax(vwap_rel)) if vwap_rel.size else math.nan
    case.sanity = {"max_abs_diff_vs_optaro": diffs, "max_rel_diff_vwap": worst_vwap, "windows": int(common.size),
                   "windows_in_one_only": only_one_side}
    return (f"{common.size} windows ({only_one_side} in one only): max|d| OHLCV "
            f"{max(diffs.values()):.1e}, VWAP rel {worst_vwap:.1e}")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for dist in ("optaro", "py_vollib_vectorized", "py_vollib", "py_lets_be_rational", "numba", "QuantLib", "scipy",
                 "pandas", "matplotlib"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


CHART_GROUPS = {"iv": "implied vol", "price": "price", "greeks": "Greeks", "ohlc": "OHLC candles", "svi": "SVI fit"}


def duration(ns: float) -> str:
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def write_chart(path: str, cases: list[Case], tasks: list[str], machine: str, date: str, footnote: str) -> None:
    """Horizontal bars, one group per task, the median per unit of each library on a log axis."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    libraries = list(dict.fromkeys(c.library for c in cases))
    colours = {lib: plt.get_cmap("tab10")(i % 10) for i, lib in enumerate(libraries)}
    labels, positions, heads = [], [], []
    y = 0
    fig_rows = []
    for task in tasks:
        group = [c for c in cases if c.task == task and c.times_ns]
        if not group:
            continue
        base = next((c for c in group if c.library == "optaro"), None)
        heads.append(len(labels))
        labels.append(f"{CHART_GROUPS[task]}, per {group[0].unit}")
        positions.append(y)
        y += 1
        for c in group:
            labels.append(c.library)
            positions.append(y)
            fig_rows.append((y, c, base))
            y += 1
        y += 0.6  # a gap between groups

    fig, ax = plt.subplots(figsize=(10, 0.32 * y + 1.6))
    for row, c, base in fig_rows:
        value = c.median()
        ax.barh(row, value, color=colours[c.library], height=0.75)
        ratio = ""
        if base and c is not base:
            times = value / base.median()
            ratio = f"  ({times:.3g}x optaro)" if times < 100 else f"  ({times:,.0f}x optaro)"
        ax.text(value * 1.08, row, duration(value) + ratio, va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_yticks(positions, labels)
    for i in heads:
        ax.get_yticklabels()[i].set_fontweight("bold")
    ax.invert_yaxis()  # first task at the top
    lo = min(c.median() for _, c, _ in fig_rows)
    hi = max(c.median() for _, c, _ in fig_rows)
    ax.set_xlim(lo / 3, hi * 40)  # room for the value labels
    ax.set_xlabel("wall time per unit, ns (median over the rounds; log scale, shorter is faster)")
    ax.grid(axis="x", which="major", alpha=0.3)
    ax.set_title(f"optaro and its peers, one thread\n{machine}, {date}", fontsize=10)
    fig.text(0.01, 0.005, footnote, fontsize=7, color="0.35", va="bottom")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--options", type=int, default=1_000_000, help="options for the vectorised libraries")
    ap.add_argument("--loop-options", type=int, default=20_000,
                    help="options for the per-option loops (QuantLib, scipy brentq, py_lets_be_rational)")
    ap.add_argument("--ticks", type=int, help="ticks for the ohlc task (default: --options)")
    ap.add_argument("--svi-per-shape", type=int, default=None,
                    help="noisy smiles per shape for the svi task (default: compare_svi.py's)")
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds per library and task")
    ap.add_argument("--only", nargs="*", choices=TASKS, default=list(TASKS), help="tasks to time")
    ap.add_argument("--skip", nargs="*", default=[], choices=PEERS, help="peers to leave out")
    ap.add_argument("--warm-numba-cache", action="store_true",
                    help="use numba's on-disk cache (first calls then skip compilation)")
    ap.add_argument("--json", metavar="PATH", help="write every timing and the sanity figures here")
    ap.add_argument("--chart", metavar="PATH", help="write a PNG bar chart of the medians here (needs matplotlib)")
    args = ap.parse_args(argv)

    if not args.warm_numba_cache:
        cache_dir = tempfile.mkdtemp(prefix="optaro-bench-numba-")
        os.environ["NUMBA_CACHE_DIR"] = cache_dir  # read when numba is first imported, below
        atexit.register(shutil.rmtree, cache_dir, ignore_errors=True)

    n, m = args.options, min(args.loop_options, args.options)
    n_ticks = args.ticks or n
    date = time.strftime("%Y-%m-%d", time.gmtime())
    print(f"optaro peer comparison: {n:,} options (per-option loops: first {m:,}), {n_ticks:,} ticks, "
          f"{args.rounds} rounds, seed {SEED}", flush=True)
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs; {platform.platform()}; {date}", flush=True)

    t0 = time.perf_counter()
    o = option_set(n)
    ticks = tick_set(n_ticks) if "ohlc" in args.only else None
    print(f"inputs generated in {time.perf_counter() - t0:.1f} s", flush=True)

    try:
        import optaro
    except ImportError as e:
        print(f"error: optaro is not importable ({e}); pip install . from the repository root", file=sys.stderr)
        return 2

    S, K, T, r, q, sigma, is_call = (o[k] for k in ("S", "K", "T", "r", "q", "sigma", "is_call"))
    price = np.asarray(optaro.bs_price(S, K, T, r, q, sigma, is_call))
    iv_ref, iv_status = optaro.implied_vol(price, S, K, T, r, q, is_call, return_status=True)
    greeks_raw = {k: np.asarray(v) for k, v in optaro.bs_greeks(S, K, T, r, q, sigma, is_call).items()}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        condition = price / (sigma * greeks_raw["vega"])
    reference = {
        "bs_price": optaro.bs_price,
        "price": price,
        "iv": np.asarray(iv_ref),
        "iv_ok": np.asarray(iv_status) == 0,
        "well_conditioned": np.isfinite(condition) & (condition <= CONDITION_LIMIT),
        "greeks": greeks_raw,
        "greeks_trader": {k: np.asarray(v) for k, v in
                          optaro.bs_greeks(S, K, T, r, q, sigma, is_call, trader_units=True).items()},
    }
    codes, counts = np.unique(np.asarray(iv_status), return_counts=True)
    status_name = getattr(optaro, "Status", None)
    status_counts = {(status_name(int(k)).name.lower() if status_name else str(k)): int(v)
                     for k, v in zip(codes, counts)}
    print(f"optaro IV status of the input prices: {status_counts}", flush=True)

    cases: list[Case] = optaro_cases(o, price, n)
    if ticks is not None:
        cases.append(optaro_ohlc_case(ticks))
    smiles: list[dict[str, Any]] = []
    if "svi" in args.only:
        svi = compare_svi_module()
        smiles = svi.smiles(args.svi_per_shape or svi.DEFAULT_PER_SHAPE, svi.DEFAULT_SEED)
        reference["svi_quality"] = lambda results: svi.fit_quality(results, smiles)
        cases += optaro_svi_cases(smiles)

    # (peer, the tasks its builder serves, builder): a builder runs when --only asks for one of its tasks.
    builders = [
        ("py_vollib_vectorized", {"iv", "price", "greeks"}, lambda: vollib_cases(o, price, n)),
        ("QuantLib", {"iv", "price", "greeks"}, lambda: quantlib_cases(o, price, m)),
        ("QuantLib", {"svi"}, lambda: quantlib_svi_cases(smiles)),
        ("scipy", {"iv"}, lambda: scipy_cases(o, price, m)),
        ("py_lets_be_rational", {"iv"}, lambda: lets_be_rational_cases(o, price, m)),
        ("pandas", {"ohlc"}, lambda: pandas_cases(ticks)),
    ]
    imports: dict[str, float] = {}
    unavailable: dict[str, str] = {}  # peer -> why it is missing from the table
    for peer, tasks, build in builders:
        if peer in args.skip or not tasks & set(args.only) or peer in unavailable:
            continue
        try:
            if peer not in imports:
                t0 = time.perf_counter()
                importlib.import_module(peer)
                imports[peer] = time.perf_counter() - t0
            cases += build()
        except Exception as e:  # an ImportError, or a broken install failing inside the import
            unavailable[peer] = f"{type(e).__name__}: {e}"
            print(f"warning: {peer} left out ({unavailable[peer]}); pip install -r bench/requirements-peers.txt",
                  file=sys.stderr)
    cases = [c for c in cases if c.task in args.only]

    # First calls on a small slice: JIT compilation and lazy set-up, kept out of the rounds.
    for c in cases:
        c.first_call_s = timed(c.first_call)[0] * 1e-9
    print("first calls done", flush=True)

    libraries = list(dict.fromkeys(c.library for c in cases))
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for rnd in range(args.rounds):
            order = libraries[rnd % len(libraries):] + libraries[: rnd % len(libraries)]
            for task in args.only:
                for lib in order:
                    for c in cases:
                        if c.library == lib and c.task == task:
                            ns, c.result = timed(c.run)
                            c.times_ns.append(ns)
            print(f"round {rnd + 1}/{args.rounds} done", flush=True)
    finally:
        if gc_was_enabled:
            gc.enable()

    # ----------------------------------------------------------------------------------------------
    base = {c.task: c for c in cases if c.library == "optaro"}
    if "ohlc" in base:
        reference["ohlc"] = base["ohlc"].result
    header = (f"{'task':<15} {'library':<28} {'options':>9} {'best ns/opt':>12} {'median ns/opt':>14} "
              f"{'ratio best':>11} {'ratio med':>10} {'1st call s':>11}  sanity vs optaro")
    print()
    print(header)
    print("-" * len(header))
    for task in args.only:
        for c in (c for c in cases if c.task == task):
            ref = base.get(task)
            check = sanity(c, reference, o) if c.library != "optaro" or task == "svi" else ""
            if c.library == "optaro":
                ratio_b = ratio_m = "1.00"
            else:
                ratio_b = f"{c.best() / ref.best():.2f}" if ref else "-"
                ratio_m = f"{c.median() / ref.median():.2f}" if ref else "-"
            print(f"{TASK_TITLES[task]:<15} {c.library:<28} {c.n:>9,} {c.best():>12.1f} {c.median():>14.1f} "
                  f"{ratio_b:>11} {ratio_m:>10} {c.first_call_s:>11.3f}  {check}")
    print()
    notes = [f"{c.library} {c.task}: {c.note}" for c in cases if c.note]
    for line in notes:
        print(f"note: {line}")
    print("note: ratio = peer time / optaro time per unit (above 1: optaro is faster); the per-option loops "
          f"(QuantLib, scipy brentq, py_lets_be_rational) are timed on the first {m:,} options, optaro on "
          f"all {n:,}. Units: options; ticks for OHLC ({CANDLE_SECONDS} s candles); fits of a "
          "100-strike smile for SVI, whose sanity column is each fitter's distance to the true smile.")
    for peer, secs in imports.items():
        print(f"note: import {peer}: {secs:.2f} s")
    for peer, why in unavailable.items():
        print(f"note: {peer} left out: {why}")
    print(f"versions: {versions()}")

    if args.json:
        payload = {
            "options": n, "loop_options": m, "ticks": n_ticks if ticks is not None else None,
            "svi_fits": len(smiles) or None, "rounds": args.rounds, "seed": SEED, "tick_seed": TICK_SEED,
            "date": date,
            "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "versions": versions(), "imports_s": imports, "unavailable": unavailable,
            "optaro_iv_status": status_counts,
            "numba_cache": "warm" if args.warm_numba_cache else "cold (fresh NUMBA_CACHE_DIR)",
            "cases": [
                {"library": c.library, "task": c.task, "options": c.n, "unit": c.unit, "note": c.note,
                 "times_ns": c.times_ns, "best_ns_per_option": c.best(), "median_ns_per_option": c.median(),
                 "ratio_best": c.best() / base[c.task].best() if c.task in base else None,
                 "ratio_median": c.median() / base[c.task].median() if c.task in base else None,
                 "first_call_s": c.first_call_s, "sanity": c.sanity}
                for c in cases
            ],
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=1)
        print(f"wrote {args.json}")
    if args.chart:
        footnote = (f"{n:,} options (per-option loops: the first {m:,})"
                    + (f", {n_ticks:,} ticks in {CANDLE_SECONDS} s candles" if ticks is not None else "")
                    + (f", {len(smiles)} fits of 100-strike smiles" if smiles else "")
                    + f"; {args.rounds} rounds, alternating. bench/compare_peers.py")
        write_chart(args.chart, cases, args.only, f"{cpu_model()}, {os.cpu_count()} CPUs", date, footnote)
        print(f"wrote {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
