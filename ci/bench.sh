#!/bin/bash
# Run every benchmark in bench/ and print its figures (no pass/fail on timings).
set -euo pipefail
cd "$(dirname "$0")/.."
ci/venv.sh
. ci/test-env.sh
for b in bench/bench_*.py; do
  echo "=== $b"
  SYNNEFO_SETTINGS_DIR=ci/test-settings PYTHONPATH=ci .venv/bin/python "$b"
done
