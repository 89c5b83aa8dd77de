#!/bin/bash
# ci/kvm-guest.sh - real VMs on the test cluster (ci/ganeti.sh): Ganeti's kvm
# hypervisor in software emulation (QEMU TCG), a tiny guest built from Debian
# packages, the project's kvm-vif-bridge and nfdhcpd serving a routed public
# network inside netns gnt.  Run as root, after `ci/ganeti.sh up`.
#
# Usage: ci/kvm-guest.sh guest|up|down|status
#   guest  build the guest into $SNF_KVM_GUEST_DIR (default /srv/ganeti/kvm-guest)
#          unless it is there already: kernel of linux-image-cloud-amd64 plus a
#          busybox-static initramfs whose /init runs udhcpc and prints
#          "GUEST-DHCP: bound IP/MASK ..." on the console (serial and VGA).
#          Needs the Debian mirror the first time (apt-get download, ~3 s).
#   up     guest + enable kvm beside fake (fake stays the DEFAULT hypervisor:
#          every other test relies on it), install /etc/ganeti/kvm-vif-bridge,
#          /etc/default/snf-network and the instance-remove post hook
#          kvm-vif-cleanup, set up the routed public network's routing in netns
#          gnt, start the project's nfdhcpd (.venv) in netns gnt.  Idempotent.
#   down   undo `up` (the guest files stay as a cache).  kvm stays enabled while
#          a kvm instance exists (Ganeti refuses to disable it then).
#   status what is set up.
#
# The routed public network (Ganeti mode "routed", link = routing table):
#   table $LINK:   default dev $UPLINK (a bridge without ports: nothing leaves)
#                  + one IP/32 route per guest tap (kvm-vif-bridge adds them)
#   ip rule iif $UPLINK table $LINK   traffic from the uplink to the guests
#   ip rule to $SUBNET table $LINK    the node itself reaches the guests
#   $GATEWAY/32 on $UPLINK            the guests' router (answers their ping)
# and the same for IPv6 ($SUBNET6, SLAAC: each guest's address is the EUI-64 of its
# MAC, announced by nfdhcpd's router advertisements):
#   table $LINK:   default dev $UPLINK + one EUI64/128 route per guest tap
#   ip -6 rule iif $UPLINK / to $SUBNET6 table $LINK
#   $GATEWAY6/128 on lo               the node's IPv6 address (on lo: a bridge
#                                     without ports has no carrier, and an address
#                                     on it would stay tentative, unusable)
# kvm-vif-bridge adds per tap: ip rule iif TAP table LINK (both families), proxy
# ARP, the NFQUEUE rules sending DHCP (queue 42) and, for a NIC on a network with
# an IPv6 subnet, router and neighbour solicitations and DHCPv6 (43-45) to nfdhcpd,
# and the binding file in /var/lib/nfdhcpd that nfdhcpd answers from.
set -euo pipefail

CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$CI_DIR/.." && pwd)
# shellcheck source=ci/test-env.sh
. "$CI_DIR/test-env.sh"
LOG_TAG=kvm
# shellcheck source=ci/lib.sh
. "$CI_DIR/lib.sh"

NS=$SNF_TEST_GANETI_NETNS
UTS_FILE=/run/ganeti-test/uts                       # made by ci/ganeti.sh
GUEST_DIR=${SNF_KVM_GUEST_DIR:-/srv/ganeti/kvm-guest}
STATE=/run/ganeti-test/kvm                          # nfdhcpd config, pid, log
LINK=${SNF_TEST_KVM_LINK:-104}
SUBNET=${SNF_TEST_KVM_SUBNET:-10.251.104.0/24}
GATEWAY=${SNF_TEST_KVM_GATEWAY:-10.251.104.1}
SUBNET6=${SNF_TEST_KVM_SUBNET6:-fd51:251:104::/64}   # unique local: never routed out
GATEWAY6=${SNF_TEST_KVM_GATEWAY6:-fd51:251:104::1}
UPLINK=gnt-pub0
RULE_PRIO=20104                                     # our ip rules, easy to find
VIF=/etc/ganeti/kvm-vif-bridge
VIF_CONF=/etc/default/snf-network
HOOK=/etc/ganeti/hooks/instance-remove-post.d/kvm-vif-cleanup
NFDHCPD=$TOP/.venv/bin/nfdhcpd
# Distinctive, so a test can tell that a lease came from this nfdhcpd.
LEASE_LIFETIME=${SNF_TEST_KVM_LEASE:-86413}
# Bump when the guest's contents change: a cached guest of another version is rebuilt.
GUEST_VERSION=1
KVM_HVPARAMS="kvm_path=/usr/bin/qemu-system-x86_64,kernel_path=$GUEST_DIR/vmlinuz,initrd_path=$GUEST_DIR/initrd.img,kernel_args=ro panic=-1,serial_console=true,serial_speed=115200,vnc_bind_address=0.0.0.0,kvm_flag=disabled,use_chroot=false,security_model=none"

in_ns() { ip netns exec "$NS" nsenter --uts="$UTS_FILE" "$@"; }

# --- the guest ----------------------------------------------------------------
# The guest's scripts, ci/kvm-guest/*, into the initramfs tree ROOT.
install_guest_scripts() {
  local root=$1
  install -D -m 0755 "$CI_DIR/kvm-guest/init" "$root/init"
  install -D -m 0755 "$CI_DIR/kvm-guest/acpi-power-button" "$root/etc/acpi/PWRF/00000080"
  install -D -m 0755 "$CI_DIR/kvm-guest/udhcpc.script" "$root/usr/share/udhcpc/default.script"
}

cmd_guest() {
  local stamp kpkg kver work bb m mods t0
  kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
         awk '/Depends: linux-image-/ { print $2; exit }')
  [ -n "$kpkg" ] || die "apt-cache knows no linux-image-cloud-amd64 (apt-get update?)"
  kver=${kpkg#linux-image-}
  stamp="version=$GUEST_VERSION kernel=$kpkg"
  if [ -s "$GUEST_DIR/vmlinuz" ] && [ -s "$GUEST_DIR/initrd.img" ] &&
     [ "$(cat "$GUEST_DIR/stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  t0=$(now)
  work=$(mktemp -d /tmp/snf-kvm-guest.XXXXXX)
  # apt-get download fetches as _apt when that user may write the directory.
  if id _apt >/dev/null 2>&1; then chown _apt "$work"; fi
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  # Download and unpack only: installing busybox-static would replace the
  # host's busybox, and a kernel package would run update-initramfs.
  (cd "$work" && apt-get download -q "$kpkg" busybox-static >/dev/null) ||
    die "apt-get download $kpkg busybox-static failed (is the Debian mirror reachable?)"
  dpkg-deb -x "$work/${kpkg}"_*.deb "$work/k"
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/b"
  bb=$work/b/bin/busybox
  mkdir -p "$work/root"/{bin,sbin,proc,sys,dev,tmp,run,etc,lib/modules}
  cp "$bb" "$work/root/bin/busybox"
  ln -s busybox "$work/root/bin/sh"
  mods=$work/k/lib/modules/$kver/kernel
  # virtio is modular in the cloud kernel (serial, VGA console, devtmpfs are built in).
  for m in drivers/virtio/virtio drivers/virtio/virtio_ring \
           drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci_legacy_dev \
           drivers/virtio/virtio_pci net/core/failover drivers/net/net_failover \
           drivers/net/virtio_net drivers/block/virtio_blk \
           drivers/acpi/button drivers/input/evdev; do
    cp "$mods/$m.ko" "$work/root/lib/modules/" || die "module $m.ko missing in $kpkg"
  done
  echo 'root:x:0:0:root:/:/bin/sh' > "$work/root/etc/passwd"
  echo 'root:x:0:' > "$work/root/etc/group"
  install_guest_scripts "$work/root"
  mkdir -p "$GUEST_DIR"
  (cd "$work/root" && find . | "$bb" cpio -o -H newc 2>/dev/null) | gzip -9 > "$GUEST_DIR/.initrd.img"
  cp "$work/k/boot/vmlinuz-$kver" "$GUEST_DIR/.vmlinuz"
  mv -f "$GUEST_DIR/.initrd.img" "$GUEST_DIR/initrd.img"
  mv -f "$GUEST_DIR/.vmlinuz" "$GUEST_DIR/vmlinuz"
  echo "$stamp" > "$GUEST_DIR/stamp"
  log "guest built in $GUEST_DIR ($kpkg) in $(elapsed "$t0") s"
}

# --- the cluster: kvm beside fake -------------------------------------------------
kvm_state() { rapi kvm-state "$KVM_HVPARAMS"; }  # enabled-ok, enabled-other or disabled

enable_kvm() {
  local state hvs h current
  state=$(kvm_state) || die "RAPI https://$SNF_TEST_RAPI_HOST:$SNF_TEST_RAPI_PORT does not answer: run ci/ganeti.sh up"
  [ "$state" = enabled-ok ] && return 0
  # The first enabled hypervisor is Ganeti's default: fake stays first.
  current=$(rapi hypervisors) || die "RAPI does not answer: run ci/ganeti.sh up"
  hvs=fake
  for h in ${current//,/ }; do
    case $h in fake|kvm) ;; *) hvs+=",$h" ;; esac
  done
  hvs+=,kvm
  log "gnt-cluster modify --enabled-hypervisors=$hvs (kvm: TCG, guest $GUEST_DIR)"
  in_ns gnt-cluster modify --enabled-hypervisors="$hvs" -H "kvm:$KVM_HVPARAMS" >/dev/null ||
    die "gnt-cluster modify failed"
  [ "$(kvm_state)" = enabled-ok ] || die "kvm is not enabled as asked (or fake is no longer the default)"
}

kvm_instances() {
  in_ns gnt-instance list --no-headers -o name,hypervisor 2>/dev/null | awk '$2 == "kvm" { print $1 }'
}

disable_kvm() {
  local state hvs left
  state=$(kvm_state 2>/dev/null) || { log "RAPI does not answer: kvm left as it is"; return 0; }
  [ "$state" = disabled ] && return 0
  left=$(kvm_instances)
  if [ -n "$left" ]; then
    log "kvm stays enabled: kvm instances exist: $left"
    return 0
  fi
  hvs=$(rapi hypervisors | tr , '\n' | grep -vx kvm | paste -sd,)
  # The kvm hvparams stay (pointing at the cached guest): putting Ganeti's
  # defaults back fails, its default kernel_path does not exist here.
  log "gnt-cluster modify --enabled-hypervisors=$hvs"
  in_ns gnt-cluster modify --enabled-hypervisors="$hvs" >/dev/null || log "could not disable kvm"
}

# --- node files: ifup script, its settings, the cleanup hook -------------------------
ours() {  # ours FILE: no Debian package owns it (a package test may have installed it)
  ! dpkg -S "$1" >/dev/null 2>&1
}

install_node_files() {
  if ours "$VIF"; then
    install -D -m 0755 "$TOP/contrib/ganeti-hooks/kvm-vif-bridge" "$VIF"
  fi
  if ours "$VIF_CONF"; then
    install -D -m 0644 "$TOP/contrib/ganeti-hooks/snf-network.default" "$VIF_CONF"
  fi
  if ours "$HOOK"; then
    install -D -m 0755 "$TOP/contrib/ganeti-hooks/kvm-vif-cleanup" "$HOOK"
  fi
}

remove_node_files() {
  local f
  for f in "$VIF" "$VIF_CONF" "$HOOK"; do
    if [ -e "$f" ] && ours "$f"; then rm -f "$f"; fi
  done
}

# --- routing of the public network ---------------------------------------------------
setup_routing() {
  # A bridge without ports stands in for the uplink (this kernel has no dummy
  # driver): routes through it are valid and what is sent there goes nowhere.
  ip -n "$NS" link show "$UPLINK" >/dev/null 2>&1 || ip -n "$NS" link add "$UPLINK" type bridge
  ip -n "$NS" link set "$UPLINK" up
  ip -n "$NS" addr replace "$GATEWAY/32" dev "$UPLINK"
  ip -n "$NS" route replace default dev "$UPLINK" table "$LINK"
  ip -n "$NS" rule show | grep -q "iif $UPLINK lookup $LINK" ||
    ip -n "$NS" rule add pref "$RULE_PRIO" iif "$UPLINK" table "$LINK"
  ip -n "$NS" rule show | grep -q "to $SUBNET lookup $LINK" ||
    ip -n "$NS" rule add pref "$RULE_PRIO" to "$SUBNET" table "$LINK"
  ip -n "$NS" addr replace "$GATEWAY6/128" dev lo
  ip -n "$NS" -6 route replace default dev "$UPLINK" table "$LINK"
  ip -n "$NS" -6 rule show | grep -q "iif $UPLINK lookup $LINK" ||
    ip -n "$NS" -6 rule add pref "$RULE_PRIO" iif "$UPLINK" table "$LINK"
  ip -n "$NS" -6 rule show | grep -q "to $SUBNET6 lookup $LINK" ||
    ip -n "$NS" -6 rule add pref "$RULE_PRIO" to "$SUBNET6" table "$LINK"
}

remove_routing() {
  ip -n "$NS" rule del pref "$RULE_PRIO" iif "$UPLINK" table "$LINK" 2>/dev/null || true
  ip -n "$NS" rule del pref "$RULE_PRIO" to "$SUBNET" table "$LINK" 2>/dev/null || true
  ip -n "$NS" route flush table "$LINK" 2>/dev/null || true
  ip -n "$NS" -6 rule del pref "$RULE_PRIO" iif "$UPLINK" table "$LINK" 2>/dev/null || true
  ip -n "$NS" -6 rule del pref "$RULE_PRIO" to "$SUBNET6" table "$LINK" 2>/dev/null || true
  ip -n "$NS" -6 route flush table "$LINK" 2>/dev/null || true
  ip -n "$NS" addr del "$GATEWAY6/128" dev lo 2>/dev/null || true
  ip -n "$NS" link del "$UPLINK" 2>/dev/null || true
}

# --- nfdhcpd --------------------------------------------------------------------------
nfdhcpd_pid() {
  local pid
  pid=$(tr -dc '0-9' 2>/dev/null < "$STATE/run/nfdhcpd.pid" || true)
  [ -n "$pid" ] && grep -qa nfdhcpd "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
  return 0
}
nfdhcpd_started() { [ -n "$(nfdhcpd_pid)" ]; }

nfdhcpd_conf() {
  cat <<EOF
# written by ci/kvm-guest.sh: nfdhcpd for the kvm test guests in netns $NS
[general]
datapath = /var/lib/nfdhcpd
pidfile = $STATE/run/nfdhcpd.pid
logdir = $STATE/log
user = nobody

[dhcp]
enable_dhcp = yes
dhcp_queue = 42
server_ip =
nameservers = $GATEWAY
domain =
lease_lifetime = $LEASE_LIFETIME
lease_renewal = 3600

[ipv6]
enable_ipv6 = yes
nameservers = $GATEWAY6
EOF
}

start_nfdhcpd() {
  local pid conf
  conf=$(nfdhcpd_conf)
  pid=$(nfdhcpd_pid)
  if [ -n "$pid" ]; then
    # One started by an older tree with other settings is replaced.
    [ "$conf" = "$(cat "$STATE/nfdhcpd.conf" 2>/dev/null)" ] && return 0
    log "nfdhcpd $pid runs with other settings: restarting it"
    stop_nfdhcpd
  fi
  [ -x "$NFDHCPD" ] || die "$NFDHCPD missing: run ci/venv.sh"
  mkdir -p "$STATE/log" /var/lib/nfdhcpd
  chown nobody "$STATE/log"
  printf '%s\n' "$conf" > "$STATE/nfdhcpd.conf"
  # Without -f it daemonizes and writes the pid file; -d logs every packet.
  ip netns exec "$NS" "$NFDHCPD" -c "$STATE/nfdhcpd.conf" -d ||
    die "nfdhcpd did not start (see $STATE/log/nfdhcpd.log)"
  wait_for 10 "nfdhcpd's pid file (see $STATE/log/nfdhcpd.log)" nfdhcpd_started
  log "nfdhcpd $(nfdhcpd_pid) runs in netns $NS (log $STATE/log/nfdhcpd.log)"
}

stop_nfdhcpd() {
  local pid
  pid=$(nfdhcpd_pid)
  [ -n "$pid" ] || return 0
  kill "$pid"
  for _ in $(seq 50); do
    [ -e "/proc/$pid" ] || break
    sleep 0.1
  done
  [ -e "/proc/$pid" ] && kill -9 "$pid"
  log "nfdhcpd $pid stopped"
}

# --- commands ---------------------------------------------------------------------------
cmd_up() {
  local t0
  t0=$(now)
  [ -e "/run/netns/$NS" ] || die "netns $NS missing: run ci/ganeti.sh up"
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run ci/deps.sh (ci/packages/kvm.txt)"
  cmd_guest
  install_node_files
  enable_kvm
  setup_routing
  start_nfdhcpd
  log "up in $(elapsed "$t0") s"
}

cmd_down() {
  stop_nfdhcpd
  if [ -e "/run/netns/$NS" ]; then
    remove_routing
    disable_kvm
  fi
  remove_node_files
  rm -rf "$STATE"
}

cmd_status() {
  echo "guest: $(cat "$GUEST_DIR/stamp" 2>/dev/null || echo 'not built')"
  echo "kvm: $(kvm_state 2>/dev/null || echo 'RAPI not answering')"
  echo "nfdhcpd: $(nfdhcpd_pid || true)"
  for f in "$VIF" "$VIF_CONF" "$HOOK"; do [ -e "$f" ] && echo "installed: $f"; done
  ip -n "$NS" rule show 2>/dev/null | grep "lookup $LINK" || true
  ip -n "$NS" -6 rule show 2>/dev/null | grep "lookup $LINK" || true
  return 0
}

[ "$(id -u)" = 0 ] || die "run as root"
case ${1:-} in
  guest) cmd_guest ;;
  up|down)
    # One up/down at a time (several test runs may share the machine).
    if [ -z "${SNF_CI_KVM_LOCKED:-}" ]; then
      export SNF_CI_KVM_LOCKED=1
      exec flock -o -w 300 -E 75 /run/lock/snf-ci-kvm.lock "$BASH" "${BASH_SOURCE[0]}" "$@"
    fi
    "cmd_$1" ;;
  status) cmd_status ;;
  *) echo "usage: $0 guest|up|down|status" >&2; exit 2 ;;
esac
