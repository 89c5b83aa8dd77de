#!/bin/bash
# Create .venv: Debian's python3 with the apt python3-* packages visible, and every
# distribution of this tree installed editable (no PyPI access needed).
# VENV=path and PYTHON=interpreter override the defaults (used for the Django 5.2 run).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-/usr/bin/python3}
DISTS=${DISTS:-$(ls -d */pyproject.toml | xargs -n1 dirname | tr '\n' ' ')}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv --system-site-packages "$VENV"
stamp=$VENV/.dists-installed
want="$(for d in $DISTS; do echo "$d $(stat -c %Y "$d/pyproject.toml")"; done)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  for d in $DISTS; do
    "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation \
      --config-settings editable_mode=compat -e "./$d"
  done
  echo "$want" > "$stamp"
fi
