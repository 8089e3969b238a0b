#!/usr/bin/env bash
# A real PostgreSQL for the server's tests (issue 18: "the test setup installs and starts a
# real PostgreSQL by itself"). Debian's `postgresql` package, one cluster of our own:
#   data dir  /var/lib/gantry-test/pg (owned by the postgres user)
#   listens   127.0.0.1:55432 only (socket dir /var/lib/gantry-test/pg-run)
#   role      gantry / password gantry, CREATEDB (each test makes and drops its own database)
# => postgres://gantry:gantry@127.0.0.1:55432/postgres (test/helpers/postgres.ts uses it).
# Idempotent: a second run only checks that the cluster accepts connections. As root only;
# it never fails the caller: when PostgreSQL cannot come up it says why and exits 0, and the
# tests that need it skip naming the reason.
set -uo pipefail
STATE=/var/lib/gantry-test
DATA="$STATE/pg"
RUN="$STATE/pg-run"
PORT="${GANTRY_TEST_PG_PORT:-55432}"
LOG=/var/log/gantry-test-infra.log
PGLOG=/var/log/gantry-test-postgres.log
say() { echo "[postgres-setup] $*"; }

# A real query over TCP with the test role's password, not just a port check.
accepts() { PGPASSWORD=gantry PGCONNECT_TIMEOUT=3 psql -h 127.0.0.1 -p "$PORT" -U gantry -d postgres -Atqc 'select 1' >/dev/null 2>&1; }
# The binaries of the cluster's own major version when it has one, else the newest installed.
pg_bindir() {
  local v
  if [ -s "$DATA/PG_VERSION" ] && [ -x "/usr/lib/postgresql/$(cat "$DATA/PG_VERSION")/bin/postgres" ]; then v=$(cat "$DATA/PG_VERSION"); else v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1); fi
  [ -n "$v" ] && echo "/usr/lib/postgresql/$v/bin"
}

if command -v psql >/dev/null 2>&1 && accepts; then say "PostgreSQL up on 127.0.0.1:$PORT"; exit 0; fi
if [ "$(id -u)" != 0 ]; then say "not root: cannot install or start PostgreSQL"; exit 0; fi

if [ -z "$(pg_bindir)" ] || ! command -v psql >/dev/null 2>&1; then
  say "installing postgresql (apt)"
  # The package's own cluster (main, port 5432) is not needed: do not let it be created.
  mkdir -p /etc/postgresql-common
  grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf || echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql) >>"$LOG" 2>&1 || { say "apt-get install postgresql failed (see $LOG)"; exit 0; }
fi
BIN=$(pg_bindir)
[ -x "$BIN/initdb" ] || { say "no initdb under /usr/lib/postgresql"; exit 0; }
as_pg() { runuser -u postgres -- "$@"; }

mkdir -p "$STATE" "$RUN"
chown postgres:postgres "$RUN"
touch "$PGLOG" && chown postgres:postgres "$PGLOG"
# A cluster made by another major version than the binaries at hand: test data, made again.
if [ -s "$DATA/PG_VERSION" ] && [ "$BIN" != "/usr/lib/postgresql/$(cat "$DATA/PG_VERSION")/bin" ]; then
  say "the cluster in $DATA is PostgreSQL $(cat "$DATA/PG_VERSION"), not $(basename "$(dirname "$BIN")"): making it again"
  rm -rf "$DATA"
fi
if [ ! -s "$DATA/PG_VERSION" ]; then
  say "initdb $DATA"
  rm -rf "$DATA" && mkdir -p "$DATA" && chown postgres:postgres "$DATA" && chmod 700 "$DATA"
  pwfile=$(mktemp) && echo gantry >"$pwfile" && chown postgres "$pwfile"
  # The superuser is named gantry (password gantry); the cluster only listens on loopback.
  as_pg "$BIN/initdb" -D "$DATA" -U gantry --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-instructions >>"$LOG" 2>&1
  rc=$?
  rm -f "$pwfile"
  [ $rc = 0 ] || { say "initdb failed (see $LOG)"; exit 0; }
  cat >>"$DATA/postgresql.conf" <<CONF
# gantry test cluster
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$RUN'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
CONF
fi

if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  say "starting PostgreSQL on 127.0.0.1:$PORT"
  # setsid: the server must outlive this script and the test runner's process group.
  as_pg setsid "$BIN/pg_ctl" -D "$DATA" -l "$PGLOG" -w -t 60 start >>"$LOG" 2>&1 || say "pg_ctl start failed (see $PGLOG)"
fi
for _ in $(seq 1 60); do accepts && break; sleep 0.5; done
if accepts; then say "PostgreSQL up on 127.0.0.1:$PORT"; else say "PostgreSQL does not accept connections on 127.0.0.1:$PORT (see $PGLOG)"; fi
exit 0
