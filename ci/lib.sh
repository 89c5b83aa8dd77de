#!/bin/bash
# ci/lib.sh - helpers shared by the ci/ scripts, for `source`.
#
#   LOG_TAG=ganeti; . "$CI_DIR/lib.sh"
#
# LOG_TAG names the script in every log line ("[ganeti 12:00:01] ...").

# log MSG...: one timestamped line on stderr (stdout stays for the script's output).
log() { printf '[%s %s] %s\n' "${LOG_TAG:-ci}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# elapsed START: seconds since START (a `now` value), one decimal.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

pkg_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# ensure_packages PKG...: apt-get install those not installed yet (no recommends);
# a no-op, without touching apt, on a ready machine.
ensure_packages() {
  local need=() p
  for p in "$@"; do pkg_installed "$p" || need+=("$p"); done
  ((${#need[@]})) || return 0
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# wait_for SECONDS WHAT COMMAND...: run COMMAND (output discarded) every 0.2 s until it
# succeeds; die naming WHAT when SECONDS pass first.
wait_for() {
  local secs=$1 what=$2 deadline
  shift 2
  deadline=$(($(date +%s) + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "waited $secs s for $what"
    sleep 0.2
  done
}

# rapi ARGS...: ci/rapi.py, the test cluster's RAPI client (Debian's python3; where and
# who from ci/test-env.sh's SNF_TEST_RAPI_* variables).
rapi() { /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/rapi.py" "$@"; }
