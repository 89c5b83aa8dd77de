#!/bin/bash
# ci/test.sh - run the test suites.
#
#   ci/test.sh all       install deps, start PostgreSQL, MariaDB, RabbitMQ (plus a
#                        three-node cluster) and the Ganeti test cluster, then run every
#                        dist's tests (the Django ones on SQLite, PostgreSQL and MariaDB,
#                        and under Django 5.2), and the Debian packages (in parallel:
#                        clean roots, nothing installed here). `make test`.
#   ci/test.sh unit      only the tests that need no service (SQLite); fast iteration.
#   ci/test.sh django52  the Django suites under Django 5.2 LTS only (`make test-django52`).
#
# Both all and unit start with `make lint` (ci/lint.py), whose checks count as tests.
# Prints one summary line at the end: "TOTAL: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-all}
case $MODE in all|unit|django52) ;; *) echo "usage: $0 all|unit|django52" >&2; exit 2 ;; esac
PY=${PY:-.venv/bin/python}
REPORTS=$(mktemp -d /tmp/snf-test-reports.XXXXXX)
# Tests that run a tool with its own JUnit report (snf-burnin) put it here too.
export SNF_TEST_REPORTS=$REPORTS
trap 'rm -rf "$REPORTS"' EXIT
status=0

log() { printf '\n=== %s\n' "$*"; }

# run NAME DIR [pytest args...]: one pytest run over DIR's tests, with its own junit report.
# A dist without tests is an error, not a silent pass.
run() {
  local name=$1 dir=$2; shift 2
  log "$name"
  if ! compgen -G "$dir/tests/test_*.py" >/dev/null; then
    echo "ci/test.sh: no tests in $dir/tests" >&2
    status=1
    return 0
  fi
  (cd "$dir" && "$OLDPWD/${RUN_PY:-$PY}" -m pytest -q -p no:cacheprovider \
      --junitxml="$REPORTS/$name.xml" "$@" tests) || status=1
}

# The same code on the current Django LTS (PyPI) as on bookworm's Django 3.2.
django52_stage() {
  log "Django 5.2 venv"
  VENV=.venv-django52 REQUIREMENTS='' ci/venv.sh
  .venv-django52/bin/python -m pip install -q 'Django>=5.2,<5.3' 'pytest-django>=4.9'
  local db
  for db in sqlite postgresql; do
    RUN_PY=.venv-django52/bin/python SNF_TEST_DB=$db \
      run "snf-webproject-django52-$db" snf-webproject -m "not integration"
    RUN_PY=.venv-django52/bin/python SNF_TEST_DB=$db \
      run "snf-asterias-app-django52-$db" snf-asterias-app -m "not integration"
  done
}

report() { "$PY" ci/junit_total.py "$REPORTS"; }

if [ "$MODE" != unit ]; then
  log "dependencies"
  ci/deps.sh
fi
ci/venv.sh
# shellcheck source=ci/test-env.sh
. ci/test-env.sh

if [ "$MODE" = django52 ]; then
  ci/services.sh up postgresql
  django52_stage
  report
  exit $status
fi

log "lint: ruff, shellcheck, mypy"
"$PY" ci/lint.py --junit "$REPORTS/lint.xml" || status=1

if [ "$MODE" = all ]; then
  log "services"
  ci/services.sh up
  ci/ganeti.sh up
  ci/rabbitmq-cluster.sh up   # three-node cluster for the broker fail-over test
  MARK=()
  # The Debian packages (build, lintian, each node type in a clean root, piuparts)
  # touch nothing on this machine: they run beside the suites below.
  log "Debian packages: started in the background"
  ci/debs-test.sh "$REPORTS" > "$REPORTS/debs.log" 2>&1 &
  debs_pid=$!
else
  MARK=(-m "not integration")
fi

NODJANGO=(-p no:django)
run snf-common snf-common "${NODJANGO[@]}" "${MARK[@]}"
run nfdhcpd nfdhcpd "${NODJANGO[@]}" "${MARK[@]}"
run snf-ganeti-tools snf-ganeti-tools "${NODJANGO[@]}" "${MARK[@]}"
run snf-image snf-image "${NODJANGO[@]}" "${MARK[@]}"
run snf-vncauthproxy snf-vncauthproxy "${NODJANGO[@]}" "${MARK[@]}"
run snf-tools snf-tools "${NODJANGO[@]}" "${MARK[@]}"
run snf-webproject snf-webproject "${MARK[@]}"
# The compute app: unit tests on every database; the integration tests (real Ganeti,
# RabbitMQ, gunicorn, OpenStack clients, Debian's Tempest: tests/test_tempest.py writes
# tempest.xml into $SNF_TEST_REPORTS) once, on PostgreSQL. Tests marked
# database("postgresql") are skipped by the other passes and fail this one if they
# skip in it (snf-asterias-app/tests/support/database_marker.py).
SNF_TEST_DB=sqlite run snf-asterias-app-sqlite snf-asterias-app -m "not integration"
if [ "$MODE" = all ]; then
  run ci ci "${NODJANGO[@]}"
  SNF_TEST_DB=postgresql run snf-asterias-app-postgresql snf-asterias-app
  SNF_TEST_DB=mysql run snf-asterias-app-mysql snf-asterias-app -m "not integration"
  django52_stage
  log "Debian packages"
  wait "$debs_pid" || status=1
  cat "$REPORTS/debs.log"
fi

report
exit $status
