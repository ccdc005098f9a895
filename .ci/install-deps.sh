#!/usr/bin/env bash
# Installs what optaro's builds and tests use on Debian 12 (bookworm), from Debian's own packages.
# Idempotent and quick when there is nothing to do: packages already installed are not asked for,
# and apt is not touched at all when everything is present. Run as root, or as a user with sudo.
#
#   bash .ci/install-deps.sh            # everything (build, tests, benchmarks, Python extension, fuzzing)
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache binutils
  libeigen3-dev libboost-math-dev nlohmann-json3-dev libsimdjson-dev
  pybind11-dev libgtest-dev libgmock-dev libbenchmark-dev
  pkg-config libhiredis-dev redis-server redis-tools libmongoc-dev
  # .ci/fuzz.sh: Clang 14 and its runtimes (libFuzzer, ASan, UBSan), only recommended by clang-14
  clang libclang-rt-14-dev
)

# Python: the tests need an interpreter that can create a venv and build an extension (Python.h).
# A Python that already can (pyenv, a distribution's, ...) is used as it is; otherwise Debian's.
python_ok() {
  command -v python3 >/dev/null 2>&1 || return 1
  python3 - <<'PY' >/dev/null 2>&1
import ensurepip, os, sysconfig, venv  # venv alone is not enough: Debian splits ensurepip out
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
PY
}
if ! python_ok; then
  packages+=(python3 python3-venv python3-dev python3-pip)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} Debian packages already installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "install-deps: missing ${missing[*]}, and not root and no sudo to install them" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg (unattended upgrades, a parallel job) instead of failing on its lock.
apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
"${sudo[@]}" apt-get "${apt_opts[@]}" update -qq
"${sudo[@]}" apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}"
