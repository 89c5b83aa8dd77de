#!/bin/bash
# Install every apt package listed in ci/packages/*.txt that is not installed yet.
# Idempotent: a second run on a ready machine only checks dpkg and returns.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=deps
# shellcheck source=ci/lib.sh
. ci/lib.sh

mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' ci/packages/*.txt | grep -v '^$' | sort -u)
ensure_packages "${wanted[@]}"
