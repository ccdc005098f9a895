#!/usr/bin/env bash
# Quick start #1: builds optaro and runs its main job, the reference pipeline, fully embedded (no
# servers): a feed generator of NIFTY and BANKNIFTY ticks and option chains, the enrichment engine's
# workers, and in-memory stores, with live progress and a summary (exit status 0 only when nothing was
# lost or duplicated). Arguments go to `optaro-pipeline run`, e.g. `bash examples/run.sh --duration 30
# --rate 5`, or `--redis redis://127.0.0.1:6379/0 --mongo mongodb://127.0.0.1:27017/` for the real adapters.
# On a fresh Debian 12 machine it installs what it needs first.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash .ci/install-deps.sh >&2
export CXX=${CXX:-g++}  # the compiler tests/run.sh uses, so that the two share build/release
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR="$repo"
fi
# The release preset (build/release), the same build tests/run.sh uses; only the pipeline is built.
cmake --preset release >/dev/null
cmake --build --preset release --target optaro-pipeline >&2
exec build/release/examples/pipeline/optaro-pipeline run "$@"
