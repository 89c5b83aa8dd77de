#!/bin/bash
# ci/snf-image.sh up|down|status [NAME] - this source tree's snf-image provider on the
# test cluster, as Ganeti OS NAME (default snf-image-dev; NAME+default) beside the
# stand-in "snf-image" of ci/ganeti.sh, which the fake-hypervisor tests keep using.
# A test picks a NAME of its own run, so concurrent runs never remove each other's.
#
#   up      (idempotent) the helper VM's kernel and initramfs and the test images
#           (both cached under /var/cache/synnefo-ci/snf-image/, rebuilt when missing
#           or when their recipe changed), the OS definition /srv/ganeti/os/NAME whose
#           scripts run this tree's provider with .venv's python, and its settings file
#           /run/ganeti-test/snf-image/NAME.conf (IMAGE_DIR = the test images,
#           HELPER_ACCEL=tcg: KVM does not work on these machines).
#   down    removes that OS definition and its settings (the caches stay).
# Needs root, ci/venv.sh, the packages of ci/packages/snf-image.txt and, the first
# time, the Debian mirror.
set -euo pipefail
CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$CI_DIR")
CACHE=${SNF_TEST_IMAGE_CACHE:-/var/cache/synnefo-ci/snf-image}
NAME=${2:-snf-image-dev}
case $NAME in ""|*/*|.*|*+*) echo "ci/snf-image.sh: bad OS name $NAME" >&2; exit 2 ;; esac
OS_DIR=/srv/ganeti/os/$NAME
CONF=/run/ganeti-test/snf-image/$NAME.conf
PY=$TOP/.venv/bin/python
log() { printf '[snf-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

up() {
  [ -x "$PY" ] || { log "no $PY: run ci/venv.sh"; exit 1; }
  "$TOP/.venv/bin/snf-image-update-helper" --dir "$CACHE/helper" >&2
  "$CI_DIR/snf-image-test-images.sh" "$CACHE/images"
  mkdir -p "$(dirname "$CONF")"
  printf 'IMAGE_DIR=%s\nHELPER_DIR=%s\nHELPER_ACCEL="tcg,tb-size=64"\nPROGRESS_INTERVAL=0\n' \
    "$CACHE/images" "$CACHE/helper" > "$CONF"
  local tmp=$OS_DIR.new action
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cp "$TOP/snf-image/os/ganeti_api_version" "$TOP/snf-image/os/parameters.list" \
    "$TOP/snf-image/os/variants.list" "$tmp/"
  for action in create import export rename verify; do
    printf '#!/bin/sh\n# written by ci/snf-image.sh: the provider of %s\nSNF_IMAGE_CONFIG=%s exec %s -I -m synnefo.snf_image.provider %s\n' \
      "$TOP" "$CONF" "$PY" "$action" > "$tmp/$action"
    chmod 0755 "$tmp/$action"
  done
  rm -rf "$OS_DIR"
  mv "$tmp" "$OS_DIR"
}

case ${1:-} in
  up) up ;;
  down) rm -rf "$OS_DIR" "$CONF" ;;
  status) ls -l "$OS_DIR" "$CONF" "$CACHE"/helper "$CACHE"/images ;;
  *) echo "usage: $0 up|down|status [NAME]" >&2; exit 2 ;;
esac
