#!/usr/bin/env bash
# The database stopped for 10 s mid-run (Streams mode, `feed` + one `enrich` process): the store's writes
# retry with the policy's backoff and the messages that exhaust their retries are dead-lettered (never as
# invalid_message); after the restart `replay-dlq` (same --claims-prefix) completes the set. Then:
#  - MongoDB, counted independently: every produced message (the feed's --report) stored exactly once;
#  - dlq:enrichment is empty and the consumer group has nothing pending.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

streams=(market:underlying market:option_chain)
group=g_$run_tag
rcli FLUSHALL >/dev/null
spawn enrich "$PIPELINE" enrich --redis "$REDIS_URL" --mode streams --mongo "$MONGO_URI" --mongo-db "$MONGO_DB" \
  --group "$group" --claims-prefix "$CLAIMS_PREFIX" --workers 2
wait_until 20 "enrich has started" grep -qs '^optaro-pipeline enrich:' "$work/enrich.log"

log "feed --mode streams --rate 0.2 --duration 18; MongoDB stopped from 3 s to 13 s"
spawn feed "$PIPELINE" feed --redis "$REDIS_URL" --mode streams --rate 0.2 --duration 18 --report "$work/report.json"
started=$SECONDS
while [ $((SECONDS - started)) -lt 3 ]; do sleep 0.1; done
bash "$mongo_control" stop
log "MongoDB stopped"
sleep 10  # the outage itself
bash "$mongo_control" start >/dev/null
log "MongoDB started again"

rc=0
reap feed || rc=$?
[ "$rc" -eq 0 ] || fail "the feed exited $rc"
produced=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["produced"]; p.pop("option_quote", None); print(json.dumps(p))' "$work/report.json")
log "produced $produced"

settled() {
  group_settled "$group" "${streams[@]}" || return 1
  alive enrich || fail "the enrich process died"
}
wait_until 180 "the group has consumed and acknowledged every entry" settled
kill -TERM "${pid_of[enrich]}"
rc=0
reap enrich || rc=$?
tail -n 2 "$work/enrich.log"
[ "$rc" -eq 0 ] || fail "enrich exited $rc on SIGTERM"
retries=$(summary_number "$work/enrich.log" '^\[[0-9]+s stopped\].* retries ([0-9,]+) .*')
log "enrich retried $retries writes"
[ -n "$retries" ] && [ "$retries" -gt 0 ] || fail "no write was retried: the outage went unnoticed"

rcli --raw LRANGE dlq:enrichment 0 -1 >"$work/dlq.jsonl"
python3 - "$work/dlq.jsonl" <<'EOF' || fail "unexpected dead letters"
import collections, json, sys
letters = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
reasons = collections.Counter(l.get("reason") for l in letters)
attempts = collections.Counter(l.get("attempts") for l in letters)
print(f"  dlq:enrichment before the replay: {len(letters)} letters, reasons {dict(reasons)}, attempts {dict(sorted(attempts.items()))}")
sys.exit(1 if reasons.get("invalid_message") else 0)
EOF
log "replay-dlq"
"$PIPELINE" replay-dlq --redis "$REDIS_URL" --mongo "$MONGO_URI" --mongo-db "$MONGO_DB" \
  --claims-prefix "$CLAIMS_PREFIX" 2>&1 | grep -v endSessions || fail "replay-dlq failed"
left=$(rcli LLEN dlq:enrichment)
[ "$left" = 0 ] || fail "dlq:enrichment still holds $left letters after the replay"

log "MongoDB, counted independently:"
check_stored_once "$produced" "$MONGO_DB" || fail "MongoDB does not hold every produced message exactly once"
log "PASS"
