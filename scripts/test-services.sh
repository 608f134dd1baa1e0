#!/usr/bin/env bash
# Make sure the services the test suite needs exist, then write ./.test-env.
#
#   * Chromium at /usr/bin/chromium (Debian package; Playwright drives it with
#     executable_path=/usr/bin/chromium -- never `playwright install`).
#   * A PostgreSQL database for the tests marked `postgres`, exported as
#     THRESHOLD_TEST_POSTGRES_URL in .test-env. In order of preference:
#       1. THRESHOLD_TEST_POSTGRES_URL already set and reachable;
#       2. a server on 127.0.0.1:5432 that accepts a known role without a password;
#       3. a private throwaway cluster (initdb) on 127.0.0.1:$PG_PORT, data in $PG_DIR,
#          reused when it is already running.
#     If none works, a loud warning is printed and no URL is written: the
#     postgres-marked tests then skip with a reason.
#
#   * A MariaDB server for the databases-as-sources tests (tests/connectors), exported as
#     THRESHOLD_TEST_MARIADB_URL: `mariadb-server` apt-installed when missing, started as a private
#     instance (its own data dir, port and socket) and reused when already running. Without it those
#     tests skip with a reason.
#   * mdbtools (mdb-tables, mdb-schema, mdb-export) for Access files as sources, and an Access file
#     to read (from the npm package node-adodb, MIT), exported as THRESHOLD_TEST_ACCESS_FILE.
#
# Idempotent and fast when everything is present. Usage: bash scripts/test-services.sh
# Environment knobs: THRESHOLD_TEST_PG_PORT (54329), THRESHOLD_TEST_PG_DIR (/tmp/threshold-pg-$UID),
# THRESHOLD_TEST_MARIADB_PORT (33069), THRESHOLD_TEST_MARIADB_DIR (/tmp/threshold-mariadb-$UID).
# THRESHOLD_TEST_S3_PORT (54331), THRESHOLD_TEST_S3_DIR (/tmp/threshold-s3-$UID).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_FILE="$ROOT/.test-env"
PG_PORT="${THRESHOLD_TEST_PG_PORT:-54329}"
PG_DIR="${THRESHOLD_TEST_PG_DIR:-/tmp/threshold-pg-$(id -u)}"
PG_DB="threshold_test"
PG_SOCKET_DIR="/tmp"

say() { printf '[test-services] %s\n' "$*" >&2; }
warn() {
    printf '\n[test-services] !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
    printf '[test-services] WARNING: %s\n' "$@" >&2
    printf '[test-services] !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
}

# ---------------------------------------------------------------- privileges / apt
APT_OK=1
if [ "$(id -u)" -eq 0 ]; then
    AS_ROOT=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    AS_ROOT=(sudo -n)
else
    AS_ROOT=()
    APT_OK=0
fi

APT_UPDATED=0
apt_install() {  # apt_install PACKAGE...
    if [ "$APT_OK" -ne 1 ]; then
        say "not root and no passwordless sudo: skipping 'apt-get install $*'"
        return 1
    fi
    local pkg need_update=0
    for pkg in "$@"; do
        # No candidate version means the package lists are missing or stale.
        if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]'; then
            need_update=1
        fi
    done
    if [ "$need_update" -eq 1 ] && [ "$APT_UPDATED" -eq 0 ]; then
        say "apt-get update"
        "${AS_ROOT[@]}" apt-get update -qq || return 1
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq "$@" >/dev/null || return 1
}

# ---------------------------------------------------------------- Chromium
if [ -x /usr/bin/chromium ]; then
    say "chromium: /usr/bin/chromium"
else
    apt_install chromium || true
    if [ -x /usr/bin/chromium ]; then
        say "chromium: installed /usr/bin/chromium"
    else
        warn "Chromium is not available at /usr/bin/chromium; browser tests cannot run." \
             "Install it with: apt-get install chromium"
    fi
fi

# ---------------------------------------------------------------- clients of the PostgreSQL front door
# tests/pgwire drives a real JDBC driver and psqlODBC through the front door (they skip without them).
if command -v java >/dev/null && [ -f /usr/share/java/postgresql.jar ] && command -v isql >/dev/null \
        && [ -n "$(find /usr/lib -name psqlodbcw.so -print -quit 2>/dev/null)" ]; then
    say "front-door clients: java + pgjdbc, isql + psqlODBC"
else
    apt_install default-jdk-headless libpostgresql-jdbc-java unixodbc odbc-postgresql \
        || warn "the JDBC and ODBC clients could not be installed; tests/pgwire skips those two tests."
fi

# ---------------------------------------------------------------- PostgreSQL
# SQLAlchemy URL (postgresql+psycopg://...) -> libpq URL (postgresql://...)
libpq_url() { printf '%s' "$1" | sed -E 's#^postgres(ql)?(\+[a-z0-9_]+)?://#postgresql://#'; }

# pg_ok URL [SQL]: succeeds when the server at URL accepts the connection (and runs SQL).
pg_ok() {
    local url sql py
    url="$(libpq_url "$1")"
    sql="${2:-select 1}"
    if command -v psql >/dev/null 2>&1; then
        PGCONNECT_TIMEOUT=3 psql "$url" -XqtA -v ON_ERROR_STOP=1 -c "$sql" >/dev/null 2>&1
        return
    fi
    for py in "$ROOT/.venv/bin/python" python3; do
        if "$py" -c 'import psycopg' >/dev/null 2>&1; then
            "$py" - "$url" "$sql" >/dev/null 2>&1 <<'EOF'
import sys, psycopg
with psycopg.connect(sys.argv[1], connect_timeout=3, autocommit=True) as c:
    c.execute(sys.argv[2])
EOF
            return
        fi
    done
    return 1
}

# ensure_db HOST PORT ROLE: the server accepts ROLE; create $PG_DB when missing. Prints the URL.
ensure_db() {
    local host="$1" port="$2" role="$3" admin
    admin="postgresql://$role@$host:$port/postgres"
    pg_ok "$admin" || return 1
    if ! pg_ok "postgresql://$role@$host:$port/$PG_DB"; then
        pg_ok "$admin" "create database $PG_DB" || return 1
    fi
    printf 'postgresql+psycopg://%s@%s:%s/%s' "$role" "$host" "$port" "$PG_DB"
}

pg_bindir() {
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && printf '%s' "$d"
}

# run_pg CMD...: run as the cluster owner (PostgreSQL refuses to run as root).
run_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

private_cluster() {
    local bin owner url
    # Already running (this clone's, another clone's, an earlier run's): reuse it.
    if url="$(ensure_db 127.0.0.1 "$PG_PORT" postgres)"; then
        say "postgres: reusing the private cluster on 127.0.0.1:$PG_PORT"
        printf '%s' "$url"
        return 0
    fi
    bin="$(pg_bindir)"
    if [ -z "$bin" ]; then
        apt_install postgresql || true
        bin="$(pg_bindir)"
    fi
    if [ -z "$bin" ]; then
        say "postgres: no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
        return 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        if ! id postgres >/dev/null 2>&1; then
            say "postgres: no 'postgres' OS user to own the cluster"
            return 1
        fi
        owner=postgres
    else
        owner="$(id -un)"
    fi

    # A data dir from an interrupted initdb (no marker) is thrown away.
    if [ -d "$PG_DIR" ] && [ ! -f "$PG_DIR/.threshold-ready" ]; then
        rm -rf "$PG_DIR"
    fi
    if [ ! -d "$PG_DIR" ]; then
        say "postgres: initdb $PG_DIR (owner $owner, $(basename "$(dirname "$bin")"))"
        mkdir -p "$PG_DIR" && chmod 700 "$PG_DIR" && chown "$owner" "$PG_DIR" || return 1
        run_pg "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale \
            >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
        cat >>"$PG_DIR/data/postgresql.conf" <<EOF

# threshold test cluster
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
        run_pg touch "$PG_DIR/.threshold-ready"
    fi

    say "postgres: starting the private cluster on 127.0.0.1:$PG_PORT (log $PG_DIR/postgres.log)"
    # pg_ctl detaches the server (its own session), so it outlives this script and its caller.
    if ! run_pg "$bin/pg_ctl" -D "$PG_DIR/data" -o "-p $PG_PORT -k $PG_SOCKET_DIR" \
            -l "$PG_DIR/postgres.log" -w -t 60 start >/dev/null </dev/null; then
        tail -n 20 "$PG_DIR/postgres.log" >&2 2>/dev/null
        return 1
    fi
    local i
    for i in $(seq 1 60); do
        if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; then break; fi
        sleep 0.5
    done
    ensure_db 127.0.0.1 "$PG_PORT" postgres
}

find_postgres() {
    local url role
    if [ -n "${THRESHOLD_TEST_POSTGRES_URL:-}" ]; then
        if pg_ok "$THRESHOLD_TEST_POSTGRES_URL"; then
            say "postgres: using THRESHOLD_TEST_POSTGRES_URL from the environment"
            printf '%s' "$THRESHOLD_TEST_POSTGRES_URL"
            return 0
        fi
        say "postgres: THRESHOLD_TEST_POSTGRES_URL is set but not reachable; looking further"
    fi
    for role in postgres "$(id -un)"; do
        if url="$(ensure_db 127.0.0.1 5432 "$role")"; then
            say "postgres: using the server on 127.0.0.1:5432 as role $role"
            printf '%s' "$url"
            return 0
        fi
    done
    private_cluster
}

PG_URL="$(find_postgres)" || PG_URL=""

# ---------------------------------------------------------------- mdbtools (Access files as sources)
if command -v mdb-export >/dev/null && command -v mdb-schema >/dev/null && command -v mdb-tables >/dev/null; then
    say "mdbtools: $(command -v mdb-export)"
else
    apt_install mdbtools || warn "mdbtools could not be installed; the Access tests of tests/connectors skip."
fi

# ---------------------------------------------------------------- an Access file (from a package)
# The Access tests read a real .mdb file. None ships in a Debian or PyPI package, and nothing here can
# write one, so it comes from a package on the npm registry: `node-adodb` 5.0.3 (MIT licence) carries
# examples/node-adodb.mdb (Jet 4, one table `Users`). Fetched once, checked against the registry's
# SHA-1 of the tarball, kept in the user's cache. Without it the Access tests skip with a reason.
ACCESS_FILE=""
fetch_access_file() {
    local cache="${XDG_CACHE_HOME:-$HOME/.cache}/threshold-test-data"
    local target="$cache/node-adodb-5.0.3.mdb"
    if [ -s "$target" ]; then
        ACCESS_FILE="$target"
        return 0
    fi
    mkdir -p "$cache" || return 1
    local registry="https://registry.npmjs.org"
    if command -v npm >/dev/null 2>&1; then
        registry="$(npm config get registry 2>/dev/null | sed 's:/*$::')" || registry="https://registry.npmjs.org"
    fi
    python3 - "$registry/node-adodb/-/node-adodb-5.0.3.tgz" "$target" <<'PY' || return 1
import hashlib, io, os, sys, tarfile, urllib.request
url, target = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(url, timeout=60) as answer:
    data = answer.read(5_000_000)
if hashlib.sha1(data).hexdigest() != "bdf074a474a6b5374b407323efe8661b05e952b4":
    sys.exit(f"{url}: not the published tarball (SHA-1 differs)")
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
    member = archive.extractfile("package/examples/node-adodb.mdb")
    body = member.read() if member else b""
if not body:
    sys.exit(f"{url}: examples/node-adodb.mdb is missing")
with open(target + ".part", "wb") as out:
    out.write(body)
os.replace(target + ".part", target)
PY
    ACCESS_FILE="$target"
}
if fetch_access_file; then
    say "access file: $ACCESS_FILE"
else
    warn "The Access test file (npm package node-adodb) could not be fetched; the Access tests of tests/connectors skip."
fi

# ---------------------------------------------------------------- MariaDB (databases as sources)
MY_PORT="${THRESHOLD_TEST_MARIADB_PORT:-33069}"
MY_DIR="${THRESHOLD_TEST_MARIADB_DIR:-/tmp/threshold-mariadb-$(id -u)}"
MY_USER="threshold"
MY_PASSWORD="threshold-test"   # a throwaway test server on 127.0.0.1 only
MY_DB="threshold_src"

mariadb_ok() {
    command -v mariadb >/dev/null 2>&1 || return 1
    mariadb --protocol=tcp -h 127.0.0.1 -P "$MY_PORT" -u "$MY_USER" -p"$MY_PASSWORD" --connect-timeout=3 \
        -e "select 1" "$MY_DB" >/dev/null 2>&1
}

start_mariadb() {
    local owner sock i
    if mariadb_ok; then
        say "mariadb: reusing the private instance on 127.0.0.1:$MY_PORT"
        return 0
    fi
    if [ ! -x /usr/sbin/mariadbd ]; then
        apt_install mariadb-server || return 1
    fi
    owner="$(id -un)"
    [ "$(id -u)" -eq 0 ] && owner=mysql
    sock="$MY_DIR/mysqld.sock"
    if [ -d "$MY_DIR" ] && [ ! -f "$MY_DIR/.threshold-ready" ]; then
        rm -rf "$MY_DIR"
    fi
    if [ ! -d "$MY_DIR/data" ]; then
        say "mariadb: initialising $MY_DIR"
        mkdir -p "$MY_DIR/data" && chown -R "$owner" "$MY_DIR" || return 1
        mariadb-install-db --user="$owner" --datadir="$MY_DIR/data" --auth-root-authentication-method=socket \
            --skip-test-db >"$MY_DIR/install.log" 2>&1 || { tail -n 20 "$MY_DIR/install.log" >&2; return 1; }
    fi
    say "mariadb: starting the private instance on 127.0.0.1:$MY_PORT (log $MY_DIR/mariadb.log)"
    # Detached (its own session) so that it outlives this script, like the PostgreSQL cluster.
    setsid /usr/sbin/mariadbd --no-defaults --user="$owner" --datadir="$MY_DIR/data" --port="$MY_PORT" \
        --bind-address=127.0.0.1 --socket="$sock" --pid-file="$MY_DIR/mariadb.pid" \
        --log-error="$MY_DIR/mariadb.log" --skip-name-resolve --innodb-buffer-pool-size=64M \
        --skip-log-bin </dev/null >/dev/null 2>&1 &
    for i in $(seq 1 60); do
        if mariadb --socket="$sock" -u root -e "select 1" >/dev/null 2>&1; then break; fi
        sleep 0.5
    done
    printf '%s\n' \
        "CREATE DATABASE IF NOT EXISTS $MY_DB;" \
        "CREATE USER IF NOT EXISTS '$MY_USER'@'127.0.0.1' IDENTIFIED BY '$MY_PASSWORD';" \
        "GRANT ALL ON $MY_DB.* TO '$MY_USER'@'127.0.0.1';" \
        | mariadb --socket="$sock" -u root >/dev/null 2>&1 || { tail -n 20 "$MY_DIR/mariadb.log" >&2; return 1; }
    touch "$MY_DIR/.threshold-ready"
    mariadb_ok
}

if start_mariadb; then
    MY_URL="mysql://$MY_USER:$MY_PASSWORD@127.0.0.1:$MY_PORT/$MY_DB"
    say "mariadb: mysql://$MY_USER@127.0.0.1:$MY_PORT/$MY_DB"
else
    MY_URL=""
    warn "MariaDB could not be started; the MariaDB tests of tests/connectors will SKIP."
fi

# ---------------------------------------------------------------- S3 (moto_server)
# A local S3-compatible server for tests/storage and THRESHOLD_TEST_WAREHOUSE=s3, exported as
# THRESHOLD_TEST_S3_ENDPOINT. Like the PostgreSQL cluster, one per user on a fixed port, reused by every
# clone while it answers (tests keep to their own bucket prefixes), else started (pid and log in $S3_DIR):
# a server per clone would outlive each clone. moto keeps objects in memory: a restart starts empty.
S3_PORT="${THRESHOLD_TEST_S3_PORT:-54331}"
S3_DIR="${THRESHOLD_TEST_S3_DIR:-/tmp/threshold-s3-$(id -u)}"
s3_ok() {
    "$ROOT/.venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=3).read()' \
        "$1" >/dev/null 2>&1
}
find_s3() {
    local port url i
    if [ ! -x "$ROOT/.venv/bin/moto_server" ]; then
        say "s3: no moto_server in .venv (make venv installs moto[server])"
        return 1
    fi
    port="$S3_PORT"
    url="http://127.0.0.1:$port"
    if s3_ok "$url"; then
        say "s3: reusing moto_server at $url"
        printf '%s' "$url"
        return 0
    fi
    mkdir -p "$S3_DIR"
    say "s3: starting moto_server on $url (log $S3_DIR/moto.log)"
    # setsid: the server outlives this script and its caller, as the PostgreSQL cluster does.
    setsid "$ROOT/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$S3_DIR/moto.log" 2>&1 </dev/null &
    echo $! >"$S3_DIR/pid"
    for i in $(seq 1 60); do
        if s3_ok "$url"; then
            printf '%s' "$url"
            return 0
        fi
        sleep 0.5
    done
    tail -n 20 "$S3_DIR/moto.log" >&2 2>/dev/null
    return 1
}
S3_URL="$(find_s3)" || S3_URL=""

tmp="$ENV_FILE.tmp.$$"
{
    echo "# Written by scripts/test-services.sh; sourced by 'make test'. Do not commit."
    if [ -n "$PG_URL" ]; then
        echo "export THRESHOLD_TEST_POSTGRES_URL=$PG_URL"
    else
        echo "# No PostgreSQL available: tests marked 'postgres' skip."
        echo "unset THRESHOLD_TEST_POSTGRES_URL"
    fi
    if [ -n "$MY_URL" ]; then
        echo "export THRESHOLD_TEST_MARIADB_URL=$MY_URL"
    else
        echo "unset THRESHOLD_TEST_MARIADB_URL"
    fi
    if [ -n "$ACCESS_FILE" ]; then
        echo "export THRESHOLD_TEST_ACCESS_FILE=$ACCESS_FILE"
    else
        echo "unset THRESHOLD_TEST_ACCESS_FILE"
    fi
    if [ -n "$S3_URL" ]; then
        echo "export THRESHOLD_TEST_S3_ENDPOINT=$S3_URL"
    else
        echo "# No S3 server available: tests/storage skips."
        echo "unset THRESHOLD_TEST_S3_ENDPOINT"
    fi
} >"$tmp" && mv -f "$tmp" "$ENV_FILE"

if [ -n "$PG_URL" ]; then
    say "postgres: $PG_URL"
else
    warn "PostgreSQL could not be made available; tests marked 'postgres' will SKIP." \
         "Set THRESHOLD_TEST_POSTGRES_URL, or install the 'postgresql' package and re-run."
fi
if [ -n "$S3_URL" ]; then
    say "s3: $S3_URL"
else
    warn "No local S3 server (moto_server); tests/storage will SKIP." "Run 'make venv' (installs moto[server]) and re-run."
fi
say "wrote $ENV_FILE"
exit 0
