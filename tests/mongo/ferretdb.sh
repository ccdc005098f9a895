#!/usr/bin/env bash
# A MongoDB-wire-protocol server (FerretDB v1 over SQLite) for optaro's integration tests, on a free
# loopback port.
#   ferretdb.sh fresh|start|stop|restart|build
# State lives in $OPTARO_TEST_MONGO_DIR: the port (kept across stop/start, so that clients reconnect
# to the same address), the pid file, the server's log and data/, its SQLite files (kept across
# stop/start, so a restart test sees the data again). `fresh` stops any server left there, empties
# data/ and starts one on a new port (the CTest fixture's setup); `stop` is the cleanup; `build`
# only builds the runner and prints its path.
#
# The runner (ferretdb/, a few lines around FerretDB's embeddable package) is built with Go once per
# content of its go.mod, go.sum and main.go into $OPTARO_TEST_MONGO_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/optaro), so later runs and CI reruns on the same machine reuse it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${OPTARO_TEST_MONGO_DIR:?OPTARO_TEST_MONGO_DIR is not set}
log_level=${OPTARO_TEST_MONGO_LOG_LEVEL:-info}
mkdir -p "$dir"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Go's own toolchain, as the Go module proxy serves it (module golang.org/toolchain): the fallback on a
# machine whose Go is missing or older than go.mod asks for, since Debian 12's golang-go is 1.19.
toolchain_version=1.24.4
fetch_go() {
  local cache="${OPTARO_TEST_MONGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/optaro}"
  local root="$cache/go-toolchain-$toolchain_version"
  if [ ! -x "$root/bin/go" ]; then
    local zip="$cache/go-toolchain-$toolchain_version.zip"
    mkdir -p "$cache"
    echo "ferretdb.sh: fetching Go $toolchain_version from ${GOPROXY_URL:-https://proxy.golang.org}" >&2
    curl -fsSL -o "$zip.tmp" \
      "${GOPROXY_URL:-https://proxy.golang.org}/golang.org/toolchain/@v/v0.0.1-go$toolchain_version.linux-amd64.zip"
    rm -rf "$root.tmp" && mkdir -p "$root.tmp"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip.tmp" "$root.tmp"
    # The zip holds golang.org/toolchain@.../ with the Go tree inside; zip files lose the exec bits.
    local tree
    tree=$(find "$root.tmp" -mindepth 2 -maxdepth 2 -type d -name 'toolchain@*' | head -n1)
    chmod +x "$tree"/bin/* "$tree"/pkg/tool/*/*
    rm -rf "$root" && mv "$tree" "$root" && rm -rf "$root.tmp" "$zip.tmp"
  fi
  echo "$root/bin/go"
}

go_is_recent() {  # go 1.24 or newer
  local v
  v=$("$1" env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  [ -n "$v" ] && set -- $v && { [ "$1" -gt 1 ] || [ "$2" -ge 24 ]; }
}

find_go() {
  local candidate
  for candidate in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && go_is_recent "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  fetch_go || {
    echo "ferretdb.sh: Go 1.24 or newer is needed to build the FerretDB test server: none on PATH or at" \
      "/usr/local/go/bin/go, and fetching it from the Go module proxy failed" >&2
    return 1
  }
}

# Prints the runner's path, building it first if this content of ferretdb/ has not been built yet.
runner() {
  local src="$here/ferretdb" hash out go tmp
  hash=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)
  out="${OPTARO_TEST_MONGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/optaro}/ferretdb-$hash"
  if [ ! -x "$out/ferretdb-runner" ]; then
    go=$(find_go)
    mkdir -p "$out"
    echo "building the FerretDB runner into $out (the first build takes a few minutes)" >&2
    # Build beside the target and rename, so that a concurrent run never sees half a binary.
    # go.sum is committed, hence -mod=readonly; -buildvcs=false because the work tree's git state
    # says nothing about this binary (and git may not be usable in CI's checkout).
    tmp=$(mktemp "$out/ferretdb-runner.XXXXXX")
    if ! (cd "$src" && GOFLAGS="-mod=readonly -buildvcs=false" "$go" build -o "$tmp" .) >&2; then
      rm -f "$tmp"
      echo "ferretdb.sh: building the FerretDB runner failed" >&2
      return 1
    fi
    chmod +x "$tmp"
    mv -f "$tmp" "$out/ferretdb-runner"
  fi
  echo "$out/ferretdb-runner"
}

running_pid() {
  [ -f "$dir/ferretdb.pid" ] || return 1
  local pid
  pid=$(cat "$dir/ferretdb.pid")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

accepts() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  if running_pid >/dev/null; then
    echo "ferretdb already running on 127.0.0.1:$(cat "$dir/port")"
    return 0
  fi
  local bin port pid logged
  bin=$(runner)
  [ -f "$dir/port" ] || free_port > "$dir/port"
  port=$(cat "$dir/port")
  mkdir -p "$dir/data"
  touch "$dir/ferretdb.log"
  logged=$(wc -c < "$dir/ferretdb.log")
  # setsid: like redis's --daemonize, the server outlives this script and is not in the caller's
  # process group, so CTest ending the fixture's setup step does not end the server too.
  setsid "$bin" --listen-addr "127.0.0.1:$port" --state-dir "$dir/data" --log-level "$log_level" \
    </dev/null >>"$dir/ferretdb.log" 2>&1 &
  pid=$!
  echo "$pid" > "$dir/ferretdb.pid"
  # The runner prints its "listening on" line once its SQLite backend is open and the port is bound;
  # connections made after that queue until it accepts them. A TCP connect alone is not proof: with
  # the kept port taken by another program, that program would answer it.
  for _ in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    if tail -c "+$((logged + 1))" "$dir/ferretdb.log" |
        grep -qF "listening on mongodb://127.0.0.1:$port/" && accepts "$port"; then
      echo "ferretdb listening on 127.0.0.1:$port"
      return 0
    fi
    sleep 0.05
  done
  echo "ferretdb did not start on port $port; its log:" >&2
  tail -n 50 "$dir/ferretdb.log" >&2 || true
  kill "$pid" 2>/dev/null || true
  rm -f "$dir/ferretdb.pid"
  return 1
}

stop() {
  local pid
  pid=$(running_pid) || { rm -f "$dir/ferretdb.pid"; return 0; }
  kill "$pid"
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/ferretdb.pid"; return 0; }
    sleep 0.05
  done
  echo "ferretdb (pid $pid) did not stop on SIGTERM within 10 s; killing it" >&2
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/ferretdb.pid"
}

case "${1:-}" in
  fresh) stop; rm -f "$dir/port"; rm -rf "$dir/data"; start ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  build) runner ;;
  *) echo "usage: $0 fresh|start|stop|restart|build" >&2; exit 2 ;;
esac
