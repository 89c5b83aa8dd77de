#!/bin/bash
# ci/snf-image-test-images.sh [OUTDIR] - the snf-image test images: a small bootable
# Debian bookworm (cloud kernel, extlinux, openssh-server, systemd-networkd DHCP on
# eth0) as OUTDIR/bookworm.diskdump (a whole 1 GiB disk, MBR, ext4 in partition 1) and
# OUTDIR/bookworm.extdump (that ext4 filesystem alone, shrunk, without its boot
# loader, so the provider has to install one). Root has no password and no key: the
# provider's customisation is what makes the guest reachable. Root may log in
# over SSH with a password (the tests check the password the API gave).
#
# Cached: OUTDIR (default /var/cache/synnefo-ci/snf-image/images) is rebuilt only
# when a file is missing or this script changed (OUTDIR/stamp). About 40 s, needs
# root and the Debian mirror. Only the filesystem just built is ever mounted.
set -euo pipefail
CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-${SNF_TEST_IMAGE_DIR:-/var/cache/synnefo-ci/snf-image/images}}
MIRROR=${SNF_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${SNF_TEST_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
STAMP="recipe=$(sha256sum "$CI_DIR/snf-image-test-images.sh" | cut -c1-16)"
log() { printf '[snf-image-test-images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ "$(cat "$OUT/stamp" 2>/dev/null)" = "$STAMP" ] &&
   [ -s "$OUT/bookworm.diskdump" ] && [ -s "$OUT/bookworm.extdump" ]; then
  exit 0
fi
for t in mmdebstrap sfdisk mke2fs extlinux losetup; do
  command -v "$t" >/dev/null || { log "missing $t (ci/packages/snf-image.txt)"; exit 1; }
done
mkdir -p "$OUT"
WORK=$(mktemp -d /var/tmp/snf-image-build.XXXXXX)
LOOP=
cleanup() {
  mountpoint -q "$WORK/mnt" 2>/dev/null && umount "$WORK/mnt"
  [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
t0=$(date +%s)
log "mmdebstrap bookworm"
# The hooks are scripts mmdebstrap runs with the root directory as $1.
# shellcheck disable=SC2016
mmdebstrap --quiet --variant=apt --mode=root --format=directory \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --include=systemd-sysv,udev,e2fsprogs,linux-image-cloud-amd64,initramfs-tools,openssh-server,iproute2,kmod,procps \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --essential-hook='echo "LABEL=debroot / ext4 errors=remount-ro 0 1" > "$1/etc/fstab";
    mkdir -p "$1/etc/initramfs-tools/conf.d"; echo FSTYPE=ext4 > "$1/etc/initramfs-tools/conf.d/fstype"' \
  --customize-hook='set -e; r=$1
    echo debian-image > "$r/etc/hostname"
    printf "127.0.0.1\tlocalhost\n127.0.1.1\tdebian-image\n" > "$r/etc/hosts"
    printf "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n" > "$r/etc/systemd/network/20-eth0.network"
    chroot "$r" systemctl enable systemd-networkd >/dev/null 2>&1
    printf "PermitRootLogin yes\nPasswordAuthentication yes\nHostKey /etc/ssh/ssh_host_ed25519_key\n" \
      > "$r/etc/ssh/sshd_config.d/10-test-image.conf"
    rm -f "$r"/etc/ssh/ssh_host_*
    printf "%s\n" "[Unit]" "Description=SSH host key (first boot)" "Before=ssh.service" \
      "ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key" "" "[Service]" "Type=oneshot" \
      "ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N \"\" -f /etc/ssh/ssh_host_ed25519_key" \
      "" "[Install]" "WantedBy=ssh.service" \
      > "$r/etc/systemd/system/ssh-hostkey.service"
    chroot "$r" systemctl enable ssh-hostkey.service >/dev/null 2>&1
    mkdir -p "$r/boot/extlinux"
    printf "SERIAL 0 115200\nPROMPT 0\nTIMEOUT 0\nDEFAULT linux\nLABEL linux\n  LINUX /vmlinuz\n  INITRD /initrd.img\n  APPEND root=LABEL=debroot ro console=tty0 console=ttyS0,115200n8 net.ifnames=0\n" \
      > "$r/boot/extlinux/extlinux.conf"
    rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin
    : > "$r/etc/machine-id"' \
  bookworm "$WORK/root" "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
  "deb $SECURITY bookworm-security main"

log "disk: MBR, ext4 in partition 1, extlinux"
disk=$WORK/disk.raw
truncate -s 1024M "$disk"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$disk"
mke2fs -q -t ext4 -L debroot -d "$WORK/root" -E offset=1048576 "$disk" 1047552k
mkdir "$WORK/mnt"
LOOP=$(losetup -f --show -o 1048576 --sizelimit $((1047552 * 1024)) "$disk")
mount "$LOOP" "$WORK/mnt"
extlinux --install "$WORK/mnt/boot/extlinux" 2>/dev/null
umount "$WORK/mnt"
losetup -d "$LOOP"; LOOP=
dd if=/usr/lib/EXTLINUX/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none

log "extdump: the filesystem alone, shrunk, boot loader removed"
fs=$WORK/rootfs.ext4
dd if="$disk" of="$fs" bs=1M skip=1 conv=sparse status=none
e2fsck -fp "$fs" >/dev/null
resize2fs -M "$fs" >/dev/null 2>&1
blocks=$(dumpe2fs -h "$fs" 2>/dev/null | awk -F: '/^Block count/ { print $2 + 0 }')
truncate -s $((blocks * 4096)) "$fs"
debugfs -w -R 'rm /boot/extlinux/ldlinux.sys' "$fs" >/dev/null 2>&1
debugfs -w -R 'rm /boot/extlinux/ldlinux.c32' "$fs" >/dev/null 2>&1

mv -f "$disk" "$OUT/bookworm.diskdump"
mv -f "$fs" "$OUT/bookworm.extdump"
echo "$STAMP" > "$OUT/stamp"
log "built in $(($(date +%s) - t0)) s: $(du -h --apparent-size "$OUT"/bookworm.* | tr '\n' ' ')"
