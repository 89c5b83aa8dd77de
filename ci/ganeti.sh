#!/bin/bash
# ci/ganeti.sh - a real single-node Ganeti 3.0 cluster (fake hypervisor) for
# integration tests and the demo, on Debian 12, without systemd, sshd, LVM
# or DRBD.  Run as root.
#
# Usage: ci/ganeti.sh up|down|destroy|status|smoke [NAME [TEMPLATE]]|exec CMD...
#   up       install packages if needed, create the namespaces, initialise
#            the cluster (first time) or start its daemons (later), write the
#            OS definitions and the RAPI user, wait until RAPI answers.
#            Idempotent; also recovers after every process was killed.
#   down     stop the Ganeti daemons; cluster, namespaces and files stay.
#   destroy  remove instances, gnt-cluster destroy, remove the namespaces,
#            the /etc/hosts block and the OS definitions (hook dirs stay).
#   status   daemons and GET /2/info; exit 1 when RAPI does not answer.
#   smoke    create/shutdown/startup/reboot/remove one instance via RAPI
#            (TEMPLATE: diskless (default), file or sharedfile; ci/rapi.py).
#   exec     run a command inside the cluster's namespaces, e.g.
#            ci/ganeti.sh exec gnt-instance list
#
# The cluster lives in network namespace "gnt" and a private UTS namespace
# (hostname node1.ganeti.test).  The host reaches it over a veth pair:
#
#   host  gnt-host 10.251.0.1/24  <== veth ==>  gnt-node 10.251.0.2/24 (node)
#                                               + 10.251.0.10/24 (master IP)
#   inside the namespace: bridge gnt-br0 (NIC link for instances, no ports)
#
# Nothing leaves the veth pair: the namespace has no default route and the
# host does not forward.  RAPI: https://10.251.0.10:5080 (self-signed
# certificate), user ganeti-test, password ganeti-secret (ci/test-env.sh).
set -euo pipefail

CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ci/test-env.sh
. "$CI_DIR/test-env.sh"
LOG_TAG=ganeti
# shellcheck source=ci/lib.sh
. "$CI_DIR/lib.sh"

NS=$SNF_TEST_GANETI_NETNS
HOST_IF=gnt-host
NODE_IF=gnt-node
BRIDGE=gnt-br0
HOST_IP=10.251.0.1
NODE_IP=10.251.0.2
CLUSTER_IP=$SNF_TEST_RAPI_HOST
RAPI_PORT=$SNF_TEST_RAPI_PORT
NODE_NAME=$SNF_TEST_GANETI_NODE
CLUSTER_NAME=$SNF_TEST_GANETI_CLUSTER
RAPI_USER=$SNF_TEST_RAPI_USER
RAPI_PASS=$SNF_TEST_RAPI_PASSWORD
MAC_PREFIX=aa:00:00
OS_DIR=/srv/ganeti/os               # first directory of Ganeti's OS search path
STATE_DIR=/run/ganeti-test          # holds the persistent UTS namespace
UTS_FILE=$STATE_DIR/uts
HOSTS_BEGIN="# BEGIN ganeti-test"
HOSTS_END="# END ganeti-test"
# Hook directories other components install their hooks into (kept by destroy).
HOOK_DIRS=(instance-add instance-modify instance-reboot instance-start instance-stop instance-remove)

# Run a command inside the cluster's network + UTS namespaces.
in_ns() { ip netns exec "$NS" nsenter --uts="$UTS_FILE" "$@"; }
ns_ready() { findmnt -n "/run/netns/$NS" >/dev/null 2>&1 && findmnt -n "$UTS_FILE" >/dev/null 2>&1; }

# --- setup ------------------------------------------------------------------
install_packages() {
  # Without recommends: no qemu-kvm/xen, drbd-utils, debootstrap OS.
  ensure_packages ganeti python3 util-linux iproute2 openssh-client procps
  # gnt-cluster init refuses to run without an RSA or DSA ssh host key
  # ("Failed to find SSH public keys"); no sshd is ever started.
  if [ ! -s /etc/ssh/ssh_host_rsa_key.pub ]; then
    log "generating ssh host RSA key"
    mkdir -p /etc/ssh
    rm -f /etc/ssh/ssh_host_rsa_key
    ssh-keygen -q -t rsa -N '' -f /etc/ssh/ssh_host_rsa_key
  fi
}

setup_network() {
  # A left-over plain file (e.g. after a reboot with a persistent /run) is
  # not a namespace: recreate it unless the nsfs mount is really there.
  if ! findmnt -n "/run/netns/$NS" >/dev/null 2>&1; then
    rm -f "/run/netns/$NS"
    ip netns add "$NS"
  fi
  if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
    ip link add "$HOST_IF" type veth peer name "$NODE_IF" netns "$NS"
  fi
  ip addr replace "$HOST_IP/24" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  ip -n "$NS" link set lo up
  ip -n "$NS" addr replace "$NODE_IP/24" dev "$NODE_IF"
  ip -n "$NS" link set "$NODE_IF" up
  if ! ip -n "$NS" link show "$BRIDGE" >/dev/null 2>&1; then
    ip -n "$NS" link add "$BRIDGE" type bridge
  fi
  ip -n "$NS" link set "$BRIDGE" up
  # Persistent UTS namespace: the node needs its own hostname, and the
  # host must not be renamed.
  mkdir -p "$STATE_DIR"
  if ! findmnt -n "$UTS_FILE" >/dev/null 2>&1; then
    touch "$UTS_FILE"
    unshare --uts="$UTS_FILE" hostname "$NODE_NAME"
  fi
  # Ganeti refuses names that resolve to loopback: they must resolve to the
  # node's own addresses.  Host and namespace share /etc/hosts.
  if ! grep -qxF "$HOSTS_BEGIN" /etc/hosts; then
    printf '%s\n%s %s %s\n%s %s %s\n%s\n' "$HOSTS_BEGIN" \
      "$NODE_IP" "$NODE_NAME" "${NODE_NAME%%.*}" \
      "$CLUSTER_IP" "$CLUSTER_NAME" "${CLUSTER_NAME%%.*}" \
      "$HOSTS_END" >> /etc/hosts
  fi
}

# install_os NAME DIR: a minimal OS definition (API 20) that installs nothing, from
# ci/ganeti-os/: its scripts (shared by every such OS) and NAME's parameters.list.
install_os() {
  local name=$1 d=$2
  mkdir -p "$d"
  echo 20 > "$d/ganeti_api_version"
  echo default > "$d/variants.list"
  install -m 0755 "$CI_DIR"/ganeti-os/{create,export,import,rename,verify} "$d/"
  install -m 0644 "$CI_DIR/ganeti-os/$name.parameters.list" "$d/parameters.list"
}

# OS "noop" (noop+default): accepts the parameters Synnefo passes.
write_noop_os() { install_os noop "$OS_DIR/noop"; }

# OS "snf-image" (snf-image+default): a STAND-IN with the parameters of the
# real snf-image provider, which will replace it.  When a real snf-image is
# installed in another directory of Ganeti's OS search path, the stand-in is
# removed, because /srv/ganeti/os comes first and would hide the real one.
SNF_IMAGE_MARK=.ci-ganeti-stand-in
write_snf_image_os() {
  local d=$OS_DIR/snf-image other
  for other in /usr/local/lib/ganeti/os /usr/lib/ganeti/os /usr/share/ganeti/os; do
    if [ -e "$other/snf-image/ganeti_api_version" ]; then
      if [ -e "$d/$SNF_IMAGE_MARK" ]; then
        log "real snf-image found in $other: removing the stand-in $d"
        rm -rf "$d"
      fi
      return 0
    fi
  done
  # Never overwrite a real provider installed in /srv/ganeti/os itself.
  if [ -e "$d/ganeti_api_version" ] && [ ! -e "$d/$SNF_IMAGE_MARK" ]; then
    return 0
  fi
  install_os snf-image "$d"
  : > "$d/$SNF_IMAGE_MARK"
}

write_hook_dirs() {
  local h
  for h in "${HOOK_DIRS[@]}"; do mkdir -p "/etc/ganeti/hooks/$h-post.d"; done
}

write_ganeti_config() {
  # RAPI listens on every address of the namespace (Debian's default,
  # 127.0.0.1, cannot be reached from the host); GETs need credentials too.
  local args='RAPI_ARGS="-b 0.0.0.0 --require-authentication"'
  if ! grep -qxF "$args" /etc/default/ganeti; then
    if grep -q '^RAPI_ARGS=' /etc/default/ganeti; then
      sed -i "s/^RAPI_ARGS=.*/$args/" /etc/default/ganeti
    else
      echo "$args" >> /etc/default/ganeti
    fi
  fi
  # file/sharedfile disk templates only accept whitelisted directories.
  printf '/srv/ganeti/file-storage\n/srv/ganeti/shared-file-storage\n' \
    > /etc/ganeti/file-storage-paths
}

write_rapi_users() {
  local f=/var/lib/ganeti/rapi/users
  mkdir -p /var/lib/ganeti/rapi
  printf '%s {CLEARTEXT}%s write\n' "$RAPI_USER" "$RAPI_PASS" > "$f.tmp"
  chown gnt-rapi:gnt-masterd "$f.tmp"
  chmod 0640 "$f.tmp"
  mv -f "$f.tmp" "$f"       # ganeti-rapi rereads the file without a restart
}

cluster_init() {
  local t0
  t0=$(now)
  log "gnt-cluster init $CLUSTER_NAME (fake hypervisor)"
  # The relaxed ipolicy allows small disks and memory (tests use 64 MiB).
  timeout 180 ip netns exec "$NS" nsenter --uts="$UTS_FILE" gnt-cluster init \
    --enabled-hypervisors=fake \
    --enabled-disk-templates=diskless,file,sharedfile \
    --file-storage-dir=/srv/ganeti/file-storage \
    --shared-file-storage-dir=/srv/ganeti/shared-file-storage \
    --master-netdev="$NODE_IF" --master-netmask=24 \
    --nic-parameters="mode=bridged,link=$BRIDGE" \
    --mac-prefix="$MAC_PREFIX" \
    --ipolicy-bounds-specs="min:disk-size=1,cpu-count=1,disk-count=0,memory-size=32,nic-count=0,spindle-use=0/max:disk-size=1048576,cpu-count=64,disk-count=16,memory-size=1048576,nic-count=8,spindle-use=12" \
    --no-ssh-init --no-etc-hosts \
    "$CLUSTER_NAME" || die "gnt-cluster init failed (see /var/log/ganeti/)"
  log "gnt-cluster init took $(elapsed "$t0") s"
}

# After a hard kill the pid files stay, and start-stop-daemon then refuses
# to start ("matching only on non-root pidfile ... is insecure"), so drop
# the pid files of dead daemons.
drop_stale_pidfiles() {
  local f pid
  for f in /var/run/ganeti/ganeti-*.pid; do
    [ -e "$f" ] || continue
    pid=$(tr -dc '0-9' < "$f" 2>/dev/null || true)
    if [ -z "$pid" ] || ! grep -qa ganeti "/proc/$pid/cmdline" 2>/dev/null; then
      rm -f "$f"
    fi
  done
}

# "daemon-util start-all" fails (same error) when a daemon already runs, so
# start only the daemons without a live pid file.
start_daemons() {
  local d
  drop_stale_pidfiles
  for d in $(in_ns /usr/lib/ganeti/daemon-util list-start-daemons); do
    [ -e "/var/run/ganeti/$d.pid" ] && continue
    # ganeti-kvmd exits at once ("KVM not enabled") on a fake-only cluster.
    if [ "$d" = ganeti-kvmd ] && ! grep -qx kvm /var/lib/ganeti/ssconf_hypervisor_list 2>/dev/null; then
      continue
    fi
    log "starting $d"
    timeout 60 ip netns exec "$NS" nsenter --uts="$UTS_FILE" /usr/lib/ganeti/daemon-util start "$d" ||
      { log "could not start $d (see /var/log/ganeti/)"; return 1; }
  done
}

# "daemon-util stop-all" stops one daemon after the other, about 2 s each
# (start-stop-daemon's polling); stopping them all at once takes 2 s in all.
stop_daemons() {
  local d pids=() rc=0 p
  for d in $(in_ns /usr/lib/ganeti/daemon-util list-stop-daemons); do
    timeout 60 ip netns exec "$NS" nsenter --uts="$UTS_FILE" \
      /usr/lib/ganeti/daemon-util stop "$d" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}

wait_rapi() { wait_for 60 "RAPI to answer on https://$CLUSTER_IP:$RAPI_PORT" rapi ping; }

master_ip_present() { ip -n "$NS" -o addr show dev "$NODE_IF" | grep -q "inet $CLUSTER_IP/"; }

# The master daemons add the master IP themselves shortly after they start
# (and Ganeti refuses to add it twice), so wait for that first; ask for it
# only if it does not come.
ensure_master_ip() {
  local deadline=$(($(date +%s) + 15))
  until master_ip_present; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "master IP $CLUSTER_IP missing: gnt-cluster activate-master-ip"
      timeout 60 ip netns exec "$NS" nsenter --uts="$UTS_FILE" \
        gnt-cluster activate-master-ip >/dev/null || die "could not activate the master IP"
      return 0
    fi
    sleep 0.3
  done
}

# A real cluster's ganeti-watcher (cron) archives finished jobs; this one has no cron,
# so its queue grew by a thousand job files per `make test`, and every eventd start reads
# them all before it reports a new event (9,000 files: seconds under load).
archive_old_jobs() {
  in_ns gnt-job autoarchive 3600 >/dev/null || log "gnt-job autoarchive failed (not fatal)"
}

cmd_up() {
  local t0
  t0=$(now)
  install_packages
  setup_network
  write_noop_os
  write_snf_image_os
  write_hook_dirs
  write_ganeti_config
  if [ -s /var/lib/ganeti/config.data ]; then
    start_daemons || die "Ganeti daemons did not start"
    ensure_master_ip
  else
    cluster_init
  fi
  write_rapi_users
  wait_rapi
  archive_old_jobs
  log "RAPI answers on https://$CLUSTER_IP:$RAPI_PORT (user $RAPI_USER); up in $(elapsed "$t0") s"
}

cmd_down() {
  local t0
  t0=$(now)
  if ! ns_ready || [ ! -x /usr/lib/ganeti/daemon-util ]; then
    log "not set up: nothing to stop"; return 0
  fi
  drop_stale_pidfiles
  timeout 60 ip netns exec "$NS" nsenter --uts="$UTS_FILE" \
    gnt-cluster deactivate-master-ip --yes >/dev/null 2>&1 || true
  stop_daemons || die "some Ganeti daemons did not stop (see /var/log/ganeti/)"
  log "daemons stopped in $(elapsed "$t0") s (cluster kept; 'up' restarts it)"
}

cmd_destroy() {
  local t0 i
  t0=$(now)
  if [ -s /var/lib/ganeti/config.data ] && ns_ready; then
    # gnt-cluster destroy needs the daemons: start any that are missing.
    start_daemons || true
    for i in $(timeout 60 ip netns exec "$NS" nsenter --uts="$UTS_FILE" \
                 gnt-instance list --no-headers -o name 2>/dev/null || true); do
      log "removing instance $i"
      timeout 120 ip netns exec "$NS" nsenter --uts="$UTS_FILE" \
        gnt-instance remove -f --ignore-failures "$i" || true
    done
    timeout 120 ip netns exec "$NS" nsenter --uts="$UTS_FILE" \
      gnt-cluster destroy --yes-do-it || log "gnt-cluster destroy failed; cleaning up by hand"
  fi
  if ns_ready && [ -x /usr/lib/ganeti/daemon-util ]; then
    # gnt-cluster destroy can leave the on-demand ganeti-metad running.
    drop_stale_pidfiles
    stop_daemons >/dev/null 2>&1 || true
  fi
  # Leftovers that would make the next "gnt-cluster init" refuse to run.
  rm -f /var/lib/ganeti/config.data* /var/lib/ganeti/queue/job-* \
        /var/lib/ganeti/queue/serial /var/lib/ganeti/queue/version \
        /var/lib/ganeti/queue/lock /var/lib/ganeti/rapi/users
  if findmnt -n "$UTS_FILE" >/dev/null 2>&1; then umount "$UTS_FILE"; fi
  rm -rf "$STATE_DIR"
  ip link del "$HOST_IF" 2>/dev/null || true
  if [ -e "/run/netns/$NS" ]; then ip netns del "$NS"; fi
  sed -i "/^$HOSTS_BEGIN\$/,/^$HOSTS_END\$/d" /etc/hosts
  rm -rf "$OS_DIR/noop"
  if [ -e "$OS_DIR/snf-image/$SNF_IMAGE_MARK" ]; then rm -rf "$OS_DIR/snf-image"; fi
  log "destroyed in $(elapsed "$t0") s"
}

cmd_status() {
  pgrep -a -f '^/usr/(s)?bin/.*ganeti-' || echo "no Ganeti daemons running"
  if rapi ping; then
    echo "RAPI https://$CLUSTER_IP:$RAPI_PORT answers (user $RAPI_USER):"
    rapi status
  else
    echo "RAPI https://$CLUSTER_IP:$RAPI_PORT: NOT ANSWERING"
    return 1
  fi
}

cmd_smoke() {
  rapi smoke "${1:-smoke1.ganeti.test}" "${2:-diskless}" "${3:-snf-image}" "$NODE_NAME"
}

usage() {
  echo "usage: $0 up|down|destroy|status|smoke [NAME [diskless|file|sharedfile [OS]]]|exec CMD..." >&2
  exit 2
}

[ $# -ge 1 ] || usage
[ "$(id -u)" = 0 ] || die "run as root (namespaces, packages, Ganeti daemons)"
# Several test runs may share the machine: one up/down/destroy at a time.
# flock -o keeps the lock in flock itself, so daemons started here do not
# inherit (and hold) it.
case $1 in
  up|down|destroy)
    if [ -z "${SNF_CI_GANETI_LOCKED:-}" ]; then
      export SNF_CI_GANETI_LOCKED=1
      exec flock -o -w 300 -E 75 /run/lock/snf-ci-ganeti.lock "$BASH" "${BASH_SOURCE[0]}" "$@"
    fi ;;
esac
case $1 in
  up) cmd_up ;;
  down) cmd_down ;;
  destroy) cmd_destroy ;;
  status) cmd_status ;;
  smoke) shift; cmd_smoke "$@" ;;
  exec)
    shift
    [ $# -ge 1 ] || usage
    ns_ready || die "the cluster's namespaces do not exist; run '$0 up'"
    in_ns "$@" ;;
  *) usage ;;
esac
