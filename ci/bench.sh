#!/bin/bash
# Run every benchmark in bench/ and print its figures (no pass/fail on timings).
#   bench/bench_*.py   in-process (Django test settings; SQLite unless SNF_TEST_DB)
#   bench/dispatcher   needs ci/services.sh up (PostgreSQL, RabbitMQ)
#   bench/events       needs ci/services.sh up and ci/ganeti.sh up; root
#   bench/dhcp         network namespaces and NFQUEUE; root
#   bench/console      snf-vncauthproxy against websockify on loopback
#   bench/boot         POST /servers -> SSH for real images (kvm/TCG); root, services, Ganeti
# BENCH="dispatcher events" runs only those.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/venv.sh
. ci/test-env.sh
want() { [ -z "${BENCH:-}" ] || [[ " $BENCH " == *" $1 "* ]]; }
for b in bench/bench_*.py; do
  want "$(basename "$b" .py)" || continue
  echo "=== $b"
  SYNNEFO_SETTINGS_DIR=ci/test-settings PYTHONPATH=ci .venv/bin/python "$b"
done
for b in dispatcher events dhcp console boot; do
  want "$b" || continue
  echo "=== bench/$b"
  t0=$(date +%s)
  "bench/$b"
  echo "(bench/$b took $(($(date +%s) - t0)) s)"
done
