#!/usr/bin/env bash
# Runs a test program with the address of the test server in its environment:
#   OPTARO_TEST_MONGO_URI      mongodb://127.0.0.1:<port>/
#   OPTARO_TEST_MONGO_CONTROL  this directory's ferretdb.sh (stop|start|restart the server)
# The port is only known once the fixture has started the server, so the test's environment cannot
# carry it; CTest runs the MongoDB tests through this script (the target's CROSSCOMPILING_EMULATOR).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${OPTARO_TEST_MONGO_DIR:-}" ] && [ -f "$OPTARO_TEST_MONGO_DIR/port" ]; then
  export OPTARO_TEST_MONGO_URI="mongodb://127.0.0.1:$(cat "$OPTARO_TEST_MONGO_DIR/port")/"
  export OPTARO_TEST_MONGO_CONTROL="$here/ferretdb.sh"
fi
exec "$@"
