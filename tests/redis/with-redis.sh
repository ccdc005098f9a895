#!/usr/bin/env bash
# Runs a test program with the address of the test server in its environment:
#   OPTARO_TEST_REDIS_URL      redis://127.0.0.1:<port>/0
#   OPTARO_TEST_REDIS_CONTROL  this directory's redis-server.sh (stop|start|restart the server)
# The port is only known once the fixture has started the server, so the test's environment cannot
# carry it; CTest runs optaro_redis_tests through this script (the target's CROSSCOMPILING_EMULATOR).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${OPTARO_TEST_REDIS_DIR:-}" ] && [ -f "$OPTARO_TEST_REDIS_DIR/port" ]; then
  export OPTARO_TEST_REDIS_URL="redis://127.0.0.1:$(cat "$OPTARO_TEST_REDIS_DIR/port")/0"
  export OPTARO_TEST_REDIS_CONTROL="$here/redis-server.sh"
fi
exec "$@"
