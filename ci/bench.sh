#!/bin/bash
# Run every benchmark in bench/ and print its figures (no pass/fail on timings).
#   bench/bench_*.py   in-process (Django test settings; SQLite unless SNF_TEST_DB)
#   bench/dispatcher   needs ci/services.sh up (PostgreSQL, RabbitMQ)
#   bench/events       needs ci/services.sh up and ci/ganeti.sh up; root
#   bench/dhcp         network namespaces and NFQUEUE; root
#   bench/console      snf-vncauthproxy against websockify on loopback
#   bench/ui           the web application in headless chromium (servers seeded in SQLite)
#   bench/boot         POST /servers -> SSH for real images (kvm/TCG); root, services, Ganeti
# BENCH="dispatcher events" runs only those. Like make test, it starts what the chosen
# benchmarks need (ci/services.sh up, ci/ganeti.sh up: idempotent, nothing is stopped
# afterwards), and ends with one table of the SUMMARY| lines the benchmarks print:
# each figure, its reference measured in the same run, and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/venv.sh
# shellcheck source=ci/test-env.sh
. ci/test-env.sh
want() { [ -z "${BENCH:-}" ] || [[ " $BENCH " == *" $1 "* ]]; }
if want dispatcher || want events || want boot; then
  ci/services.sh up postgresql rabbitmq
fi
if want events || want boot; then
  ci/ganeti.sh up
fi
out=$(mktemp /tmp/snf-bench.XXXXXX)
trap 'rm -f "$out"' EXIT
for b in bench/bench_*.py; do
  want "$(basename "$b" .py)" || continue
  echo "=== $b"
  SYNNEFO_SETTINGS_DIR=ci/test-settings PYTHONPATH=ci .venv/bin/python "$b" | tee -a "$out"
done
for b in dispatcher events dhcp console ui boot; do
  want "$b" || continue
  echo "=== bench/$b"
  t0=$(date +%s)
  "bench/$b" | tee -a "$out"
  echo "(bench/$b took $(($(date +%s) - t0)) s)"
done
echo
echo "=== summary ($(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg))"
grep '^SUMMARY|' "$out" | cut -d'|' -f2- |
  awk -F'|' 'BEGIN { printf "%-50s %-24s %-30s %s\n", "figure", "measured", "reference (same run)", "ratio" }
             { printf "%-50s %-24s %-30s %s\n", $1, $2, $3, $4 }'
