#!/usr/bin/env bash
# Poison messages in the feed (--poison-every 20: not JSON, a chain with a negative open interest, a
# tick without its price, rotating): `run` exits 0 (0 lost, 0 duplicated, dead letters == poison
# injected: consumption never stopped), and dlq:enrichment holds exactly the injected number of
# letters, each with reason invalid_message, its error and the poisoned payload.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

rcli FLUSHALL >/dev/null
log "run --mode streams --poison-every 20 --duration 3"
rc=0
"$PIPELINE" run --redis "$REDIS_URL" --mode streams --poison-every 20 --duration 3 --quiet >"$work/run.log" 2>&1 ||
  rc=$?
cat "$work/run.log"
[ "$rc" -eq 0 ] || fail "optaro-pipeline run exited $rc"
grep -q '^  lost: 0, duplicated: 0$' "$work/run.log" || fail "the summary does not say 0 lost, 0 duplicated"
injected=$(summary_number "$work/run.log" '^  poison: ([0-9,]+) injected.*')
[ -n "$injected" ] && [ "$injected" -gt 0 ] || fail "no poison injected according to the summary"

rcli --raw LRANGE dlq:enrichment 0 -1 >"$work/dlq.jsonl"
python3 - "$injected" "$work/dlq.jsonl" <<'EOF' || fail "dlq:enrichment does not hold exactly the poison"
import collections, json, sys
injected, path = int(sys.argv[1]), sys.argv[2]
letters = [json.loads(line) for line in open(path) if line.strip()]
print(f"  dlq:enrichment holds {len(letters)} letters; {injected} poison messages were injected")
reasons = collections.Counter(l.get("reason") for l in letters)
errors = collections.Counter(l.get("error") for l in letters)
print(f"  reasons: {dict(reasons)}")
for error, n in sorted(errors.items()):
    print(f"  {n:5d} x {error}")
ok = len(letters) == injected and reasons == {"invalid_message": injected}
ok = ok and all(l.get("payload") and l.get("attempts") == 1 for l in letters)
# The three kinds of poison, rotating: each shows up (with 20+ letters).
wanted = ["not valid JSON", "open_interest: negative", "price: missing"]
ok = ok and all(any(w in e for e in errors) for w in wanted)
sys.exit(0 if ok else 1)
EOF
log "PASS"
