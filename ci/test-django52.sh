#!/bin/bash
# Run the Django suites under Django 5.2 LTS: a venv over Debian's python3 (apt libraries
# stay visible) with Django 5.2 and a matching pytest-django from PyPI shadowing Debian's.
# (`make test` runs the same stage as part of the full suite.)
set -euo pipefail
cd "$(dirname "$0")/.."
export VENV=.venv-django52
ci/venv.sh
"$VENV/bin/python" -m pip install -q 'Django>=5.2,<5.3' 'pytest-django>=4.9'
"$VENV/bin/python" -c 'import django; assert django.VERSION[:2] == (5, 2), django.__version__; print("Django", django.__version__)'
. ci/test-env.sh
ci/services.sh up postgresql
status=0
for db in sqlite postgresql; do
  for dist in snf-webproject snf-asterias-app; do
    echo "=== $dist on $db (Django 5.2)"
    (cd "$dist" && SNF_TEST_DB=$db "../$VENV/bin/python" -m pytest -q -p no:cacheprovider \
        -m "not integration" tests) || status=1
  done
done
exit $status
