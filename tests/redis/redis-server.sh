#!/usr/bin/env bash
# A redis-server for optaro's integration tests, on a free loopback port, with no persistence.
#   redis-server.sh fresh|start|stop|restart
# State lives in $OPTARO_TEST_REDIS_DIR: the port (kept across stop/start, so that clients reconnect
# to the same address), the pid file and the server's log. `fresh` stops any server left there and
# starts one on a new port (the CTest fixture's setup); `stop` is the cleanup.
set -euo pipefail
dir=${OPTARO_TEST_REDIS_DIR:?OPTARO_TEST_REDIS_DIR is not set}
mkdir -p "$dir"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

running_pid() {
  [ -f "$dir/redis.pid" ] || return 1
  local pid
  pid=$(cat "$dir/redis.pid")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
  [ -f "$dir/port" ] || free_port > "$dir/port"
  local port
  port=$(cat "$dir/port")
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
  for _ in $(seq 1 200); do
    if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
      echo "redis-server listening on 127.0.0.1:$port"
      return 0
    fi
    sleep 0.05
  done
  echo "redis-server did not start on port $port; its log:" >&2
  cat "$dir/redis.log" >&2 || true
  return 1
}

stop() {
  local pid
  pid=$(running_pid) || return 0
  kill "$pid"
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/redis.pid"; return 0; }
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/redis.pid"
}

case "${1:-}" in
  fresh) stop; rm -f "$dir/port"; start ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  *) echo "usage: $0 fresh|start|stop|restart" >&2; exit 2 ;;
esac
