#!/usr/bin/env bash
# Streams mode, two `enrich` processes in one consumer group, one SIGKILLed mid-run: 0 lost, 0 duplicated.
#
# Accounting (the victim's own counts die with it, so nothing relies on what the processes print):
#  - produced: the feed's --report (poison-free counts per kind);
#  - stored: MongoDB counted independently (mongo_count.py) in a database of this run only: per kind
#    `distinct` (different message ids stored) must equal produced -> 0 lost, and `count` must equal
#    `distinct` -> 0 duplicated documents (the store's unique indexes make this hold by construction;
#    the count checks it anyway);
#  - completed: the idempotency keys "<prefix>processed:*" (this run's --claims-prefix) in state
#    "done" must be exactly the produced total: every message was completed once, and no key is left
#    in a claimed state by the killed worker (the survivor reclaimed its pending entries after
#    --claim-idle 1000 ms and its claims after their lease);
#  - the group's pending count (XPENDING) is 0 on every stream and dlq:enrichment is empty.
# The end is a wait with a deadline: the feed has finished, every entry of the three streams has been
# delivered to the group and acknowledged; then the survivor gets SIGTERM (it drains and exits 0).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

streams=(market:underlying market:option_quote market:option_chain)
group=g_$run_tag
rcli FLUSHALL >/dev/null

enrich() {  # enrich CONSUMER (exec: spawn's pid is the process itself)
  exec "$PIPELINE" enrich --redis "$REDIS_URL" --mode streams --mongo "$MONGO_URI" --mongo-db "$MONGO_DB" \
    --group "$group" --consumer "$1" --claim-idle 1000 --claim-lease 2000 --claims-prefix "$CLAIMS_PREFIX" --workers 2
}
spawn survivor enrich survivor
spawn victim enrich victim
for w in survivor victim; do
  wait_until 20 "enrich $w has started" grep -qs '^optaro-pipeline enrich:' "$work/$w.log"
done

log "feed --mode streams --rate 0.5 --duration 6; SIGKILL of one enrich process after 2 s"
spawn feed "$PIPELINE" feed --redis "$REDIS_URL" --mode streams --rate 0.5 --duration 6 --report "$work/report.json"
feed_started=$SECONDS
# The victim has taken entries (its progress line shows some enriched) and 2 s of feed have passed.
victim_busy() { grep -qE '^\[[0-9]+s\] enriched [1-9]' "$work/victim.log" && [ $((SECONDS - feed_started)) -ge 2 ]; }
wait_until 20 "the victim has enriched messages" victim_busy
kill -9 "${pid_of[victim]}"
rc=0
reap victim || rc=$?
log "victim SIGKILLed (exit status $rc); its last line: $(tail -n1 "$work/victim.log")"

rc=0
reap feed || rc=$?
cat "$work/feed.log"
[ "$rc" -eq 0 ] || fail "the feed exited $rc"
produced=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["produced"]))' "$work/report.json")
total=$(python3 -c 'import json,sys; print(sum(json.loads(sys.argv[1]).values()))' "$produced")
log "produced $produced (total $total)"

settled() {
  group_settled "$group" "${streams[@]}" || return 1
  alive survivor || fail "the surviving enrich process died"
}
wait_until 180 "the group has consumed and acknowledged every entry" settled
log "pending 0 on every stream; stopping the survivor"
kill -TERM "${pid_of[survivor]}"
rc=0
reap survivor || rc=$?
tail -n 3 "$work/survivor.log"
[ "$rc" -eq 0 ] || fail "the survivor exited $rc on SIGTERM"

done_keys=$(rcli EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
  if redis.call('GET', k) == 'done' then n = n + 1 end end return n" 0 "${CLAIMS_PREFIX}processed:*")
all_keys=$(rcli EVAL "return #redis.call('KEYS', ARGV[1])" 0 "${CLAIMS_PREFIX}processed:*")
log "idempotency keys: $all_keys, of which done: $done_keys; produced $total"
if [ "$done_keys" != "$total" ]; then
  # A claim the victim held when it died: the survivor met it as "in flight", counted the message as a
  # duplicate and acknowledged it, and the key stays claimed until its lease lapses. The message is in
  # MongoDB (checked below) if the victim stored it before it died; had it died between the claim
  # and the insert, the message is lost and the MongoDB check below fails.
  log "note: $((total - done_keys)) key(s) still claimed by the killed worker:"
  rcli EVAL "local r = {} for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
    local v = redis.call('GET', k) if v ~= 'done' then r[#r + 1] = k .. ' = ' .. v end end return r" \
    0 "${CLAIMS_PREFIX}processed:*" | sed 's/^/    /'
fi
log "MongoDB:"
check_stored_once "$produced" "$MONGO_DB" || fail "MongoDB does not hold every produced message exactly once"
[ "$all_keys" = "$total" ] || fail "$all_keys idempotency keys for $total produced messages"
dlq=$(rcli LLEN dlq:enrichment)
[ "$dlq" = 0 ] || fail "dlq:enrichment holds $dlq letters"
log "PASS"
