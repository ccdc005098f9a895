#!/usr/bin/env bash
# Quick start #1: builds optaro and examples/price_chain (Release, with ccache when present) on a
# fresh Debian 12 machine and runs it: a generated NIFTY-like option chain, priced, inverted back to
# implied volatilities and Greeks. Arguments go to the program, e.g. `bash examples/run.sh --seed 7`.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash .ci/install-deps.sh >&2
export CXX=${CXX:-g++}  # the compiler tests/run.sh uses, so that the two share build/release
# The release preset (build/release), the same build tests/run.sh uses; only the example is built.
cmake --preset release >/dev/null
cmake --build --preset release --target price_chain >&2
exec build/release/examples/price_chain "$@"
