# Sourced by the pipeline's end-to-end tests (tests/pipeline/*.sh): the servers' addresses, process
# bookkeeping, waits with a deadline and the counts to compare.
#   <test>.sh PATH/TO/optaro-pipeline
# Environment: OPTARO_TEST_REDIS_DIR and OPTARO_TEST_MONGO_DIR, the state dirs of the redis_server and
# mongo_server fixtures (tests/redis/redis-server.sh, tests/mongo/ferretdb.sh). A server that is not
# running is started; on exit every process the test started is killed and both servers run again.
set -euo pipefail
pipeline_tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
redis_control="$pipeline_tests_dir/../redis/redis-server.sh"
mongo_control="$pipeline_tests_dir/../mongo/ferretdb.sh"
: "${OPTARO_TEST_REDIS_DIR:?OPTARO_TEST_REDIS_DIR is not set}"
: "${OPTARO_TEST_MONGO_DIR:?OPTARO_TEST_MONGO_DIR is not set}"
PIPELINE=${1:?usage: $0 PATH/TO/optaro-pipeline}
[ -x "$PIPELINE" ] || { echo "not an executable: $PIPELINE" >&2; exit 1; }
test_name=$(basename "$0" .sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/optaro-$test_name.XXXXXX")
pids=()

log() { echo "[$test_name $(date +%T)] $*"; }
fail() {
  echo "[$test_name] FAIL: $*" >&2
  exit 1
}

redis_up() { [ "$(redis-cli -p "$(cat "$OPTARO_TEST_REDIS_DIR/port" 2>/dev/null || echo 1)" ping 2>/dev/null)" = PONG ]; }
ensure_servers() {
  redis_up || bash "$redis_control" start >/dev/null
  bash "$mongo_control" start >/dev/null
}

# Background processes: `spawn NAME command...` runs it with stdout and stderr in $work/NAME.log and
# records its pid in ${pid_of[NAME]}.
declare -A pid_of=()
spawn() {
  local name=$1
  shift
  "$@" >"$work/$name.log" 2>&1 &
  pid_of[$name]=$!
  pids+=("$!")
}
alive() { kill -0 "${pid_of[$1]}" 2>/dev/null; }
# Waits for a spawned process and returns its exit code (without tripping set -e).
reap() {
  local rc=0
  wait "${pid_of[$1]}" || rc=$?
  return $rc
}

cleanup() {
  local rc=$?
  set +e
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if declare -F test_cleanup >/dev/null; then test_cleanup; fi
  ensure_servers
  if [ "$rc" -ne 0 ]; then
    for f in "$work"/*.log; do
      [ -f "$f" ] || continue
      echo "---- $(basename "$f") (last 30 lines)" >&2
      tail -n 30 "$f" >&2
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s until it succeeds; fails the test
# when the deadline passes first.
wait_until() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${seconds} s waiting until $what"
    sleep 0.1
  done
}

ensure_servers
redis_port=$(cat "$OPTARO_TEST_REDIS_DIR/port")
mongo_port=$(cat "$OPTARO_TEST_MONGO_DIR/port")
REDIS_URL="redis://127.0.0.1:$redis_port/0"
MONGO_URI="mongodb://127.0.0.1:$mongo_port/"
rcli() { redis-cli -p "$redis_port" "$@"; }

# group_settled GROUP STREAM...: true when the consumer group has been delivered every entry of each
# stream (its last-delivered id is the stream's last id) and has acknowledged them all (pending 0).
# A stream that does not exist (nothing of that kind was produced) counts as settled.
group_state="local function map(a) local m = {} for i = 1, #a, 2 do m[a[i]] = a[i + 1] end return m end
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local m = map(g)
  if m['name'] == ARGV[1] then
    return {tostring(m['pending']), m['last-delivered-id'], map(redis.call('XINFO', 'STREAM', KEYS[1]))['last-generated-id']}
  end
end
return {'-1', '-', '-'}"
group_settled() {
  local group=$1 s state pending delivered last
  shift
  for s in "$@"; do
    [ "$(rcli EXISTS "$s")" = 1 ] || continue
    state=$(rcli --raw EVAL "$group_state" 1 "$s" "$group" | tr '\n' ' ')
    read -r pending delivered last <<<"$state"
    [ "$pending" = 0 ] && [ "$last" = "$delivered" ] || return 1
  done
}
# A database and an idempotency-key prefix of this run only: the feed restarts its message ids at every
# run, and earlier runs' documents and keys must not count.
run_tag="${test_name#pipeline_}_$(date +%s)_$$"
MONGO_DB="t_$run_tag"
CLAIMS_PREFIX="$run_tag:"

# mongo_counts DB -> {"underlying": {"count": n, "distinct": d}, ...} (see mongo_count.py)
mongo_counts() { python3 "$pipeline_tests_dir/mongo_count.py" "$mongo_port" "$1"; }

# check_stored_once REPORT_JSON DB: every kind's produced count (REPORT_JSON: {"underlying": n, ...}) is
# stored exactly once in DB: count == distinct == produced. Prints the comparison.
check_stored_once() {
  local produced=$1 db=$2 counts
  counts=$(mongo_counts "$db")
  python3 - "$produced" "$counts" <<'EOF'
import json, sys
produced, counts = json.loads(sys.argv[1]), json.loads(sys.argv[2])
bad = []
for kind, n in produced.items():
    c = counts.get(kind, {"count": 0, "distinct": 0})
    lost, dup = n - c["distinct"], c["count"] - c["distinct"]
    print(f"  {kind:13s} produced {n:6d}  stored {c['count']:6d}  distinct {c['distinct']:6d}  lost {lost}  duplicated {dup}")
    if lost != 0 or dup != 0:
        bad.append(kind)
sys.exit(1 if bad else 0)
EOF
}

# A summary number: summary_number FILE REGEX (the first capture group, digits only).
summary_number() {
  sed -n -E "s/$2/\\1/p" "$1" | head -n1 | tr -d ','
}
