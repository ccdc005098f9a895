#!/usr/bin/env bash
# optaro's whole test suite: the README's test command, and what CI runs (.ci/run).
# Does its own set-up on a fresh Debian 12 machine, then
#   1. C++: configures the `release` preset, builds it, runs every CTest test (unit and install);
#   2. Python: builds and installs the wheel into a venv (pip install .) and runs pytest from
#      outside the source tree, so that `import optaro` is the installed wheel.
# Exits non-zero on the first failure.
#
# Environment: OPTARO_PRESET (default release; e.g. asan-ubsan), OPTARO_JOBS (default nproc),
# OPTARO_SKIP_PYTHON=1 to run the C++ part only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
preset=${OPTARO_PRESET:-release}
jobs=${OPTARO_JOBS:-$(nproc)}

section() { printf '\n==== %s (%ds)\n' "$*" "$SECONDS"; }
trap 'echo "tests/run.sh: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR

section "set-up"
bash .ci/install-deps.sh

# ccache for both compiles of the library: the CMake build below and the wheel build. For the wheel's
# compile of the same sources to hit the cache, the two command lines must be identical: paths under
# the repo are rewritten relative to the build directory (CCACHE_BASEDIR), both build directories sit
# at the same depth (build/<preset>, build/wheel), and both use the same compiler name (without CXX,
# CMake picks `c++` while scikit-build-core passes Python's `g++`).
export CXX=${CXX:-g++}
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR="$repo"
fi

section "C++: configure (preset $preset)"
cmake --preset "$preset"
section "C++: build"
cmake --build --preset "$preset" --parallel "$jobs"
section "C++: ctest"
ctest --preset "$preset" --parallel "$jobs" --no-tests=error --output-on-failure

if [ "${OPTARO_SKIP_PYTHON:-0}" = 1 ]; then
  section "Python: skipped (OPTARO_SKIP_PYTHON=1)"
  exit 0
fi
if [ ! -f pyproject.toml ] || [ ! -f bindings/python/CMakeLists.txt ]; then
  printf '\n!!!!\n!!!! Python tests SKIPPED: pyproject.toml or bindings/python/ does not exist yet.\n!!!!\n' >&2
  exit 0
fi

section "Python: venv and test requirements"
venv="$repo/build/venv-test"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt

section "Python: pip install . (the wheel)"
"$py" -m pip install --disable-pip-version-check --config-settings=build-dir=build/wheel .

section "Python: pytest, from outside the source tree"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$py" - "$venv" <<'PY'
import pathlib, sys
import optaro
where = pathlib.Path(optaro.__file__).resolve()
print(f"optaro {optaro.__version__} imported from {where}")
if pathlib.Path(sys.argv[1]).resolve() not in where.parents:
    sys.exit("tests/run.sh: `import optaro` did not pick up the installed wheel")
PY
"$py" -m pytest "$repo/tests/python" -q -p no:cacheprovider
section "all tests passed"
