#!/usr/bin/env python3
"""optaro's Python batch functions against py_vollib_vectorized and QuantLib-Python, in one run.

Not a test (it takes minutes): a measurement, as CONVENTIONS.md (Measurement) asks for it.

* Inputs: the option set of the C++ benchmarks (bench/bench_inputs.hpp), rebuilt here bit for bit
  from the same std::mt19937_64 stream and the same transforms: S = F = 100, r = q = 0, K log-uniform in [50, 200],
  T log-uniform in [1 day, 2 years], sigma uniform in [5%, 100%], calls and puts mixed; 1M options by
  default. The IV input is optaro's price of each option.
* Timing: every library and task is timed once per round, the libraries in a rotated order each
  round; the table shows the best and the median over the rounds (wall time, one thread). Ratios are
  peer / optaro: above 1 means optaro is faster.
* First calls (numba compiles py_vollib_vectorized's kernels on first use) are timed separately on a
  small slice and kept out of the rounds. By default numba compiles into a fresh cache directory, so
  the first-call figure is a cold compile; --warm-numba-cache uses numba's normal on-disk cache.
* QuantLib has no vectorised path for these formulas, so it runs per option in a Python loop on the
  first --loop-options options (fewer: a loop over 1M options takes minutes).
* Sanity: each peer's results against optaro's on the same rows (max abs difference).

Set-up (what bench/run.sh does):
    python3 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install .                                  # optaro, from the repository root
    /tmp/bench-venv/bin/pip install -r bench/requirements-peers.txt
    /tmp/bench-venv/bin/python bench/compare_peers.py [--json out.json]
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
    task: str  # "iv", "price", "greeks"
    n: int
    run: Callable[[], Any]
    first_call: Callable[[], Any]
    note: str = ""
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


TASKS = ("iv", "price", "greeks")
TASK_TITLES = {"iv": "implied vol", "price": "price", "greeks": "Greeks"}


def optaro_cases(o, price, n):
    import optaro

    S, K, T, r, q, sigma, is_call = (o[k] for k in ("S", "K", "T", "r", "q", "sigma", "is_call"))
    sl = slice(0, 64)
    return [
        Case("optaro", "iv", n, lambda: optaro.implied_vol(price, S, K, T, r, q, is_call),
             lambda: optaro.implied_vol(price[sl], S[sl], K[sl], T[sl], r[sl], q[sl], is_call[sl])),
        Case("optaro", "price", n, lambda: optaro.bs_price(S, K, T, r, q, sigma, is_call),
             lambda: optaro.bs_price(S[sl], K[sl], T[sl], r[sl], q[sl], sigma[sl], is_call[sl])),
        Case("optaro", "greeks", n, lambda: optaro.bs_greeks(S, K, T, r, q, sigma, is_call),
             lambda: optaro.bs_greeks(S[sl], K[sl], T[sl], r[sl], q[sl], sigma[sl], is_call[sl]),
             note="12 Greeks (delta ... veta), no price"),
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
    """A short text comparing a peer's result with optaro's on the same rows."""
    m = case.n
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


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for dist in ("optaro", "py_vollib_vectorized", "py_vollib", "py_lets_be_rational", "numba", "QuantLib"):
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--options", type=int, default=1_000_000, help="options for the vectorised libraries")
    ap.add_argument("--loop-options", type=int, default=20_000, help="options for QuantLib's per-option loop")
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds per library and task")
    ap.add_argument("--only", nargs="*", choices=TASKS, default=list(TASKS), help="tasks to time")
    ap.add_argument("--skip", nargs="*", default=[], choices=["py_vollib_vectorized", "QuantLib"],
                    help="peers to leave out")
    ap.add_argument("--warm-numba-cache", action="store_true",
                    help="use numba's on-disk cache (first calls then skip compilation)")
    ap.add_argument("--json", metavar="PATH", help="write every timing and the sanity figures here")
    args = ap.parse_args(argv)

    if not args.warm_numba_cache:
        cache_dir = tempfile.mkdtemp(prefix="optaro-bench-numba-")
        os.environ["NUMBA_CACHE_DIR"] = cache_dir  # read when numba is first imported, below
        atexit.register(shutil.rmtree, cache_dir, ignore_errors=True)

    n, m = args.options, min(args.loop_options, args.options)
    print(f"optaro peer comparison: {n:,} options (QuantLib loop: first {m:,}), {args.rounds} rounds, "
          f"seed {SEED}", flush=True)
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs; {platform.platform()}", flush=True)

    t0 = time.perf_counter()
    o = option_set(n)
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
    with np.errstate(divide="ignore", invalid="ignore"):
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
    imports: dict[str, float] = {}
    for peer, build in (("py_vollib_vectorized", lambda: vollib_cases(o, price, n)),
                        ("QuantLib", lambda: quantlib_cases(o, price, m))):
        if peer in args.skip:
            continue
        try:
            t0 = time.perf_counter()
            importlib.import_module(peer)
            imports[peer] = time.perf_counter() - t0
            cases += build()
        except ImportError as e:
            print(f"warning: {peer} not importable ({e}); pip install -r bench/requirements-peers.txt",
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
    header = (f"{'task':<15} {'library':<28} {'options':>9} {'best ns/opt':>12} {'median ns/opt':>14} "
              f"{'ratio best':>11} {'ratio med':>10} {'1st call s':>11}  sanity vs optaro")
    print()
    print(header)
    print("-" * len(header))
    for task in args.only:
        for c in (c for c in cases if c.task == task):
            ref = base.get(task)
            if c.library == "optaro":
                ratio_b = ratio_m = "1.00"
                check = ""
            else:
                ratio_b = f"{c.best() / ref.best():.2f}" if ref else "-"
                ratio_m = f"{c.median() / ref.median():.2f}" if ref else "-"
                check = sanity(c, reference, o)
            print(f"{TASK_TITLES[task]:<15} {c.library:<28} {c.n:>9,} {c.best():>12.1f} {c.median():>14.1f} "
                  f"{ratio_b:>11} {ratio_m:>10} {c.first_call_s:>11.3f}  {check}")
    print()
    notes = [f"{c.library} {c.task}: {c.note}" for c in cases if c.note]
    for line in notes:
        print(f"note: {line}")
    print("note: ratio = peer time / optaro time per option (above 1: optaro is faster); QuantLib rows "
          f"are timed on the first {m:,} options, optaro on all {n:,}.")
    for peer, secs in imports.items():
        print(f"note: import {peer}: {secs:.2f} s")
    print(f"versions: {versions()}")

    if args.json:
        payload = {
            "options": n, "loop_options": m, "rounds": args.rounds, "seed": SEED,
            "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "versions": versions(), "imports_s": imports, "optaro_iv_status": status_counts,
            "numba_cache": "warm" if args.warm_numba_cache else "cold (fresh NUMBA_CACHE_DIR)",
            "cases": [
                {"library": c.library, "task": c.task, "options": c.n, "note": c.note,
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
