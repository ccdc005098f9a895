#!/usr/bin/env bash
# The concurrent code under ThreadSanitizer: configures and builds the `tsan` preset (GCC's
# -fsanitize=thread, RelWithDebInfo; build/tsan/, only the three test programs), then runs the tsan
# test preset: the engine, its in-memory ports, idempotency, retry, metrics, event log, dead letters
# and cache-aside (optaro_tests), and the Redis and MongoDB suites, whose CTest fixtures start
# redis-server and FerretDB themselves (tests/redis, tests/mongo). The single-threaded numerics
# (pricing, implied vol, surfaces, codec, OHLC) are left out: TSan has nothing to find there and
# slows them 5-15x. The selection and TSAN_OPTIONS live in CMakePresets.json (test preset "tsan"):
# halt_on_error=1 and exitcode=66, so any report fails its test; second_deadlock_stack=1; and
# tests/tsan.supp, the false positives of uninstrumented libraries (libmongoc's reference-counted
# topology description), each with the reason it is safe. Races in optaro's code are fixed, not listed.
# Exits non-zero if a test fails or TSan reports anything; prints the totals either way.
#
# Environment: OPTARO_JOBS (default nproc) for the build and ctest; TSAN_OPTIONS is appended to the
# preset's (e.g. TSAN_OPTIONS=halt_on_error=0 to see every report of a run).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
jobs=${OPTARO_JOBS:-$(nproc)}

section() { printf '\n==== tsan: %s (%ds)\n' "$*" "$SECONDS"; }

section "set-up"
bash .ci/install-deps.sh
# Same compiler name and ccache settings as tests/run.sh.
export CXX=${CXX:-g++}
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR="$repo"
fi

section "configure (preset tsan, $("$CXX" --version | head -1))"
cmake --preset tsan
section "build"
cmake --build --preset tsan --parallel "$jobs"

section "ctest (preset tsan)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
status=0  # pipefail: ctest's own status, not tee's
ctest --preset tsan --parallel "$jobs" --no-tests=error --output-on-failure 2>&1 | tee "$log" || status=$?
elapsed=$((SECONDS - start))

# Totals: tests run (ctest's summary line), wall time, and TSan reports in the tests' output.
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
reports=$(grep -c 'WARNING: ThreadSanitizer:' build/tsan/Testing/Temporary/LastTest.log 2>/dev/null || true)
section "totals"
echo "tsan: ${summary:-no ctest summary}"
echo "tsan: ctest wall time ${elapsed}s; ThreadSanitizer reports: ${reports:-0}"
if [ "$status" -ne 0 ] || [ "${reports:-0}" -ne 0 ]; then
  echo "tsan: FAILED (the reports, with both stacks, are in the output above and in" \
    "build/tsan/Testing/Temporary/LastTest.log)" >&2
  exit 1
fi
echo "tsan: passed, no reports"
