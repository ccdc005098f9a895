#!/usr/bin/env bash
# Runs examples/plot_surface.py from a fresh Debian 12 machine: installs the build dependencies,
# makes a venv (build/venv-examples) with optaro (pip install of this checkout) and matplotlib, and
# writes the picture. Arguments go to the script, e.g. `bash examples/plot_surface.sh --out s.png`.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash .ci/install-deps.sh >&2
venv="$repo/build/venv-examples"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r examples/requirements.txt >&2
export CXX=${CXX:-g++}
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR="$repo"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --config-settings=build-dir=build/wheel . >&2
exec "$venv/bin/python" examples/plot_surface.py "$@"
