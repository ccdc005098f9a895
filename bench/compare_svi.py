#!/usr/bin/env python3
"""optaro.fit_svi against QuantLib-Python's SVI calibration (SviInterpolatedSmileSection), in one run.

Not a test: a measurement (CONVENTIONS.md, Measurement). Both libraries fit the same smiles, so the
table shows speed and quality side by side:

* Inputs: smiles of 100 strikes from known SVI parameters (short and long expiries, steep and mild
  skew, symmetric), implied vols perturbed by 0.2 vol-point noise (numpy's PCG64, fixed seed).
* optaro: ``fit_svi(k, w, weights=vega)``, cold (no start) and warm (started from the fit of the same
  smile before the noise moved, as a live re-fit is).
* QuantLib: ``SviInterpolatedSmileSection`` with all five parameters free, QuantLib's own initial
  guesses, vega weighting and its default optimiser; the calibration runs on the first volatility().
* Quality: the RMS distance of each fit to the TRUE smile over the quoted strikes, in vol points;
  "degenerate" counts fits further than 1 vol point from it.
* Timing: per fit, wall time, one thread; best and median over --rounds rounds.

bench/compare_peers.py imports this module (its task "svi"): the smiles, the fitters and the quality
measure live here only.

    python bench/compare_svi.py [--rounds 5] [--json out.json]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import math
import statistics
import time
from typing import Any, Callable

import numpy as np

import optaro

SHAPES = {  # name -> (T in years, SVI parameters)
    "weekly, steep skew": (7 / 365, {"a": 0.0002, "b": 0.012, "rho": -0.6, "m": 0.002, "sigma": 0.02}),
    "monthly": (30 / 365, {"a": 0.001, "b": 0.03, "rho": -0.45, "m": 0.005, "sigma": 0.06}),
    "quarterly": (0.25, {"a": 0.004, "b": 0.05, "rho": -0.35, "m": 0.01, "sigma": 0.12}),
    "two years, mild": (2.0, {"a": 0.03, "b": 0.08, "rho": -0.2, "m": 0.05, "sigma": 0.3}),
    "symmetric": (0.5, {"a": 0.01, "b": 0.06, "rho": 0.0, "m": 0.0, "sigma": 0.15}),
}
STRIKES = 100
NOISE = 0.002  # 0.2 vol points
DEFAULT_SEED = 20250115
DEFAULT_PER_SHAPE = 40


def svi(p: dict[str, float], k: np.ndarray) -> np.ndarray:
    x = k - p["m"]
    return p["a"] + p["b"] * (p["rho"] * x + np.sqrt(x * x + p["sigma"] ** 2))


def smiles(count_per_shape: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for name, (t, p) in SHAPES.items():
        # Strikes out to about 3 standard deviations of the ATM vol.
        width = 3 * math.sqrt(svi(p, np.array([0.0]))[0])
        k = np.linspace(-width, 0.7 * width, STRIKES)
        true_vol = np.sqrt(svi(p, k) / t)
        for _ in range(count_per_shape):
            vol = true_vol + rng.normal(0, NOISE, size=k.size)
            out.append({"shape": name, "t": t, "k": k, "true_vol": true_vol, "vol": vol, "params": p})
    return out


def vega_weights(k: np.ndarray, vol: np.ndarray, t: float) -> np.ndarray:
    # Black vega per unit forward: phi(d1) sqrt(T).
    s = vol * math.sqrt(t)
    d1 = -k / s + s / 2
    return np.exp(-0.5 * d1 * d1) * math.sqrt(t)


def optaro_fit(smile: dict[str, Any], previous: dict[str, float] | None) -> np.ndarray:
    t, k, vol = smile["t"], smile["k"], smile["vol"]
    fit = optaro.fit_svi(k, vol * vol * t, vega_weights(k, vol, t), previous=previous)
    return np.sqrt(np.maximum(optaro.svi_total_variance(fit, k), 0) / t)


def quantlib_fit(smile: dict[str, Any]) -> np.ndarray:
    import QuantLib as ql

    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    t, k, vol = smile["t"], smile["k"], smile["vol"]
    forward = 100.0
    strikes = (forward * np.exp(k)).tolist()
    expiry = today + max(1, round(t * 365))
    atm = float(np.interp(0.0, k, vol))
    null = ql.nullDouble()
    section = ql.SviInterpolatedSmileSection(expiry, forward, strikes, False, atm, vol.tolist(),
                                             null, null, null, null, null, False, False, False, False, False, True)
    try:
        return np.array([section.volatility(s) for s in strikes])
    except RuntimeError:  # the calibration failed
        return np.full(k.size, np.nan)


def rms_to_truth(fitted: np.ndarray, smile: dict[str, Any]) -> float:
    return float(np.sqrt(np.mean((fitted - smile["true_vol"]) ** 2)))


def warm_starts(data: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Each smile's fit to its noiseless truth, as the fit of a moment ago (the warm start)."""
    return [optaro.fit_svi(s["k"], s["true_vol"] ** 2 * s["t"]) for s in data]


def fit_quality(results: list[np.ndarray], data: list[dict[str, Any]]) -> dict[str, Any]:
    """RMS distance of each fit to the true smile, in vol points; fits further than 1 vol point are degenerate."""
    errors = [rms_to_truth(r, s) for r, s in zip(results, data)]
    finite = [e for e in errors if math.isfinite(e)]
    return {
        "rms_vol_points_median": 100 * statistics.median(finite) if finite else math.nan,
        "rms_vol_points_worst": 100 * max(finite) if finite else math.nan,
        "degenerate": sum(1 for e in errors if not (e <= 0.01)),
        "fits": len(errors),
    }


def timed_fits(fit: Callable[[dict[str, Any]], np.ndarray], data: list[dict[str, Any]], rounds: int):
    per_fit, results = [], None
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        results = [fit(s) for s in data]
        per_fit.append((time.perf_counter_ns() - t0) / len(data))
    return per_fit, results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-shape", type=int, default=DEFAULT_PER_SHAPE,
                        help=f"noisy smiles per shape (default {DEFAULT_PER_SHAPE})")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)

    data = smiles(args.per_shape, args.seed)
    warm_data = list(zip(data, warm_starts(data)))

    rows: dict[str, dict[str, Any]] = {}
    candidates: list[tuple[str, Callable[[], tuple[list[float], list[np.ndarray]]]]] = [
        ("optaro fit_svi, cold", lambda: timed_fits(lambda s: optaro_fit(s, None), data, args.rounds)),
        ("optaro fit_svi, warm", lambda: timed_fits(lambda sw: optaro_fit(sw[0], sw[1]), warm_data, args.rounds)),
    ]
    try:
        import QuantLib as ql

        candidates.append((f"QuantLib {ql.__version__} SviInterpolatedSmileSection",
                           lambda: timed_fits(quantlib_fit, data, args.rounds)))
    except ImportError:
        print("QuantLib-Python is not installed: optaro only")

    for name, run in candidates:
        per_fit, results = run()
        rows[name] = {
            "best_us": min(per_fit) / 1e3,
            "median_us": statistics.median(per_fit) / 1e3,
            **fit_quality(results, data),
        }

    print(f"\n{len(data)} smiles of {STRIKES} strikes ({len(SHAPES)} shapes), 0.2 vol-point noise, "
          f"{args.rounds} rounds\n")
    print("| fitter | per fit, best (µs) | median (µs) | RMS to truth, median (vol pts) | worst | degenerate (> 1 vol pt) |")
    print("|---|---:|---:|---:|---:|---:|")
    base = rows["optaro fit_svi, cold"]["median_us"]
    for name, r in rows.items():
        ratio = "" if name.startswith("optaro") else f" ({r['median_us'] / base:.0f}x optaro cold)"
        print(f"| {name} | {r['best_us']:.1f} | {r['median_us']:.1f}{ratio} | {r['rms_vol_points_median']:.3f} | "
              f"{r['rms_vol_points_worst']:.3f} | {r['degenerate']} / {r['fits']} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"smiles": len(data), "strikes": STRIKES, "noise_vol": NOISE, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
