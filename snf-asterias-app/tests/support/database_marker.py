"""A pytest plugin (conftest.py loads it): the rule for tests only one database server
can run.

A test marked ``@pytest.mark.database("postgresql")`` runs only in the pass on that
server (SNF_TEST_DB, see ci/test.sh); the other passes skip it. In the pass on that
server it must run: a skip there (a fixture or the test giving up) is reported as a
failure, so the pass cannot stay green without its server-only tests.
"""

import os

import pytest


def _test_db():
    return os.environ.get("SNF_TEST_DB", "sqlite")


def _databases(item):
    marker = item.get_closest_marker("database")
    return marker.args if marker else None


def pytest_collection_modifyitems(config, items):
    for item in items:
        wanted = _databases(item)
        if wanted and _test_db() not in wanted:
            item.add_marker(pytest.mark.skip(
                reason="runs only on %s: ci/test.sh's pass with SNF_TEST_DB=%s"
                % (" or ".join(wanted), wanted[0])))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    wanted = _databases(item)
    if report.skipped and wanted and _test_db() in wanted:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = ("a %s-only test skipped in the %s pass, which must run it: %s"
                           % (" or ".join(wanted), _test_db(), reason))
