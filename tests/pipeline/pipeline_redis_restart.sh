#!/usr/bin/env bash
# Redis restarted mid-run, Streams mode: the feed's publishes and the workers reconnect and continue, and
# nothing is lost: `run` exits 0 (0 lost, 0 duplicated, counted from MongoDB) and MongoDB, counted
# independently, holds every produced message exactly once.
#
# Persistence: the fixture's redis-server.sh runs Redis without persistence, so a restart there empties
# the streams, the consumer group and the idempotency keys -- entries not yet consumed would be gone,
# and "nothing lost" could not hold for any consumer. A Streams deployment that promises at-least-once
# runs Redis with persistence; so does this test: it stops the fixture's server and runs its own on the
# same port (the fixture's state dir keeps the port) with --appendonly yes --appendfsync always, and
# restarts that one (SHUTDOWN, which writes the AOF, then start on the same AOF). At the end its own
# server is stopped and the fixture's is started again (empty, as the fixture leaves it).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

aof_dir="$work/redis-aof"
mkdir -p "$aof_dir"
start_persistent() {
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync always \
    --daemonize yes --pidfile "$aof_dir/redis.pid" --logfile "$aof_dir/redis.log" --dir "$aof_dir"
  wait_until 10 "the persistent redis-server answers" redis_up
}
stop_persistent() {
  local pid
  pid=$(cat "$aof_dir/redis.pid" 2>/dev/null) || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  rcli SHUTDOWN >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
}
test_cleanup() { stop_persistent; }  # then common.sh's cleanup starts the fixture's server again

bash "$redis_control" stop
start_persistent
rcli FLUSHALL >/dev/null
log "redis with appendonly on port $redis_port; run --mode streams --duration 10 (db $MONGO_DB)"
spawn run "$PIPELINE" run --redis "$REDIS_URL" --mode streams --mongo "$MONGO_URI" --mongo-db "$MONGO_DB" \
  --duration 10 --quiet
started=$SECONDS
busy() { [ "$(rcli XLEN market:underlying 2>/dev/null || echo 0)" -gt 0 ] && [ $((SECONDS - started)) -ge 3 ]; }
wait_until 20 "the run has been publishing for 3 s" busy
before=$(rcli XLEN market:underlying)
log "restarting Redis (market:underlying holds $before entries)"
stop_persistent
start_persistent
after=$(rcli XLEN market:underlying)
log "Redis is back (market:underlying holds $after entries)"
[ "$after" -ge "$before" ] || fail "the restart lost stream entries ($before -> $after)"

rc=0
wait_until 200 "the run has ended" bash -c "! kill -0 ${pid_of[run]} 2>/dev/null"
reap run || rc=$?
cat "$work/run.log"
[ "$rc" -eq 0 ] || fail "optaro-pipeline run exited $rc"
grep -q '^  lost: 0, duplicated: 0$' "$work/run.log" || fail "the summary does not say 0 lost, 0 duplicated"
produced_underlying=$(summary_number "$work/run.log" '^  produced .*underlying ([0-9,]+).*')
produced_chain=$(summary_number "$work/run.log" '^  produced .*option_chain ([0-9,]+).*')
log "MongoDB, counted independently:"
check_stored_once "{\"underlying\": $produced_underlying, \"option_chain\": $produced_chain}" "$MONGO_DB" ||
  fail "MongoDB does not hold every produced message exactly once"
log "PASS"
