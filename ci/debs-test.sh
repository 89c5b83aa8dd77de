#!/bin/bash
# ci/debs-test.sh - the package stage of `make test`.
#
#   ci/debs-test.sh [REPORT_DIR]     junit reports debs-{build,roots,multinode,piuparts}.xml go there
#
# Builds the packages (twice: this version with its unit tests, and a higher
# version for the upgrade test) and checks their contents and lintian; then, in
# parallel, runs every node type from them in clean bookworm roots, then a
# multi-node cloud, and piuparts (debian/tests/). Nothing is installed on this machine (the packages go into
# clean roots, ci/noderoot.py), so this stage may run beside the other suites.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
OUT=${1:-$(mktemp -d /tmp/snf-debs-reports.XXXXXX)}
mkdir -p "$OUT"
# shellcheck disable=SC2034  # read by the EXIT trap
start=$(date +%s)
trap 'echo "ci/debs-test.sh: package stage took $(( $(date +%s) - start )) s" >&2' EXIT

ci/deps.sh

pytest() {
  local name=$1; shift
  env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$PY" -m pytest -q -p no:cacheprovider -p no:django \
    --junitxml="$OUT/debs-$name.xml" "$@"
}

status=0
pytest build debian/tests/test_debs_build.py || status=1
if [ -z "$(ls "${SNF_DEBS_TEST_DIR:-/tmp/snf-debs-test}"/upgrade/*.deb 2>/dev/null)" ]; then
  echo "ci/debs-test.sh: no packages built; node and piuparts tests not run" >&2
  exit 1
fi
# Both use the packages just built; their output is shown one after the other.
SNF_DEBS_REUSE=1 pytest piuparts debian/tests/test_debs_piuparts.py > "$OUT/piuparts.out" 2>&1 &
piuparts=$!
SNF_DEBS_REUSE=1 pytest roots debian/tests/test_debs_roots.py || status=1
# Then a whole cloud set up by the admin guide's commands (docs/admin-guide.md).
SNF_DEBS_REUSE=1 pytest multinode debian/tests/test_multinode.py || status=1
wait $piuparts || status=1
cat "$OUT/piuparts.out"
exit $status
