"""Fixtures shared by snf-asterias-app's tests (what they stand on lives in support/),
and the rule for tests that only one database server can run.

A test marked ``@pytest.mark.database("postgresql")`` runs only in the pass on that
server (SNF_TEST_DB, see ci/test.sh); the other passes skip it. In the pass on that
server it must run: a skip there (a fixture or the test giving up) is reported as a
failure, so the pass cannot stay green without its server-only tests.
"""

import os

import pytest
from support.api import FakeBackend, make_world
from support.fakerapi import FakeRapi

TEST_DB = os.environ.get("SNF_TEST_DB", "sqlite")


@pytest.fixture
def world(db):
    """Users alice, bob and root with API clients, flavors, images, a public network
    (support.api.make_world)."""
    return make_world()


@pytest.fixture
def fake_backend(monkeypatch, db):
    """A FakeBackend in place of Ganeti: jobs are recorded, finished on request through
    the dispatcher's callbacks."""
    return FakeBackend().install(monkeypatch)


@pytest.fixture
def fake(settings):
    """A FakeRapi that every RAPI client of the code under test talks to (OS
    snf-image+default)."""
    fake = FakeRapi()
    settings.GANETI_RAPI_CURL_FACTORY = fake.curl
    settings.GANETI_OS = "snf-image+default"
    return fake


def _databases(item):
    marker = item.get_closest_marker("database")
    return marker.args if marker else None


def pytest_collection_modifyitems(config, items):
    for item in items:
        wanted = _databases(item)
        if wanted and TEST_DB not in wanted:
            item.add_marker(pytest.mark.skip(
                reason="runs only on %s: ci/test.sh's pass with SNF_TEST_DB=%s"
                % (" or ".join(wanted), wanted[0])))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    wanted = _databases(item)
    if report.skipped and wanted and TEST_DB in wanted:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = ("a %s-only test skipped in the %s pass, which must run it: %s"
                           % (" or ".join(wanted), TEST_DB, reason))
