#!/bin/bash
# ci/rabbitmq-cluster.sh - a three-node RabbitMQ cluster on this machine, for the
# AMQP fail-over test (snf-common/tests/test_amqp_cluster.py).
#
# Usage: ci/rabbitmq-cluster.sh up|down|status|stop-node N
#
#   up      start the nodes that are not running and join nodes 2 and 3 to rmq1.
#           Idempotent: after a node was stopped (as the test does) `up` restarts
#           only that node, which rejoins with its own data.  Every wait is bounded.
#   down    stop only these three nodes, by their pid files, and delete their state
#           directory.  The normal RabbitMQ on 5672 (ci/services.sh) is never touched.
#   status  one line per node; exit 1 if one does not answer.
#   stop-node N  stop node N gracefully (rabbitmqctl stop), keeping its data: the
#           fail-over test uses it; `up` starts it again.
#
# Nodes: rmq1..3@localhost, AMQP on 127.0.0.1:5681..5683, Erlang distribution on
# 25681..25683, everything (config, mnesia, logs, pid files) under $STATE (default
# /var/lib/snf-rmq-test).  They run as user rabbitmq with the Erlang cookie of
# /var/lib/rabbitmq, so rabbitmqctl reaches them.  They read only their own config
# files (not /etc/rabbitmq/conf.d, which pins the normal node to 5672) and load no
# plugins.  Account (same facts as ci/test-env.sh): user synnefo/synnefo-test, vhost
# synnefo-test, created by the nodes themselves on first boot.
#
# Test URLs:
#   amqp://synnefo:synnefo-test@127.0.0.1:568N/synnefo-test   (N = 1, 2, 3)
set -euo pipefail

STATE=${SNF_RMQ_CLUSTER_DIR:-/var/lib/snf-rmq-test}
NODES=(1 2 3)
BASE_PORT=5680           # node N listens on BASE_PORT+N
DIST_BASE_PORT=25680     # and speaks Erlang distribution on DIST_BASE_PORT+N
# Bounds for a node that hangs, not measures: on a loaded machine (the CI runs the
# package stage beside the suites on two cores) a node boots in tens of seconds and
# every rabbitmqctl call, an Erlang VM of its own, takes 10-15 s.
WAIT_SECONDS=300         # upper bound for each node to boot
CTL_SECONDS=300          # upper bound for one rabbitmqctl call
USER_NAME=synnefo
USER_PASS=synnefo-test
VHOST=synnefo-test
RMQ_BIN=/usr/lib/rabbitmq/bin   # not the /usr/sbin wrappers: they write /var/log/rabbitmq/startup_log

LOG_TAG=rmq-cluster
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

node_name() { echo "rmq$1@localhost"; }
node_dir() { echo "$STATE/rmq$1"; }
pid_file() { echo "$(node_dir "$1")/rmq$1.pid"; }

# The node's environment; rabbitmq-server and rabbitmqctl must see the same one.
node_env() {
  local n=$1 d
  d=$(node_dir "$n")
  echo HOME=/var/lib/rabbitmq \
    RABBITMQ_NODENAME="$(node_name "$n")" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT=$((BASE_PORT + n)) \
    RABBITMQ_DIST_PORT=$((DIST_BASE_PORT + n)) \
    RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf" \
    RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
    RABBITMQ_CONFIG_FILES="$d/conf.d" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$d/mnesia" \
    RABBITMQ_LOG_BASE="$d/log" \
    RABBITMQ_PID_FILE="$(pid_file "$n")"
}

as_rabbitmq() {
  local n=$1
  shift
  # shellcheck disable=SC2046
  (cd /var/lib/rabbitmq && runuser -u rabbitmq -- env $(node_env "$n") "$@")
}

ctl() {  # ctl N SECONDS args...: rabbitmqctl against node N, bounded
  local n=$1 t=$2
  shift 2
  as_rabbitmq "$n" timeout "$t" "$RMQ_BIN/rabbitmqctl" -q -n "$(node_name "$n")" "$@"
}

pid_live() {
  local f pid
  f=$(pid_file "$1")
  [ -s "$f" ] || return 1
  pid=$(head -n1 "$f" | tr -dc '0-9')
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = beam.smp ] &&
    ! grep -q '^[^)]*) Z' "/proc/$pid/stat" 2>/dev/null
}

write_config() {
  local n=$1 d
  d=$(node_dir "$n")
  install -d -o rabbitmq -g rabbitmq -m 0750 "$d" "$d/conf.d" "$d/mnesia" "$d/log"
  : >"$d/rabbitmq-env.conf"
  echo '[].' >"$d/enabled_plugins"
  echo '[].' >"$d/advanced.config"
  cat >"$d/rabbitmq.conf" <<EOF
# Written by ci/rabbitmq-cluster.sh: test node $n of 3, loopback only.
listeners.tcp.default = 127.0.0.1:$((BASE_PORT + n))
default_user = $USER_NAME
default_pass = $USER_PASS
default_vhost = $VHOST
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
log.file.level = info
log.console = false
EOF
  chown rabbitmq:rabbitmq "$d"/rabbitmq.conf "$d"/rabbitmq-env.conf "$d"/enabled_plugins \
    "$d"/advanced.config
}

start_node() {
  local n=$1
  write_config "$n"
  rm -f "$(pid_file "$n")"
  log "starting $(node_name "$n") on 127.0.0.1:$((BASE_PORT + n))"
  as_rabbitmq "$n" "$RMQ_BIN/rabbitmq-server" -detached \
    </dev/null >>"$(node_dir "$n")/log/startup.log" 2>&1
}

wait_node() {
  local n=$1
  # `wait` needs the pid file, which the node writes a moment after -detached returns
  wait_for "$WAIT_SECONDS" "$(node_name "$n")'s pid file (see $(node_dir "$n")/log)" \
    test -s "$(pid_file "$n")"
  ctl "$n" $((WAIT_SECONDS + 5)) wait --timeout "$WAIT_SECONDS" "$(pid_file "$n")" >/dev/null ||
    die "$(node_name "$n") did not boot within $WAIT_SECONDS s; see $(node_dir "$n")/log"
}

members() {  # running cluster members as seen by node 1, one per line
  ctl 1 "$CTL_SECONDS" eval 'rabbit_nodes:all_running().' | tr -d "[]' " | tr ',' '\n'
}

join_node() {
  local n=$1
  log "joining $(node_name "$n") to $(node_name 1)"
  ctl "$n" "$CTL_SECONDS" stop_app
  if ! ctl "$n" "$CTL_SECONDS" join_cluster "$(node_name 1)" 2>/dev/null; then
    # left-over state of an earlier cluster: start from scratch
    ctl "$n" "$CTL_SECONDS" reset
    ctl "$n" "$CTL_SECONDS" join_cluster "$(node_name 1)" || die "$(node_name "$n") cannot join $(node_name 1)"
  fi
  ctl "$n" "$CTL_SECONDS" start_app
}

up() {
  local n started=()
  command -v runuser >/dev/null || die "runuser (util-linux) is missing"
  [ -x "$RMQ_BIN/rabbitmq-server" ] || die "rabbitmq-server is not installed (ci/services.sh up installs it)"
  install -d -m 0755 "$STATE"
  # On a machine where RabbitMQ never ran, the first node to boot writes the Erlang
  # cookie the others need: let node 1 do that alone.
  if [ ! -s /var/lib/rabbitmq/.erlang.cookie ] && ! pid_live 1; then
    start_node 1
    wait_node 1
  fi
  # Start every missing node at once: nodes of an existing cluster wait for each other.
  for n in "${NODES[@]}"; do
    if pid_live "$n"; then continue; fi
    start_node "$n"
    started+=("$n")
  done
  for n in "${started[@]}"; do wait_node "$n"; done
  local running
  running=$(members)
  for n in 2 3; do
    grep -qx "$(node_name "$n")" <<<"$running" || join_node "$n"
  done
  running=$(members)
  for n in "${NODES[@]}"; do
    grep -qx "$(node_name "$n")" <<<"$running" ||
      die "$(node_name "$n") is not a running cluster member: $(tr '\n' ' ' <<<"$running")"
  done
  log "cluster up: $(tr '\n' ' ' <<<"$running")(AMQP 127.0.0.1:$((BASE_PORT + 1))-$((BASE_PORT + ${#NODES[@]})))"
}

stop_node() {
  local n=$1 f pid
  f=$(pid_file "$n")
  [ -s "$f" ] || return 0
  pid=$(head -n1 "$f" | tr -dc '0-9')
  if pid_live "$n"; then
    log "stopping $(node_name "$n") (pid $pid)"
    ctl "$n" "$CTL_SECONDS" stop "$f" >/dev/null 2>&1 || true
    local _
    for _ in $(seq 50); do pid_live "$n" || break; sleep 0.2; done
    if pid_live "$n"; then
      log "$(node_name "$n") ignored stop; killing pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

down() {
  local n
  for n in "${NODES[@]}"; do stop_node "$n"; done
  # only our own directory, and only when it looks like ours
  for n in "${NODES[@]}"; do rm -rf "$(node_dir "$n")"; done
  rmdir "$STATE" 2>/dev/null || true
  log "cluster down"
}

status() {
  local n rc=0
  for n in "${NODES[@]}"; do
    if pid_live "$n" && ctl "$n" "$CTL_SECONDS" ping >/dev/null 2>&1; then
      echo "$(node_name "$n") running, AMQP 127.0.0.1:$((BASE_PORT + n))"
    else
      echo "$(node_name "$n") down"
      rc=1
    fi
  done
  return $rc
}

[ "$(id -u)" = 0 ] || die "run as root (the nodes run as user rabbitmq)"
# One change to the cluster at a time: several test runs may share the machine. A
# test that stops nodes holds this lock for its whole length and sets
# SNF_CI_RMQ_LOCKED, so that its own calls here do not wait for it.
case ${1:-} in
  up|down|stop-node)
    if [ -z "${SNF_CI_RMQ_LOCKED:-}" ]; then
      export SNF_CI_RMQ_LOCKED=1
      exec flock -o -w 1500 -E 75 /run/lock/snf-ci-rmq-cluster.lock "$BASH" "${BASH_SOURCE[0]}" "$@"
    fi ;;
esac
case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  stop-node)
    [[ ${2:-} =~ ^[123]$ ]] || die "stop-node needs a node number: 1, 2 or 3"
    stop_node "$2" ;;
  *) echo "usage: $0 up|down|status|stop-node N" >&2; exit 2 ;;
esac
