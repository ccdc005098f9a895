#!/usr/bin/env bash
# Every optaro benchmark in one go, raw output kept:
#   1. build the C++ benchmarks (Release, own build directory, ccache when installed);
#   2. run them with repetitions (Google Benchmark, JSON + console output): pricing, chain path, SVI,
#      OHLC candles, the enrichment engine;
#   3. make a venv with optaro (pip install of this checkout) and the pinned peers;
#   4. run bench/compare_peers.py (price, Greeks, IV, OHLC and SVI against their peers; peers.png);
#   5. run the reference pipeline (bench/pipeline.py): embedded, through Redis, with MongoDB;
#   6. write summary.md (the tables of docs/performance.md) and machine.txt.
# Results go to bench/results/<UTC time>/ (git-ignored); bench/results/latest points at the newest.
#
#   bench/run.sh                    full run (about 10 minutes on a 2-core VM)
#   bench/run.sh --quick            small option set, 2 repetitions: checks that everything runs
#   bench/run.sh --native           also compile with -march=native (own build dir; not the wheel's flags)
#   bench/run.sh --cpp-only | --peers-only | --pipeline-only
# Environment: REPETITIONS (10), ROUNDS (7), JOBS (2), BUILD_DIR (build-bench), VENV (BUILD_DIR/venv),
#   PYTHON (python3) for the venv.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quick=0 native=0 run_cpp=1 run_peers=1 run_pipeline=1
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --native) native=1 ;;
    --cpp-only) run_peers=0 run_pipeline=0 ;;
    --peers-only) run_cpp=0 run_pipeline=0 ;;
    --pipeline-only) run_cpp=0 run_peers=0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

repetitions="${REPETITIONS:-10}" rounds="${ROUNDS:-7}" jobs="${JOBS:-2}"
options=1000000 loop_options=20000
if (( quick )); then
  repetitions=2 rounds=2 options=20000 loop_options=2000
fi
build_dir="${BUILD_DIR:-$repo/build-bench}"
cxx_flags=""
if (( native )); then
  build_dir="${build_dir}-native"
  cxx_flags="-march=native"
fi
venv="${VENV:-$build_dir/venv}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$repo/bench/results/$stamp"
mkdir -p "$out"
ln -sfn "$stamp" "$repo/bench/results/latest"
echo "run.sh: results in $out"

# ---- the machine -------------------------------------------------------------------------------------
{
  echo "date (UTC): $stamp"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"
  echo "cpus: $(nproc) ($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core)"
  echo "kernel: $(uname -srm)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "compiler: $(c++ --version | head -n1)"
  echo "cmake: $(cmake --version | head -n1)"
  echo "python: $("${PYTHON:-python3}" --version 2>&1)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "git: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet HEAD -- src include 2>/dev/null || echo ' + uncommitted changes in src/ or include/')"
  echo "options: $options (QuantLib loops: $loop_options); repetitions: $repetitions; rounds: $rounds; native: $native"
} > "$out/machine.txt"

# ---- build -------------------------------------------------------------------------------------------
if (( run_cpp || run_pipeline )); then
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  nice -n 10 cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
    -DOPTARO_BUILD_BENCHMARKS=ON -DOPTARO_BUILD_TESTS=OFF -DOPTARO_BUILD_EXAMPLES=ON \
    -DOPTARO_BUILD_PYTHON=OFF -DOPTARO_WITH_REDIS=AUTO -DOPTARO_WITH_MONGO=AUTO "${launcher[@]}" -DCMAKE_CXX_FLAGS="$cxx_flags" > "$out/cmake-configure.log"
  targets=()
  if (( run_cpp )); then targets+=(optaro_bench_pricing optaro_bench_chain optaro_bench_svi optaro_bench_ohlc optaro_bench_engine); fi
  if (( run_pipeline )); then targets+=(optaro-pipeline); fi
  # The Redis benchmark exists when the redis component was built (hiredis found).
  has_redis=0 has_mongo=0
  if grep -q '^OPTARO_HIREDIS_FOUND:INTERNAL=1' "$build_dir/CMakeCache.txt"; then has_redis=1; fi
  if grep -q '^mongoc-1.0_DIR:PATH=/' "$build_dir/CMakeCache.txt"; then has_mongo=1; fi
  if (( run_cpp && has_redis )); then targets+=(optaro_bench_redis); fi
  if (( run_cpp && has_mongo )); then targets+=(optaro_bench_mongo); fi
  nice -n 10 cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}" > "$out/cmake-build.log"
  {
    echo "build type: $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build_dir/CMakeCache.txt")"
    echo "CMAKE_CXX_FLAGS: '$(sed -n 's/^CMAKE_CXX_FLAGS:STRING=//p' "$build_dir/CMakeCache.txt")'"
    echo "CMAKE_CXX_FLAGS_RELEASE: '$(sed -n 's/^CMAKE_CXX_FLAGS_RELEASE:STRING=//p' "$build_dir/CMakeCache.txt")'"
  } >> "$out/machine.txt"
fi

# ---- C++ ---------------------------------------------------------------------------------------------
if (( run_cpp )); then
  bench_exe="$(find "$build_dir" -name optaro_bench_pricing -type f -perm -u+x | head -n1)"
  echo "run.sh: $bench_exe --benchmark_repetitions=$repetitions (OPTARO_BENCH_OPTIONS=$options)"
  OPTARO_BENCH_OPTIONS="$options" "$bench_exe" \
    --benchmark_repetitions="$repetitions" \
    --benchmark_out="$out/gbench.json" --benchmark_out_format=json | tee "$out/gbench.txt"

  # The chain path (issue 3): decode, analytics, encode of a 200-quote chain, and nlohmann/json's.
  chain_exe="$(find "$build_dir" -name optaro_bench_chain -type f -perm -u+x | head -n1)"
  echo "run.sh: $chain_exe --benchmark_repetitions=$repetitions"
  "$chain_exe" --benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/gbench-chain.json" --benchmark_out_format=json | tee "$out/gbench-chain.txt"

  # SVI smiles (issue 4): cold and warm fits of a 100-strike smile, the butterfly scan.
  svi_exe="$(find "$build_dir" -name optaro_bench_svi -type f -perm -u+x | head -n1)"
  echo "run.sh: $svi_exe --benchmark_repetitions=$repetitions"
  "$svi_exe" --benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/gbench-svi.json" --benchmark_out_format=json | tee "$out/gbench-svi.txt"

  # OHLC candles (issue 5): 1M ticks into 1-, 5- and 15-minute windows, batch and streaming.
  ohlc_exe="$(find "$build_dir" -name optaro_bench_ohlc -type f -perm -u+x | head -n1)"
  echo "run.sh: $ohlc_exe --benchmark_repetitions=$repetitions"
  "$ohlc_exe" --benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true \
    --benchmark_enable_random_interleaving=true \
    --benchmark_out="$out/gbench-ohlc.json" --benchmark_out_format=json | tee "$out/gbench-ohlc.txt"

  # The enrichment engine (issue 5): chains and ticks per second through enricher::submit on the
  # in-memory ports, 1 and 2 workers (wall time; the producer and the dispatcher share the cores).
  engine_exe="$(find "$build_dir" -name optaro_bench_engine -type f -perm -u+x | head -n1)"
  echo "run.sh: $engine_exe --benchmark_repetitions=$repetitions"
  "$engine_exe" --benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true \
    --benchmark_enable_random_interleaving=true \
    --benchmark_out="$out/gbench-engine.json" --benchmark_out_format=json | tee "$out/gbench-engine.txt"

  # The Redis adapter (issue 6), against a redis-server of its own on a free loopback port.
  redis_exe="$(find "$build_dir" -name optaro_bench_redis -type f -perm -u+x | head -n1)"
  if [[ -n "$redis_exe" ]] && command -v redis-server >/dev/null; then
    export OPTARO_TEST_REDIS_DIR="$out/redis-server"
    bash "$repo/tests/redis/redis-server.sh" fresh
    trap 'bash "$repo/tests/redis/redis-server.sh" stop' EXIT
    echo "run.sh: $redis_exe --benchmark_repetitions=$repetitions"
    OPTARO_BENCH_REDIS_URL="redis://127.0.0.1:$(cat "$OPTARO_TEST_REDIS_DIR/port")/0" "$redis_exe" \
      --benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true \
      --benchmark_out="$out/gbench-redis.json" --benchmark_out_format=json | tee "$out/gbench-redis.txt"
    bash "$repo/tests/redis/redis-server.sh" stop
    trap - EXIT
  fi

  # The MongoDB adapter (issue 7), against FerretDB (tests/mongo/ferretdb.sh builds it with Go).
  mongo_exe="$(find "$build_dir" -name optaro_bench_mongo -type f -perm -u+x | head -n1)"
  if [[ -n "$mongo_exe" ]]; then
    export OPTARO_TEST_MONGO_DIR="$out/ferretdb"
    bash "$repo/tests/mongo/ferretdb.sh" fresh
    trap 'bash "$repo/tests/mongo/ferretdb.sh" stop' EXIT
    echo "run.sh: $mongo_exe --benchmark_repetitions=3 (OPTARO_BENCH_MONGO_CHAINS=100)"
    # Fewer repetitions and stored chains: FerretDB's reads scan, and each repetition refills the store.
    OPTARO_BENCH_MONGO_CHAINS=100 OPTARO_BENCH_MONGO_URI="mongodb://127.0.0.1:$(cat "$OPTARO_TEST_MONGO_DIR/port")/" \
      "$mongo_exe" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
      --benchmark_out="$out/gbench-mongo.json" --benchmark_out_format=json | tee "$out/gbench-mongo.txt"
    bash "$repo/tests/mongo/ferretdb.sh" stop
    trap - EXIT
  fi
fi

# ---- the reference pipeline (issue 8): embedded, Redis Streams and pub/sub, Streams + MongoDB ----------
if (( run_pipeline )); then
  pipeline_exe="$(find "$build_dir" -name optaro-pipeline -type f -perm -u+x | head -n1)"
  servers=()
  if (( has_redis )) && command -v redis-server >/dev/null; then
    export OPTARO_TEST_REDIS_DIR="$out/pipeline-redis"
    bash "$repo/tests/redis/redis-server.sh" fresh
    servers+=(--redis "redis://127.0.0.1:$(cat "$OPTARO_TEST_REDIS_DIR/port")/0")
    if (( has_mongo )); then
      export OPTARO_TEST_MONGO_DIR="$out/pipeline-ferretdb"
      bash "$repo/tests/mongo/ferretdb.sh" fresh
      servers+=(--mongo "mongodb://127.0.0.1:$(cat "$OPTARO_TEST_MONGO_DIR/port")/")
    fi
    trap 'bash "$repo/tests/redis/redis-server.sh" stop; [[ -z "${OPTARO_TEST_MONGO_DIR:-}" ]] || bash "$repo/tests/mongo/ferretdb.sh" stop' EXIT
  fi
  pipeline_args=(--exe "$pipeline_exe" "${servers[@]}" --json "$out/pipeline.json")
  if (( quick )); then pipeline_args+=(--quick); fi
  echo "run.sh: bench/pipeline.py ${pipeline_args[*]}"
  "${PYTHON:-python3}" "$repo/bench/pipeline.py" "${pipeline_args[@]}" | tee "$out/pipeline.txt"
  if (( ${#servers[@]} )); then
    bash "$repo/tests/redis/redis-server.sh" stop
    [[ -z "${OPTARO_TEST_MONGO_DIR:-}" ]] || bash "$repo/tests/mongo/ferretdb.sh" stop
    trap - EXIT
  fi
fi

# ---- Python: optaro against its peers ------------------------------------------------------------------
if (( run_peers )); then
  if [[ ! -x "$venv/bin/python" ]]; then
    "${PYTHON:-python3}" -m venv "$venv"
  fi
  pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
  "${pip[@]}" install -r "$repo/bench/requirements-peers.txt" scikit-build-core
  # This checkout, rebuilt every run (the numerics may have changed since the last one). No build
  # isolation: the venv already has the build backend, and the build uses the system CMake.
  CMAKE_BUILD_PARALLEL_LEVEL="$jobs" CMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)" \
    nice -n 10 "${pip[@]}" install --no-build-isolation --force-reinstall --no-deps "$repo"
  "$venv/bin/python" -m pip freeze --disable-pip-version-check > "$out/pip-freeze.txt"
  # The SVI fits against QuantLib are its task "svi" (bench/compare_svi.py's smiles and fitters).
  svi_smiles=40
  if (( quick )); then svi_smiles=4; fi
  (cd "$out" && "$venv/bin/python" "$repo/bench/compare_peers.py" --options "$options" \
      --loop-options "$loop_options" --svi-per-shape "$svi_smiles" --rounds "$rounds" \
      --json "$out/peers.json" --chart "$out/peers.png") | tee "$out/peers.txt"
fi

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
"${PYTHON:-python3}" "$repo/bench/summarize.py" "$out" > "$out/summary.md"
echo "run.sh: wrote $out/summary.md"
