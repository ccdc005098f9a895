#!/usr/bin/env bash
# Passwords never leave the process: `run` against a password-protected redis-server of this test's own
# (streams, poison messages so that there are dead letters, debug JSON logs, /metrics and /health
# scraped while it runs, a --report file) and against the MongoDB fixture with credentials in the URI;
# then runs with a wrong Redis password and an unreachable MongoDB. The password, raw or
# percent-encoded, must appear in none of: stdout, stderr (logs and errors), the report, /metrics,
# /health, the dead letters in dlq:enrichment, or any other key the run wrote.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

secret='s3cr3t-Pa55:w@rd'
encoded='s3cr3t-Pa55%3Aw%40rd'
wrong='wr0ng-S3cret-x9'
mongo_secret='m0ng0-S3cret-q7'

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --requirepass "$secret" --save "" --appendonly no \
  --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis-server.log" --dir "$work"
test_cleanup() { [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null; }
pcli() { REDISCLI_AUTH="$secret" redis-cli -p "$port" "$@"; }
wait_until 10 "the password-protected redis-server answers" sh -c "[ \"\$(REDISCLI_AUTH='$secret' redis-cli -p $port ping 2>/dev/null)\" = PONG ]"

# The fixture's FerretDB does not check credentials; the URI still carries them through the driver.
secret_url="redis://:$encoded@127.0.0.1:$port/0"
mongo_url="mongodb://optaro:$mongo_secret@127.0.0.1:$mongo_port/?authMechanism=PLAIN"

log "run with passwords: streams, poison, debug logs, /metrics and /health"
spawn run "$PIPELINE" run --redis "$secret_url" --mode streams --poison-every 10 --duration 4 --json-logs \
  --log-level debug --http-port 0 --report "$work/report.json"
wait_until 10 "the metrics endpoint is announced" grep -q 'metrics and health on http://' "$work/run.log"
endpoint=$(sed -n -E 's|.*metrics and health on (http://[^/]+)/metrics.*|\1|p' "$work/run.log" | head -n1)
sleep 1
python3 - "$endpoint" "$work" <<'EOF'
import sys, urllib.request, urllib.error
base, work = sys.argv[1], sys.argv[2]
for path in ("/metrics", "/health"):
    try:
        body = urllib.request.urlopen(base + path, timeout=5).read()
    except urllib.error.HTTPError as e:  # /health answers 503 when not healthy: its body still counts
        body = e.read()
    open(f"{work}/scrape{path.replace('/', '_')}.txt", "wb").write(body)
EOF
rc=0
reap run || rc=$?
[ "$rc" -eq 0 ] || fail "optaro-pipeline run with a password exited $rc"
grep -q '"lost": *0' "$work/report.json" || fail "the report does not say 0 lost"
letters=$(pcli LLEN dlq:enrichment)
[ "$letters" -gt 0 ] || fail "no dead letters to inspect"
pcli --raw LRANGE dlq:enrichment 0 -1 >"$work/dlq.txt"
# Every key the run left (latest:*, processed:*, smiles, streams), dumped by one script on the server.
pcli --raw EVAL "local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k).ok
  local v
  if t == 'string' then v = {redis.call('GET', k)}
  elseif t == 'hash' then v = redis.call('HGETALL', k)
  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1)
  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)
  elseif t == 'stream' then
    v = {}
    for _, e in ipairs(redis.call('XRANGE', k, '-', '+')) do for _, f in ipairs(e[2]) do v[#v + 1] = f end end
  else v = {} end
  out[#out + 1] = k
  for _, x in ipairs(v) do out[#out + 1] = x end
end
return out" 0 >"$work/keys.txt"
log "  $(wc -l <"$work/run.log") lines of output, $letters dead letters, $(wc -c <"$work/keys.txt") bytes of keys"

log "run with a wrong Redis password"
rc=0
"$PIPELINE" run --redis "redis://:$wrong@127.0.0.1:$port/0" --mode streams --duration 1 --json-logs \
  >"$work/wrong.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a wrong password was not refused"
grep -q 'redis://:\*\*\*@127.0.0.1' "$work/wrong.log" || fail "the refusal does not name the redacted URL"

log "run with credentials for MongoDB: the fixture, then a port where nothing listens"
rc=0
"$PIPELINE" run --mongo "$mongo_url" --mongo-db "$MONGO_DB" --duration 1 --json-logs \
  --report "$work/mongo-report.json" >"$work/mongo.log" 2>&1 || rc=$?
echo "  exit $rc"
rc=0
"$PIPELINE" run --mongo "mongodb://optaro:$mongo_secret@127.0.0.1:$(free_port)/?serverSelectionTimeoutMS=500" \
  --duration 1 --json-logs >"$work/mongo-down.log" 2>&1 || rc=$?
echo "  unreachable: exit $rc"
grep -q 'optaro:\*\*\*@127.0.0.1' "$work/mongo-down.log" || fail "the MongoDB error does not name the redacted URI"

leaks=0
for f in run.log report.json scrape_metrics.txt scrape_health.txt dlq.txt keys.txt wrong.log mongo.log \
  mongo-report.json mongo-down.log; do
  [ -f "$work/$f" ] || continue
  for s in "$secret" "$encoded" "$wrong" "$mongo_secret"; do
    if grep -qF -- "$s" "$work/$f"; then
      echo "  LEAK: $f contains a password" >&2
      leaks=$((leaks + 1))
    fi
  done
done
[ "$leaks" -eq 0 ] || fail "$leaks outputs contain a password"
log "PASS: no password in $(cat "$work"/*.log "$work"/*.txt "$work"/*.json 2>/dev/null | wc -c) bytes of output"
