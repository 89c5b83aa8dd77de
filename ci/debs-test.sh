#!/bin/bash
# ci/debs-test.sh - the package stage of `make test`; run it LAST.
#
# Builds the packages (twice: this version with its unit tests, and a higher
# version for the upgrade test), checks their contents and lintian, installs
# each node type's packages with apt-get, runs every service through its init
# script, upgrades, purges (debian/tests/). Extra arguments go to pytest (e.g.
# --junitxml=FILE, -k NAME).
#
# While installed, the packages put `synnefo` into /usr/lib/python3/dist-packages,
# beside the source tree the other suites test: so this runs after them, and
# everything of ours is purged at the end, also on failure or interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
start=$(date +%s)

ci/deps.sh
# shellcheck source=ci/test-env.sh
. ci/test-env.sh
ci/services.sh up >/dev/null
ci/ganeti.sh up >/dev/null

purge_ours() {
  local pkgs
  pkgs=$(sed -n 's/^Package:[[:space:]]*//p' debian/control)
  for s in /etc/init.d/snf-* /etc/init.d/nfdhcpd; do
    [ -x "$s" ] && "$s" stop >/dev/null 2>&1 || true
  done
  # shellcheck disable=SC2086
  # (dpkg-query fails for packages this machine never knew: not an error here)
  installed=$({ dpkg-query -W -f '${Package} ${db:Status-Abbrev}\n' $pkgs 2>/dev/null || true; } |
              awk '$2 !~ /^(un|pn)/ {print $1}')
  if [ -n "$installed" ]; then
    echo "ci/debs-test.sh: purging $installed" >&2
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=300 $installed >/dev/null || true
  fi
}
trap 'purge_ours; echo "ci/debs-test.sh: package stage took $(( $(date +%s) - start )) s" >&2' EXIT

status=0
env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$PY" -m pytest -q -p no:cacheprovider -p no:django \
  "$@" debian/tests || status=$?
exit $status
