#!/usr/bin/env python3
"""The reference pipeline's throughput and latency (issue 8), embedded and through the adapters.

For each configuration (embedded; Redis Streams; Redis pub/sub; Redis Streams + MongoDB) it runs
`optaro-pipeline run` several times and reads each run's --report:

  max chains   unpaced (--rate 0), chains only, a fixed number of them: enriched / (time to drain all)
  max ticks    the same with underlying ticks only
  chains @ 1/2 paced at half the max chains rate: feed-to-enriched p50 / p99
  ticks @ 1/2  paced at half the max ticks rate
  default feed paced, the feed as shipped (1,000 ticks/s + 10 chains/s of 82 quotes)

Chains list 101 strikes (--strikes-each-side 50): 202 quotes. Pub/sub is at most once: unpaced, a
subscriber that falls behind is cut off by Redis (client-output-buffer-limit), so its rows are paced
only, at half the Streams maxima. A run that loses or duplicates a message is reported as failed.

  bench/pipeline.py --exe build/release/examples/pipeline/optaro-pipeline \
      [--redis redis://127.0.0.1:6379/0] [--mongo mongodb://127.0.0.1:27017/] [--json out.json] [--quick]

Prints a Markdown table (the one in docs/performance.md). Standard library only.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlparse

QUOTES_EACH_SIDE = 50  # 101 strikes, 202 quotes a chain


def flush_redis(url: str) -> None:
    """FLUSHALL, so that every run starts from empty streams (RESP over a socket: no redis-cli needed)."""
    u = urlparse(url)
    with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=10) as s:
        if u.password:
            s.sendall(f"*2\r\n$4\r\nAUTH\r\n${len(u.password)}\r\n{u.password}\r\n".encode())
            s.recv(64)
        s.sendall(b"*1\r\n$8\r\nFLUSHALL\r\n")
        reply = s.recv(64)
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"FLUSHALL: {reply!r}")


def run(exe: str, args: list[str], label: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        report_path = f.name
    command = [exe, "run", "--quiet", "--report", report_path, *args]
    print(f"pipeline.py: {label}: {' '.join(command)}", file=sys.stderr, flush=True)
    started = time.monotonic()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(report_path) as f:
        report = json.load(f)
    os.unlink(report_path)
    report["exit_code"] = done.returncode
    report["wall_seconds"] = time.monotonic() - started
    report["args"] = args
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    return report


def chains_only(count_or_rate: list[str]) -> list[str]:
    return ["--ticks-per-second", "0", "--strikes-each-side", str(QUOTES_EACH_SIDE), *count_or_rate]


def ticks_only(count_or_rate: list[str]) -> list[str]:
    return ["--chains-per-second", "0", *count_or_rate]


def measure(exe: str, name: str, prepare, counts: tuple[int, int], paced_at: tuple[float, float] | None,
            duration: float) -> dict:
    """The runs of one configuration. prepare() readies the servers for a run and returns its base
    arguments. counts: (chains, ticks) for the unpaced maxima; the paced runs go at half of those,
    or at paced_at (chains/s, ticks/s) without the maxima when it is given."""
    rows = {}
    if paced_at is None:
        rows["max_chains"] = run(exe, prepare() + chains_only(["--rate", "0", "--count", str(counts[0]), "--duration", "600"]),
                                 f"{name} max chains")
        rows["max_ticks"] = run(exe, prepare() + ticks_only(["--rate", "0", "--count", str(counts[1]), "--duration", "600"]),
                                f"{name} max ticks")
        paced_at = (rows["max_chains"]["enriched_per_second"] / 2, rows["max_ticks"]["enriched_per_second"] / 2)
    rows["half_chains"] = run(exe, prepare() + chains_only(["--chains-per-second", f"{paced_at[0]:.1f}", "--duration", str(duration)]),
                              f"{name} chains at {paced_at[0]:.0f}/s")
    rows["half_ticks"] = run(exe, prepare() + ticks_only(["--ticks-per-second", f"{paced_at[1]:.0f}", "--duration", str(duration)]),
                             f"{name} ticks at {paced_at[1]:.0f}/s")
    rows["default_feed"] = run(exe, prepare() + ["--duration", str(duration)], f"{name} default feed")
    return rows


def fmt_rate(r: dict | None) -> str:
    if r is None:
        return "-"
    mark = "" if r["ok"] else " (FAILED: lost %d, duplicated %d)" % (r["lost"], r["duplicated"])
    return f"{r['enriched_per_second']:,.0f}{mark}"


def fmt_latency(r: dict) -> str:
    mark = "" if r["ok"] else " (FAILED: lost %d, duplicated %d)" % (r["lost"], r["duplicated"])
    lat = r["latency_ms"]
    rate = r["chains_per_second"] if r["ticks_per_second"] == 0 else r["ticks_per_second"]
    if r["ticks_per_second"] and r["chains_per_second"]:
        return f"{lat['p50']:.2f} / {lat['p99']:.2f}{mark}"
    return f"{lat['p50']:.2f} / {lat['p99']:.2f} at {rate:,.0f}/s{mark}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exe", required=True, help="optaro-pipeline")
    parser.add_argument("--redis", help="redis://host:port/db (FLUSHALLed before every run)")
    parser.add_argument("--mongo", help="mongodb://host:port/ (a new database per run)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10, help="seconds of each paced run")
    parser.add_argument("--quick", action="store_true", help="small counts, 3 s paced runs: checks that it runs")
    parser.add_argument("--json", help="write every run's report here")
    a = parser.parse_args()

    scale = 0.1 if a.quick else 1.0
    duration = 3 if a.quick else a.duration
    common = ["--workers", str(a.workers)]
    counts = lambda chains, ticks: (max(1, int(chains * scale)), max(1, int(ticks * scale)))  # noqa: E731
    results: dict[str, dict] = {}
    results["embedded"] = measure(a.exe, "embedded", lambda: list(common), counts(30000, 1000000), None, duration)
    if a.redis:
        def redis(mode: str):
            def prepare() -> list[str]:
                flush_redis(a.redis)
                return common + ["--redis", a.redis, "--mode", mode]
            return prepare

        streams = results["redis_streams"] = measure(a.exe, "redis streams", redis("streams"), counts(8000, 40000),
                                                     None, duration)
        half = (streams["max_chains"]["enriched_per_second"] / 2, streams["max_ticks"]["enriched_per_second"] / 2)
        results["redis_pubsub"] = measure(a.exe, "redis pubsub", redis("pubsub"), (0, 0), half, duration)
        if a.mongo:
            runs = iter(range(1, 1000))

            def with_mongo() -> list[str]:  # a new database for each run: the counts start at zero
                return redis("streams")() + ["--mongo", a.mongo, "--mongo-db", f"bench_{os.getpid()}_{next(runs)}"]

            results["redis_streams_mongo"] = measure(a.exe, "streams + mongo", with_mongo, counts(600, 10000), None,
                                                     duration)

    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)

    names = {"embedded": "embedded (in-process bus and stores)", "redis_streams": "Redis Streams",
             "redis_pubsub": "Redis pub/sub (paced only)", "redis_streams_mongo": "Redis Streams + MongoDB (FerretDB)"}
    print(f"{a.workers} workers; chains of {2 * (2 * QUOTES_EACH_SIDE + 1)} quotes; latency feed to enriched, ms (p50 / p99)\n")
    print("| configuration | chains/s (max) | ticks/s (max) | chains: p50 / p99 at half max | ticks: p50 / p99 at half max | default feed: p50 / p99 |")
    print("|---|---:|---:|---:|---:|---:|")
    failed = False
    for key, rows in results.items():
        failed = failed or any(not r["ok"] for r in rows.values())
        print(f"| {names[key]} | {fmt_rate(rows.get('max_chains'))} | {fmt_rate(rows.get('max_ticks'))} | "
              f"{fmt_latency(rows['half_chains'])} | {fmt_latency(rows['half_ticks'])} | {fmt_latency(rows['default_feed'])} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
