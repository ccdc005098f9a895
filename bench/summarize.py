#!/usr/bin/env python3
"""Markdown tables for docs/performance.md from one bench/run.sh result folder (standard library only).

    python3 bench/summarize.py bench/results/latest        # reads gbench.json and peers.json there
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

# Targets of issue 2 (benchmarks, not tests).
IV_NS_TARGET = 300.0
VOLLIB_RATIO_TARGET = 5.0
BLACK_EVALS_TARGET = 3.0

ROWS = [
    ("BM_price_batch", "price", "bs_price_batch"),
    ("BM_greeks_batch_all", "price + all 12 Greeks", "bs_greeks_batch, 13 columns"),
    ("BM_implied_vol_batch", "implied vol, all rows", "implied_vol_batch"),
    ("BM_implied_vol_batch_time_value_rows", "implied vol, rows with time value",
     "implied_vol_batch, status ok rows only"),
    ("BM_normalised_black", "normalised Black b(x, s)", "normalised_black"),
    ("BM_normalised_implied_vol", "normalised implied vol", "normalised_implied_vol"),
    ("BM_price_scalar_loop", "price, scalar loop", "bs_price"),
    ("BM_greeks_scalar_loop", "price + Greeks, scalar loop", "bs_greeks"),
    ("BM_implied_vol_scalar_loop", "implied vol, scalar loop", "implied_vol"),
]


def gbench_tables(path: Path) -> tuple[list[str], dict[str, dict[str, float]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    per: dict[str, dict[str, float]] = {}
    reps: dict[str, int] = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "aggregate" or "per_option" not in b:
            continue
        per.setdefault(b["run_name"], {})[b["aggregate_name"]] = b["per_option"] * 1e9
        if "ok_share" in b:
            per[b["run_name"]]["ok_share"] = b["ok_share"]
        reps[b["run_name"]] = b.get("repetitions", 0)
    ctx = data["context"]
    lines = [
        f"Options: {int(ctx.get('options', 0)):,}; {ctx.get('option_set', '')}. "
        f"CPU time per option over {max(reps.values(), default=0)} repetitions.",
        "",
        "| benchmark | API | median ns/option | best ns/option | cv |",
        "|---|---|---:|---:|---:|",
    ]
    for name, title, api in ROWS:
        if name not in per:
            continue
        p = per[name]
        cv = f"{p['cv'] / 1e9 * 100:.1f} %" if "cv" in p else "-"
        lines.append(f"| {title} | `{api}` | {p['median']:.1f} | {p['min']:.1f} | {cv} |")
    if "ok_share" in per.get("BM_implied_vol_batch", {}):
        share = per["BM_implied_vol_batch"]["ok_share"]
        lines += ["", f"Rows of the IV input whose price keeps time value (status ok): {share * 100:.1f} %; the "
                      "others (price at intrinsic in double precision) leave the solver early."]
    return lines, per


def peer_tables(path: Path) -> tuple[list[str], dict[str, dict]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    titles = {"iv": "implied vol", "price": "price", "greeks": "Greeks", "ohlc": "OHLC candles, per tick",
              "svi": "SVI fit, per smile"}
    lines = [
        f"{data['options']:,} options ({data['loop_options']:,} for the per-option loops), {data['rounds']} rounds "
        f"alternating between libraries; wall time, one thread. Ratio = peer / optaro (above 1: optaro faster). "
        f"numba cache: {data.get('numba_cache', '?')}.",
        "",
        "| task | library | options | median ns/option | best ns/option | ratio (median) | ratio (best) "
        "| first call s | sanity vs optaro |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    by_key: dict[str, dict] = {}
    order = {"iv": 0, "price": 1, "greeks": 2, "ohlc": 3, "svi": 4}
    for c in sorted(data["cases"], key=lambda c: order.get(c["task"], len(order))):
        by_key[f"{c['library']}/{c['task']}"] = c
        s = c.get("sanity") or {}
        diff = s.get("max_abs_diff_vs_optaro")
        if "rms_vol_points_median" in s:  # svi: each fit against the true smile
            check = (f"RMS to the true smile {s['rms_vol_points_median']:.3f} vol pts (median), "
                     f"{s['rms_vol_points_worst']:.3f} worst; {s['degenerate']} of {s['fits']} fits > 1 vol pt")
        elif "windows" in s:  # ohlc: candles aligned on their window start
            worst = max(diff.values())
            check = (f"{s['windows']:,} windows ({s['windows_in_one_only']} in one only); max abs diff OHLCV "
                     f"{worst:.1e}, VWAP rel. {s['max_rel_diff_vwap']:.1e}")
        elif isinstance(diff, dict):
            name, worst = max(diff.items(), key=lambda kv: kv[1])
            check = f"max abs diff {worst:.1e} ({name})"
        elif diff is not None:
            check = f"max abs diff {diff:.1e}"
            if "rows_off_by_more_than_1e-6_relative" in s:
                check = (f"σ: max abs diff {diff:.1e}, {s['rows_off_by_more_than_1e-6_relative']:,} of "
                         f"{s['rows']:,} rows off by > 1e-6 rel.; repriced: max rel. error "
                         f"{s['max_rel_price_residual']:.1e}; NaN on {s['nan_on_optaro_ok_rows']}, 0 on "
                         f"{s.get('zero_on_optaro_ok_rows', '?')} ok rows")
        else:
            check = ""
        rm = f"{c['ratio_median']:.2f}" if c.get("ratio_median") else "-"
        rb = f"{c['ratio_best']:.2f}" if c.get("ratio_best") else "-"
        unit = c.get("unit", "option")
        count = f"{c['options']:,}" + ("" if unit == "option" else f" {unit}s")
        lines.append(
            f"| {titles.get(c['task'], c['task'])} | {c['library']} | {count} | {c['median_ns_per_option']:.1f} | "
            f"{c['best_ns_per_option']:.1f} | {rm} | {rb} | {c['first_call_s']:.3f} | {check} |")
    notes = [f"- {c['library']}, {titles.get(c['task'], c['task'])}: {c['note']}" for c in data["cases"]
             if c.get("note")]
    notes += [f"- {peer} left out: {why}" for peer, why in (data.get("unavailable") or {}).items()]
    lines += [""] + notes
    if (path.parent / "peers.png").exists():
        lines += ["", "![optaro and its peers, median per unit](peers.png)"]
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items())]
    return lines, by_key


def verdict(median_ok: bool, best_ok: bool) -> str:
    """Met on the median; borderline when the median and the best repetition disagree (noise decides)."""
    if median_ok and best_ok:
        return "**met**"
    if median_ok or best_ok:
        return "**borderline** (met on the " + ("median" if median_ok else "best") + " only)"
    return "**not met**"


def targets(per: dict[str, dict[str, float]], peers: dict[str, dict]) -> list[str]:
    lines = ["| target | measured (median; best) | status |", "|---|---|---|"]
    iv = per.get("BM_implied_vol_batch", {})
    iv_tv = per.get("BM_implied_vol_batch_time_value_rows", {})
    price = per.get("BM_price_batch", {})
    nb, niv = per.get("BM_normalised_black", {}), per.get("BM_normalised_implied_vol", {})
    if iv:
        status = verdict(iv["median"] <= IV_NS_TARGET, iv["min"] <= IV_NS_TARGET)
        if iv_tv:
            status += "; rows with time value alone: " + verdict(iv_tv["median"] <= IV_NS_TARGET,
                                                                  iv_tv["min"] <= IV_NS_TARGET)
        tv_median, tv_best = iv_tv.get("median", float("nan")), iv_tv.get("min", float("nan"))
        lines.append(f"| implied vol <= {IV_NS_TARGET:.0f} ns/option, one thread (C++ `implied_vol_batch`) | "
                     f"all rows {iv['median']:.0f} ns; {iv['min']:.0f} ns. Rows with time value "
                     f"{tv_median:.0f} ns; {tv_best:.0f} ns | {status} |")
    pvv = peers.get("py_vollib_vectorized/iv")
    if pvv:
        kernel = peers.get("py_vollib_vectorized kernel/iv")
        extra = (f". Its numba kernel alone: {kernel['ratio_median']:.1f}x; {kernel['ratio_best']:.1f}x"
                 if kernel else "")
        status = verdict(pvv["ratio_median"] >= VOLLIB_RATIO_TARGET, pvv["ratio_best"] >= VOLLIB_RATIO_TARGET)
        lines.append(f"| >= {VOLLIB_RATIO_TARGET:.0f}x faster than py_vollib_vectorized (implied vol, Python) | "
                     f"{pvv['ratio_median']:.1f}x; {pvv['ratio_best']:.1f}x{extra} | {status} |")
    if iv and price:
        batch_m, batch_b = iv["median"] / price["median"], iv["min"] / price["min"]
        status = verdict(batch_m <= BLACK_EVALS_TARGET, batch_b <= BLACK_EVALS_TARGET)
        normal = ""
        if nb and niv:
            normal = (f". Normalised functions (normalised_implied_vol / normalised_black): "
                      f"{niv['median'] / nb['median']:.1f}; {niv['min'] / nb['min']:.1f}")
        lines.append(f"| <= {BLACK_EVALS_TARGET:.0f} Black evaluations' time per implied vol | implied_vol_batch / "
                     f"bs_price_batch: {batch_m:.1f}; {batch_b:.1f}{normal} | {status} |")
    return lines


def engine_table(path: Path) -> list[str]:
    """The enrichment engine (gbench-engine.json): medians per benchmark, and 2 workers / 1 worker."""
    data = json.loads(path.read_text(encoding="utf-8"))
    med: dict[str, dict] = {}
    reps = 0
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
            med[b["run_name"]] = b
            reps = max(reps, b.get("repetitions", 0))
    if not med:
        return []
    lines = [f"Wall time, median of {reps} repetitions; CPU = all threads of the process per item; cores used = "
             "CPU / wall (below 2 with 2 workers on 2 cores: the process did not get both, or waited).", "",
             "| messages | fit_surfaces | workers | items/s | µs per item (wall) | CPU µs per item | cores used "
             "| busiest worker's share | 2 workers / 1 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    def order(name: str) -> tuple:  # chains before ticks, fit on before off, 1 worker before 2
        return (not name.startswith("BM_engine_chains"), "fit_surfaces:0" in name, name)

    for name, b in sorted(med.items(), key=lambda item: order(item[0])):
        parts = dict(p.split(":", 1) for p in name.split("/")[1:] if ":" in p)
        kind = "chains (200 quotes)" if name.startswith("BM_engine_chains") else "underlying ticks"
        fit = {"1": "on", "0": "off"}.get(parts.get("fit_surfaces", ""), "-")
        rate = b.get("items_per_second", 0.0)
        ratio = "-"
        if parts.get("workers") == "2":
            one = med.get(name.replace("workers:2", "workers:1"))
            if one and one.get("items_per_second"):
                ratio = f"{rate / one['items_per_second']:.2f}"
        wall_us = 1e6 / rate if rate else 0.0
        cpu_us = b.get("cpu_us_per_item", 0.0)
        cores = f"{cpu_us / wall_us:.2f}" if wall_us else "-"
        lines.append(f"| {kind} | {fit} | {parts.get('workers', '?')} | {rate:,.0f} | {wall_us:.1f} | {cpu_us:.1f} | "
                     f"{cores} | {b.get('busiest_worker_share', 0.0):.2f} | {ratio} |")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[1])
    out: list[str] = []
    per: dict[str, dict[str, float]] = {}
    peers: dict[str, dict] = {}
    if (folder / "gbench.json").exists():
        lines, per = gbench_tables(folder / "gbench.json")
        out += ["### Google Benchmark (C++)", ""] + lines + [""]
    if (folder / "peers.json").exists():
        lines, peers = peer_tables(folder / "peers.json")
        out += ["### Peers (Python, bench/compare_peers.py)", ""] + lines + [""]
    out += ["### Targets", ""] + targets(per, peers)
    # The chain path and the SVI fits: their Google Benchmark aggregates as printed, and the SVI peer
    # table (already markdown).
    for name, title in (("gbench-chain.txt", "Chain path (C++)"), ("gbench-svi.txt", "SVI smiles (C++)"),
                        ("gbench-ohlc.txt", "OHLC candles (C++)"), ("gbench-engine.txt", "Enrichment engine (C++)")):
        if (folder / name).exists():
            rows = [line for line in (folder / name).read_text(encoding="utf-8").splitlines()
                    if line.startswith(("Benchmark", "BM_")) and "_stddev" not in line and "_cv" not in line]
            out += ["", f"### {title}", "", "```"] + rows + ["```"]
    if (folder / "gbench-engine.json").exists():
        lines = engine_table(folder / "gbench-engine.json")
        if lines:
            out += ["", "### Enrichment engine, in memory (C++, bench/bench_engine.cpp)", ""] + lines
    if (folder / "svi-peers.txt").exists():
        out += ["", "### SVI fits against QuantLib (Python, bench/compare_svi.py)", ""]
        out += [line for line in (folder / "svi-peers.txt").read_text(encoding="utf-8").splitlines() if line]
    if (folder / "pipeline.txt").exists():
        out += ["", "### The reference pipeline (bench/pipeline.py)", ""]
        out += (folder / "pipeline.txt").read_text(encoding="utf-8").splitlines()
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
