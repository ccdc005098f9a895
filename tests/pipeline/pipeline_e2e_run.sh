#!/usr/bin/env bash
# A 5 s run through real Redis (Streams) and the MongoDB-wire server:
#  - `run` exits 0: its summary, counted from MongoDB, says 0 lost and 0 duplicated;
#  - MongoDB, counted independently (mongo_count.py): every produced message stored exactly once;
#  - latest:* keys exist with their TTLs (latest:underlying:NIFTY: 0 < PTTL <= 300000 ms);
#  - a separate subscriber of enriched:option_chain (redis-cli) receives every chain exactly once.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

rcli FLUSHALL >/dev/null
# The subscriber first: --csv gives one line per message.
spawn subscriber redis-cli -p "$redis_port" --csv SUBSCRIBE enriched:option_chain
wait_until 10 "redis-cli has subscribed to enriched:option_chain" \
  grep -qs '^"subscribe","enriched:option_chain"' "$work/subscriber.log"

log "run --mode streams --duration 5 (db $MONGO_DB)"
rc=0
"$PIPELINE" run --redis "$REDIS_URL" --mode streams --mongo "$MONGO_URI" --mongo-db "$MONGO_DB" --duration 5 \
  --quiet >"$work/run.log" 2>&1 || rc=$?
cat "$work/run.log"
[ "$rc" -eq 0 ] || fail "optaro-pipeline run exited $rc"
grep -q '^  lost: 0, duplicated: 0$' "$work/run.log" || fail "the summary does not say 0 lost, 0 duplicated"

produced_underlying=$(summary_number "$work/run.log" '^  produced .*underlying ([0-9,]+).*')
produced_chain=$(summary_number "$work/run.log" '^  produced .*option_chain ([0-9,]+).*')
published_chain=$(summary_number "$work/run.log" '^  published .*option_chain ([0-9,]+).*')
[ -n "$produced_underlying" ] && [ -n "$produced_chain" ] || fail "no produced counts in the summary"
[ "$produced_chain" -gt 0 ] || fail "no chain was produced"
[ "$published_chain" = "$produced_chain" ] || fail "published $published_chain chains of $produced_chain"

log "MongoDB, counted independently:"
check_stored_once "{\"underlying\": $produced_underlying, \"option_chain\": $produced_chain}" "$MONGO_DB" ||
  fail "MongoDB does not hold every produced message exactly once"

pttl=$(rcli PTTL latest:underlying:NIFTY)
log "PTTL latest:underlying:NIFTY = $pttl"
[ "$pttl" -ge 1 ] && [ "$pttl" -le 300000 ] || fail "PTTL latest:underlying:NIFTY is $pttl, not in [1, 300000]"
latest_keys=$(rcli --scan --pattern 'latest:*' | sort)
[ -n "$latest_keys" ] || fail "no latest:* keys"
for key in $latest_keys; do
  t=$(rcli PTTL "$key")
  [ "$t" -gt 0 ] || fail "$key has no TTL (PTTL $t)"
done
log "$(echo "$latest_keys" | wc -l) latest:* keys, each with a TTL"
grep -q '^latest:chain:NIFTY:' <<<"$latest_keys" || fail "no latest:chain:NIFTY:* key"

# `run` has published every chain before it exits; the subscriber may still be reading them.
received() { grep -cs '^"message","enriched:option_chain"' "$work/subscriber.log" || true; }
wait_until 20 "the subscriber has received $produced_chain chains (has $(received))" \
  test "$(received)" -ge "$produced_chain"
got=$(received)
log "the subscriber received $got chains, produced $produced_chain"
[ "$got" -eq "$produced_chain" ] || fail "the subscriber received $got chains, not $produced_chain"
log "PASS"
