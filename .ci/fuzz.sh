#!/usr/bin/env bash
# Fuzzes every decoder for a bounded time: configures and builds the `fuzz` preset (Clang, libFuzzer,
# ASan + UBSan; build-fuzz/), then runs each target of tests/fuzz on a scratch copy of its seed corpus
# (tests/fuzz/corpus/<name>/, never modified) and prints executions, exec/s and coverage per target.
# Fails if any target crashes, trips a sanitizer or an invariant, leaks, runs out of memory or times
# out; the input that did it is kept under build-fuzz/fuzz-artifacts/<target>/ and named in the output.
#
# Environment: OPTARO_FUZZ_SECONDS (default 30) per target; OPTARO_FUZZ_TARGETS (default all, e.g.
# "fuzz_chain fuzz_dead_letter"); OPTARO_JOBS (default nproc) for the build.
# Reproduce a finding with: build-fuzz/tests/fuzz/<target> <artifact file>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

seconds=${OPTARO_FUZZ_SECONDS:-30}
jobs=${OPTARO_JOBS:-$(nproc)}

bash .ci/install-deps.sh
echo "==== fuzz: configure and build (preset fuzz, $(clang++ --version | head -1))"
cmake --preset fuzz
cmake --build --preset fuzz --parallel "$jobs"

bin="$repo/build-fuzz/tests/fuzz"
artifacts="$repo/build-fuzz/fuzz-artifacts"
targets=${OPTARO_FUZZ_TARGETS:-$(cat "$bin/targets.txt")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

row='%-18s %10s %6s %8s %6s %7s %6s  %s\n'
rows=()
failed=()
for target in $targets; do
  name=${target#fuzz_}
  echo "==== fuzz: $target for ${seconds}s"
  mkdir -p "$work/$name" "$artifacts/$target"
  cp -R "tests/fuzz/corpus/$name/." "$work/$name/"
  log="$work/$name.log"
  status=0
  start=$(date +%s)
  # -timeout: one input taking longer is a finding; -rss_limit_mb also limits a single malloc.
  "$bin/$target" "$work/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$target/" >"$log" 2>&1 || status=$?
  secs=$(($(date +%s) - start))
  # libFuzzer's final lines: "Done N runs in S second(s)" and, with -print_final_stats, stat::*.
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$last")
  result=ok
  if [ "$status" -ne 0 ]; then
    result="FAILED (exit $status)"
    failed+=("$target")
    grep -E 'ERROR: |SUMMARY: |runtime error|fuzz invariant violated|Test unit written to' "$log" | head -8 || true
    echo "---- last lines of the $target log:"
    tail -40 "$log"
  fi
  rows+=("$(printf "$row" "$target" "${runs:--}" "$secs" "${rate:--}" "${cov:--}" "${ft:--}" "${corpus:--}" \
    "$result")")
done

echo "==== fuzz: results (${seconds}s per target)"
printf "$row" target executions secs exec/s cov ft corpus result
printf '%s\n' "${rows[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $artifacts/<target>/)" >&2
  exit 1
fi
echo "==== fuzz: passed in ${SECONDS}s"
