#!/usr/bin/env bash
# Start the scale-out topology on this machine for a try (docs/deployment.md#several-api-workers):
#
#   PostgreSQL     the test cluster of scripts/test-services.sh (started by it if needed; never stopped here)
#   object store   moto_server from the `dev` extra, when installed (test-services starts one per user)
#   N workers      threshold serve --workers N, on a fresh home and a fresh database
#
# Usage: bash scripts/run-topology.sh [WORKERS] [PORT]      (defaults: 2 workers, port 8000)
# Env:   TOPOLOGY_DEMO=1   build the demo organisation first (a minute or two)
#
# Prints the address and a person to sign in as (`try`, an administrator, with a random password); Ctrl-C (or SIGTERM) stops the workers, drops the database
# and removes the home. The PostgreSQL cluster and moto_server stay up for the next run, as for the tests.
# Ray (big queries on Daft) is started by its own part of issue 19; this script does not start it.
set -euo pipefail

WORKERS="${1:-2}"
PORT="${2:-8000}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
CLI="$ROOT/.venv/bin/threshold"
[ -x "$CLI" ] || { echo "run-topology: $CLI not found: run 'make venv' first" >&2; exit 1; }

say() { printf '[run-topology] %s\n' "$*" >&2; }

bash "$ROOT/scripts/test-services.sh" >/dev/null 2>&1 || true
# shellcheck disable=SC1091
set -a; . "$ROOT/.test-env"; set +a
[ -n "${THRESHOLD_TEST_POSTGRES_URL:-}" ] || { echo "run-topology: no PostgreSQL (see scripts/test-services.sh)" >&2; exit 1; }

NAME="topology_$$"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/threshold-topology-XXXXXX")"
SERVER=""

database() {  # create | drop
    "$PY" - "$1" "$THRESHOLD_TEST_POSTGRES_URL" "$NAME" <<'EOF'
import sys
import sqlalchemy as sa
what, url, name = sys.argv[1:]
engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
with engine.connect() as c:
    c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if what == "create":
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
print(url.rsplit("/", 1)[0] + "/" + name)
EOF
}

stop() {
    trap - INT TERM EXIT
    if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
        say "stopping the workers (pid $SERVER)"
        kill -TERM "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
    fi
    database drop >/dev/null 2>&1 || true
    rm -rf "$WORK"
    say "stopped; database $NAME dropped, $WORK removed"
}
trap stop INT TERM EXIT

export THRESHOLD_DATABASE_URL
THRESHOLD_DATABASE_URL="$(database create)"
export THRESHOLD_HOME="$WORK/home"
if [ -n "${THRESHOLD_TEST_S3_ENDPOINT:-}" ]; then
    export THRESHOLD_STORAGE__KIND=s3 THRESHOLD_STORAGE__ENDPOINT="$THRESHOLD_TEST_S3_ENDPOINT"
    export THRESHOLD_STORAGE__BUCKET="threshold-topology" THRESHOLD_STORAGE__PREFIX="$NAME"
    export THRESHOLD_STORAGE__ACCESS_KEY_ID=topology-key THRESHOLD_STORAGE__SECRET_ACCESS_KEY=topology-secret-value
    "$PY" - <<'EOF'
import os
from urllib.parse import urlparse
from pyarrow.fs import S3FileSystem
url = urlparse(os.environ["THRESHOLD_STORAGE__ENDPOINT"])
fs = S3FileSystem(access_key="topology-key", secret_key="topology-secret-value", endpoint_override=url.netloc,
                  scheme=url.scheme, allow_bucket_creation=True)
fs.create_dir(os.environ["THRESHOLD_STORAGE__BUCKET"])
EOF
    say "object store: moto_server at $THRESHOLD_TEST_S3_ENDPOINT, bucket threshold-topology, prefix $NAME"
else
    say "object store: none (no moto_server: make venv installs the dev extra); the warehouse is on local disk"
fi
say "PostgreSQL: database $NAME on the test cluster"

"$CLI" init 2>&1 | sed 's/^/  /' >&2
PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')"
"$CLI" user add try --admin --password "$PASSWORD" >/dev/null
"$CLI" domain add trial --owner try >/dev/null
if [ "${TOPOLOGY_DEMO:-0}" = 1 ]; then
    say "building the demo organisation"
    "$CLI" demo --no-serve >/dev/null
fi
say "sign in as 'try' (an administrator, owner of domain 'trial') with password $PASSWORD"
say "starting $WORKERS workers on port $PORT (Ctrl-C stops everything)"
"$CLI" serve --port "$PORT" --workers "$WORKERS" &
SERVER=$!
wait "$SERVER" || true
SERVER=""
