# shellcheck shell=sh
# The customisation job: the helper VM's /init runs `sh run.sh` with TARGET=vdX.
# job.env (written by synnefo.snf_image.helper) says what to do; files/ holds
# the personality files, shadow-hash the password hash, user-data the seed.
set -u
# shellcheck source=/dev/null
. /job/job.env
fail() { echo "HELPER-ERROR: $*"; exit 1; }
warn() { echo "HELPER-WARNING: $*"; }

dev=/dev/${TARGET}${ROOT_PARTITION}
i=0
while [ ! -b "$dev" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
[ -b "$dev" ] || fail "the image has no partition $ROOT_PARTITION (ROOT_PARTITION)"

if [ "$EXTDUMP" = yes ]; then
  e2fsck -fy "$dev" > /tmp/e2fsck.log 2>&1
  rc=$?
  [ $rc -le 1 ] || { tail -n 5 /tmp/e2fsck.log; fail "e2fsck found errors it could not fix in the image's filesystem (exit $rc)"; }
  resize2fs "$dev" > /tmp/resize.log 2>&1 || { tail -n 5 /tmp/resize.log; fail "resize2fs could not grow the image's filesystem"; }
fi

mkdir -p /mnt
mount -o nodev,nosuid,noexec "$dev" /mnt 2>/tmp/mount.log ||
  fail "cannot mount partition $ROOT_PARTITION of the image: $(cat /tmp/mount.log)"
[ -d /mnt/etc ] || { umount /mnt; fail "partition $ROOT_PARTITION of the image holds no /etc: not a Linux root filesystem"; }

# id_of FILE NAME: the numeric id of NAME in the guest's passwd/group (or NAME if numeric).
id_of() {
  case "$2" in *[!0-9]*) awk -F: -v n="$2" '$1 == n { print $3; exit }' "/mnt/etc/$1" ;; *) echo "$2" ;; esac
}

if [ "$EXTDUMP" = yes ] && [ ! -e /mnt/boot/grub/grub.cfg ]; then
  conf=/mnt/boot/extlinux/extlinux.conf
  if [ ! -e "$conf" ]; then
    uuid=$(blkid "$dev" | sed -n 's/.* UUID="\([^"]*\)".*/\1/p')
    mkdir -p /mnt/boot/extlinux
    printf 'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nSERIAL 0 115200\nLABEL linux\n  LINUX /vmlinuz\n  INITRD /initrd.img\n  APPEND root=UUID=%s ro console=tty0 console=ttyS0,115200n8 net.ifnames=0\n' "$uuid" > "$conf"
  fi
  extlinux --install /mnt/boot/extlinux > /tmp/extlinux.log 2>&1 ||
    { umount /mnt; fail "extlinux could not install the boot loader: $(tail -n 2 /tmp/extlinux.log)"; }
fi

if [ -n "$GUEST_HOSTNAME" ]; then
  echo "$GUEST_HOSTNAME" > /mnt/etc/hostname
  if grep -q '^127\.0\.1\.1[[:space:]]' /mnt/etc/hosts 2>/dev/null; then
    sed -i "s/^127\.0\.1\.1[[:space:]].*/127.0.1.1\t$GUEST_HOSTNAME/" /mnt/etc/hosts
  else
    printf '127.0.1.1\t%s\n' "$GUEST_HOSTNAME" >> /mnt/etc/hosts
  fi
fi

if [ -s /job/shadow-hash ]; then
  [ -f /mnt/etc/shadow ] || { umount /mnt; fail "the image has no /etc/shadow"; }
  hash=$(cat /job/shadow-hash)
  for u in $PASSWORD_USERS; do
    grep -q "^$u:" /mnt/etc/shadow || { warn "no user $u in the image"; continue; }
    # cat > keeps the file's mode and group (shadow)
    awk -F: -v OFS=: -v u="$u" -v h="$hash" '$1 == u { $2 = h } { print }' /mnt/etc/shadow > /tmp/shadow &&
      cat /tmp/shadow > /mnt/etc/shadow
  done
  rm -f /tmp/shadow
fi

if [ -s /job/files.list ]; then
  while read -r n mode owner group path; do
    uid=$(id_of passwd "$owner"); gid=$(id_of group "$group")
    [ -n "$uid" ] || { warn "no user $owner in the image: $path owned by root"; uid=0; }
    [ -n "$gid" ] || { warn "no group $group in the image: $path owned by group root"; gid=0; }
    dir=${path%/*}
    if [ -n "$dir" ] && [ ! -d "/mnt$dir" ]; then
      mkdir -p "/mnt$dir"
      case "$dir" in */.ssh) chmod 700 "/mnt$dir"; chown "$uid:$gid" "/mnt$dir" ;; esac
    fi
    if ! { cat "/job/files/$n" > "/mnt$path" && chown "$uid:$gid" "/mnt$path" &&
           chmod "$mode" "/mnt$path"; }; then
      umount /mnt
      fail "could not write $path into the image"
    fi
  done < /job/files.list
fi

if [ -e /job/user-data ]; then
  seed=/mnt/var/lib/cloud/seed/nocloud
  mkdir -p "$seed"
  cat /job/user-data > "$seed/user-data"
  printf 'instance-id: %s\nlocal-hostname: %s\n' "$INSTANCE" "$GUEST_HOSTNAME" > "$seed/meta-data"
  chmod 600 "$seed/user-data"
fi

sync
umount /mnt || fail "could not unmount the image's filesystem"
exit 0
