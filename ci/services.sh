#!/bin/bash
# ci/services.sh - the database and message-queue servers the tests use.
#
# Usage: ci/services.sh up|down|status [postgresql|mariadb|rabbitmq ...]
#        (no names = all three)
#
#   up      install the server package if missing, start the server (also
#           after a hard kill that left stale pid files), wait until it
#           answers (bounded) and create the test accounts.  Idempotent.
#   down    stop the servers through their init scripts (data is kept).
#   status  print the state of each server; exit 1 if one does not answer.
#
# What "up" provides (names and passwords come from ci/test-env.sh):
#   PostgreSQL 15  127.0.0.1:5432  role synnefo/synnefo-test (LOGIN CREATEDB),
#                                  database synnefo owned by it
#   MariaDB 10.11  127.0.0.1:3306  synnefo@localhost and synnefo@127.0.0.1
#                                  (synnefo-test), ALL on synnefo.* and test\_%.*,
#                                  InnoDB, READ-COMMITTED server-wide
#   RabbitMQ       127.0.0.1:5672  vhosts synnefo-test and synnefo-demo,
#                                  user synnefo/synnefo-test with full rights
#
# The machine has no systemd and policy-rc.d forbids apt to start services,
# so servers are started here through their init scripts (or pg_ctlcluster,
# which Debian's PostgreSQL init script calls).  Run as root.
# The per-server functions are called by name ("$(fn_for "$s")_up"), which shellcheck
# cannot follow:
# shellcheck disable=SC2317
set -euo pipefail

CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ci/test-env.sh
. "$CI_DIR/test-env.sh"
LOG_TAG=services
# shellcheck source=ci/lib.sh
. "$CI_DIR/lib.sh"

PG_VERSION=15
PG_CLUSTER=main
MYSQL_CONF=/etc/mysql/mariadb.conf.d/90-synnefo-test.cnf
RABBIT_CONF_DIR=/etc/rabbitmq/conf.d
RABBIT_CONF=$RABBIT_CONF_DIR/90-synnefo-test.conf
RABBIT_DEMO_VHOST=synnefo-demo
WAIT_SECONDS=60          # upper bound for every "wait until it answers"

# RabbitMQ account facts come from the URL, so there is one source of truth.
if [[ $SNF_TEST_AMQP_URL =~ ^amqp://([^:@/]+):([^@/]+)@[^/]+/(.+)$ ]]; then
  RABBIT_USER=${BASH_REMATCH[1]}
  RABBIT_PASS=${BASH_REMATCH[2]}
  RABBIT_VHOST=${BASH_REMATCH[3]}
else
  echo "services.sh: cannot parse SNF_TEST_AMQP_URL (want amqp://USER:PASS@HOST:PORT/VHOST)" >&2
  exit 2
fi

T_START=$(now)

# Replace FILE with the text on stdin only when it differs.  Returns 0 when
# the file changed, 1 when it was already up to date.
write_if_changed() {
  local f=$1 tmp
  tmp=$(mktemp)
  cat > "$tmp"
  if [ -f "$f" ] && cmp -s "$tmp" "$f"; then rm -f "$tmp"; return 1; fi
  mkdir -p "$(dirname "$f")"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$f"
  return 0
}

# True if the pid in FILE belongs to a live process whose command name is
# NAME.  After a hard kill the pid may be reused by something else, or be a
# zombie that PID 1 has not reaped yet (PostgreSQL refuses to start while
# its lock file names a zombie), so both count as dead.
pidfile_live() {
  local pid stat
  [ -s "$1" ] || return 1
  pid=$(head -n1 "$1" | tr -dc '0-9')
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && grep -qx "$2" "/proc/$pid/comm" || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }            # fields after "(comm) "; the first is the state
  [ "${stat%% *}" != Z ]
}

# --- PostgreSQL -------------------------------------------------------------
pg_data_dir() { echo "/var/lib/postgresql/$PG_VERSION/$PG_CLUSTER"; }
pg_running() { pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1; }
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 -t 1; }
# cd /: the caller's directory may be closed to the postgres user.
psql_admin() { (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p 5432 "$@"); }

pg_up() {
  local t0 pidf
  t0=$(now)
  if ! pg_lsclusters -h | awk '{print $1 "/" $2}' | grep -qx "$PG_VERSION/$PG_CLUSTER"; then
    log "postgresql: creating cluster $PG_VERSION/$PG_CLUSTER"
    pg_createcluster "$PG_VERSION" "$PG_CLUSTER" --port 5432 >/dev/null
  fi
  local port
  port=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c {print $3}')
  [ "$port" = 5432 ] || die "postgresql: cluster $PG_VERSION/$PG_CLUSTER uses port $port, not 5432"
  # Password login over TCP from 127.0.0.1 is Debian's default; make sure a
  # local edit did not turn it off.
  local hba=/etc/postgresql/$PG_VERSION/$PG_CLUSTER/pg_hba.conf
  if ! grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+(scram-sha-256|md5)' "$hba"; then
    log "postgresql: adding password login for 127.0.0.1 to $hba"
    sed -i '1i host all all 127.0.0.1/32 scram-sha-256  # ci/services.sh' "$hba"
    pg_running && pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" reload
  fi
  if pg_running && pg_ready; then
    log "postgresql: already running"
  else
    # postgres ignores lock files of dead pids itself, but not of a pid
    # that was reused by another process after a hard kill.
    for pidf in "$(pg_data_dir)/postmaster.pid" /var/run/postgresql/.s.PGSQL.5432.lock; do
      if [ -e "$pidf" ] && ! pidfile_live "$pidf" postgres; then
        log "postgresql: removing stale $pidf"
        rm -f "$pidf"
      fi
    done
    log "postgresql: starting $PG_VERSION/$PG_CLUSTER"
    timeout "$WAIT_SECONDS" pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
  fi
  wait_for "$WAIT_SECONDS" "postgresql on 127.0.0.1:5432 to answer" pg_ready
  # Role and database; the password is set again each time so that a
  # changed test-env.sh takes effect.
  psql_admin -d postgres \
    -v user="$SNF_TEST_PG_USER" -v pass="$SNF_TEST_PG_PASSWORD" -v db="$SNF_TEST_PG_NAME" <<'SQL'
SELECT format('CREATE ROLE %I', :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
ALTER ROLE :"user" LOGIN CREATEDB PASSWORD :'pass';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO :"user";
SQL
  log "postgresql: ready on 127.0.0.1:5432 ($(elapsed "$t0") s)"
}

pg_down() {
  if pkg_installed "postgresql-$PG_VERSION" && pg_running; then
    log "postgresql: stopping"
    timeout "$WAIT_SECONDS" pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop -m fast
  else
    log "postgresql: not running"
  fi
}

pg_status() {
  if pkg_installed "postgresql-$PG_VERSION" && pg_ready; then
    echo "postgresql: up (127.0.0.1:5432)"
  else
    echo "postgresql: DOWN"; return 1
  fi
}

# --- MariaDB ----------------------------------------------------------------
mysql_admin() { mariadb --protocol=socket -uroot; }
mysql_ready() { mariadb-admin --protocol=socket -uroot --connect-timeout=1 ping; }
mysql_tcp_ready() {
  MYSQL_PWD=$SNF_TEST_MYSQL_PASSWORD mariadb-admin -h 127.0.0.1 -P 3306 \
    -u "$SNF_TEST_MYSQL_USER" --connect-timeout=1 ping
}

mysql_write_conf() {
  write_if_changed "$MYSQL_CONF" <<'EOF'
# Written by ci/services.sh for the Synnefo test suite.
[mysqld]
bind-address = 127.0.0.1
port = 3306
default-storage-engine = InnoDB
transaction-isolation = READ-COMMITTED
EOF
}

mysql_up() {
  local t0 conf_changed=0
  t0=$(now)
  mysql_write_conf && conf_changed=1
  if mysql_ready >/dev/null 2>&1; then
    if ((conf_changed)); then
      log "mariadb: configuration changed, restarting"
      timeout "$WAIT_SECONDS" /etc/init.d/mariadb restart >/dev/null
    else
      log "mariadb: already running"
    fi
  else
    # After a hard kill /run/mysqld/mysqld.pid names a dead (or reused) pid,
    # which makes the init script believe mariadbd is still there.
    if [ -e /run/mysqld/mysqld.pid ] && ! pidfile_live /run/mysqld/mysqld.pid mariadbd; then
      log "mariadb: removing stale /run/mysqld/mysqld.pid"
      rm -f /run/mysqld/mysqld.pid
    fi
    log "mariadb: starting"
    timeout "$WAIT_SECONDS" /etc/init.d/mariadb start >/dev/null
  fi
  wait_for "$WAIT_SECONDS" "mariadb (socket) to answer" mysql_ready
  local u=$SNF_TEST_MYSQL_USER p=$SNF_TEST_MYSQL_PASSWORD db=$SNF_TEST_MYSQL_NAME h
  {
    printf "CREATE DATABASE IF NOT EXISTS \`%s\` CHARACTER SET utf8mb4;\n" "$db"
    for h in localhost 127.0.0.1; do
      printf "CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s';\n" "$u" "$h" "$p"
      printf "ALTER USER '%s'@'%s' IDENTIFIED BY '%s';\n" "$u" "$h" "$p"
      printf "GRANT ALL PRIVILEGES ON \`%s\`.* TO '%s'@'%s';\n" "$db" "$u" "$h"
      # Django's test runner creates and drops test_<name> databases.
      printf "GRANT ALL PRIVILEGES ON \`test\\\\_%%\`.* TO '%s'@'%s';\n" "$u" "$h"
    done
  } | mysql_admin
  wait_for "$WAIT_SECONDS" "mariadb on 127.0.0.1:3306 to answer" mysql_tcp_ready
  log "mariadb: ready on 127.0.0.1:3306 ($(elapsed "$t0") s)"
}

mysql_down() {
  if pkg_installed mariadb-server && mysql_ready >/dev/null 2>&1; then
    log "mariadb: stopping"
    timeout "$WAIT_SECONDS" /etc/init.d/mariadb stop >/dev/null
  else
    log "mariadb: not running"
  fi
}

mysql_status() {
  if pkg_installed mariadb-server && mysql_tcp_ready >/dev/null 2>&1; then
    echo "mariadb: up (127.0.0.1:3306)"
  else
    echo "mariadb: DOWN"; return 1
  fi
}

# --- RabbitMQ ---------------------------------------------------------------
# rabbitmqctl boots an Erlang VM (~0.5 s a call), so calls are kept few.
rabbit_pidfile=/var/run/rabbitmq/pid
rabbit_ping() { timeout 15 rabbitmqctl -q ping; }
rabbit_tcp_ready() { timeout 2 bash -c ': </dev/tcp/127.0.0.1/5672'; }

rabbit_write_conf() {
  write_if_changed "$RABBIT_CONF" <<'EOF'
# Written by ci/services.sh for the Synnefo test suite: AMQP on loopback only.
listeners.tcp.default = 127.0.0.1:5672
EOF
}

# A broker that runs without its pid file (lost while a stop was under way) cannot be
# stopped by the init script, which then waits for ever: write the file back.
rabbit_recover_pidfile() {
  local pid
  pidfile_live "$rabbit_pidfile" beam.smp 2>/dev/null && return 0
  rabbit_tcp_ready >/dev/null 2>&1 || return 0
  pid=$(timeout 15 rabbitmqctl -q eval 'list_to_integer(os:getpid()).' 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  log "rabbitmq: runs as pid $pid without $rabbit_pidfile; writing it back"
  mkdir -p "$(dirname "$rabbit_pidfile")"
  echo "$pid" > "$rabbit_pidfile"
  chown rabbitmq: "$rabbit_pidfile" 2>/dev/null || true
}

rabbit_up() {
  local t0 conf_changed=0
  t0=$(now)
  rabbit_write_conf && conf_changed=1
  rabbit_recover_pidfile
  if [ -s "$rabbit_pidfile" ] && pidfile_live "$rabbit_pidfile" beam.smp && rabbit_ping >/dev/null 2>&1; then
    if ((conf_changed)); then
      log "rabbitmq: configuration changed, restarting"
      timeout 120 /etc/init.d/rabbitmq-server restart >/dev/null
    else
      log "rabbitmq: already running"
    fi
  else
    if [ -e "$rabbit_pidfile" ] && ! pidfile_live "$rabbit_pidfile" beam.smp; then
      log "rabbitmq: removing stale $rabbit_pidfile"
      rm -f "$rabbit_pidfile"
    fi
    log "rabbitmq: starting"
    # The init script waits for the node itself (its own limit is 600 s).
    timeout 120 /etc/init.d/rabbitmq-server start >/dev/null ||
      die "rabbitmq did not start; see /var/log/rabbitmq/"
  fi
  wait_for "$WAIT_SECONDS" "rabbitmq on 127.0.0.1:5672 to answer" rabbit_tcp_ready
  rabbit_accounts
  log "rabbitmq: ready on 127.0.0.1:5672 ($(elapsed "$t0") s)"
}

# Vhosts, user and permissions in one rabbitmqctl call: import_definitions
# adds or updates, and never removes anything else.
rabbit_accounts() {
  local defs
  defs=$(mktemp --suffix=.json)
  RABBIT_PASS=$RABBIT_PASS /usr/bin/python3 "$CI_DIR/rabbit_definitions.py" \
    "$RABBIT_USER" "$RABBIT_VHOST" "$RABBIT_DEMO_VHOST" > "$defs"
  # The broker itself (user rabbitmq) reads the file.
  chown rabbitmq: "$defs"; chmod 0600 "$defs"
  if ! timeout 60 rabbitmqctl -q import_definitions "$defs" >/dev/null; then
    rm -f "$defs"
    die "rabbitmq: importing the vhosts/user definitions failed"
  fi
  rm -f "$defs"
}

rabbit_down() {
  if pkg_installed rabbitmq-server && [ -s "$rabbit_pidfile" ] && pidfile_live "$rabbit_pidfile" beam.smp; then
    log "rabbitmq: stopping"
    timeout 120 /etc/init.d/rabbitmq-server stop >/dev/null
  else
    log "rabbitmq: not running"
  fi
  # The broker started epmd; stop it too unless another Erlang node uses it.
  local names
  names=$(timeout 5 epmd -names 2>/dev/null || true)
  if [[ $names == "epmd: up"* && $names != *$'\n'"name "* ]]; then
    timeout 5 epmd -kill >/dev/null 2>&1 || true
  fi
}

rabbit_status() {
  if pkg_installed rabbitmq-server && rabbit_tcp_ready >/dev/null 2>&1; then
    echo "rabbitmq: up (127.0.0.1:5672)"
  else
    echo "rabbitmq: DOWN"; return 1
  fi
}

# --- main -------------------------------------------------------------------
usage() {
  echo "usage: $0 up|down|status [postgresql|mariadb|rabbitmq ...]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
action=$1; shift
services=("$@")
((${#services[@]})) || services=(postgresql mariadb rabbitmq)
for s in "${services[@]}"; do
  case $s in postgresql|mariadb|rabbitmq) ;; *) echo "unknown service: $s" >&2; usage ;; esac
done
case $action in up|down|status) ;; *) usage ;; esac
[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts servers)"
# Several test runs may share the machine: one up/down at a time.
# flock -o keeps the lock in flock itself, so servers started here do not
# inherit (and hold) it.
if [ "$action" != status ] && [ -z "${SNF_CI_SERVICES_LOCKED:-}" ]; then
  export SNF_CI_SERVICES_LOCKED=1
  exec flock -o -w 300 -E 75 /run/lock/snf-ci-services.lock "$BASH" "${BASH_SOURCE[0]}" "$action" "${services[@]}"
fi

# Packages the named services need (one apt-get run for all of them).
packages_for() {
  case $1 in
    postgresql) echo "postgresql-$PG_VERSION postgresql-client-$PG_VERSION" ;;
    mariadb) echo "mariadb-server mariadb-client" ;;
    rabbitmq) echo "rabbitmq-server python3" ;;   # python3 hashes the password
  esac
}
fn_for() {
  case $1 in postgresql) echo pg ;; mariadb) echo mysql ;; rabbitmq) echo rabbit ;; esac
}

rc=0
case $action in
  status)
    for s in "${services[@]}"; do "$(fn_for "$s")_status" || rc=1; done ;;
  down)
    for s in "${services[@]}"; do "$(fn_for "$s")_down"; done ;;
  up)
    pkgs=()
    for s in "${services[@]}"; do read -ra p <<< "$(packages_for "$s")"; pkgs+=("${p[@]}"); done
    ensure_packages "${pkgs[@]}"
    # The servers start in parallel (RabbitMQ alone needs ~5 s); each runs in
    # its own subshell with set -e and reports through its exit status.
    declare -A pids=()
    for s in "${services[@]}"; do
      ( "$(fn_for "$s")_up" ) &
      pids[$s]=$!
    done
    for s in "${services[@]}"; do
      wait "${pids[$s]}" || { log "ERROR: $s did not come up"; rc=1; }
    done ;;
esac
[ "$action" = status ] || log "$action finished in $(elapsed "$T_START") s"
exit $rc
