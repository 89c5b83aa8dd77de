#!/bin/bash
# Create .venv: Debian's python3 with the apt python3-* packages visible, every
# distribution of this tree installed editable, and the test-only tools of
# ci/requirements-test.txt (ruff, mypy) from PyPI.
# VENV=path, PYTHON=interpreter and REQUIREMENTS=file ('' for none) override the
# defaults (the Django 5.2 run uses its own venv without the tools).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-/usr/bin/python3}
REQUIREMENTS=${REQUIREMENTS-ci/requirements-test.txt}
projects=(*/pyproject.toml)
DISTS=${DISTS:-${projects[*]%/pyproject.toml}}

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
if [ -n "$REQUIREMENTS" ]; then
  stamp=$VENV/.requirements-installed
  if ! cmp -s "$REQUIREMENTS" "$stamp"; then
    "$VENV/bin/python" -m pip install -q -r "$REQUIREMENTS"
    cp "$REQUIREMENTS" "$stamp"
  fi
fi
