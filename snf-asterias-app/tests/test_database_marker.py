"""support.database_marker, on a suite of its own run by pytester: a database-only test
is skipped by the other passes and fails its own pass when it skips there."""

import os

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
SUITE = '''
import pytest

@pytest.mark.database("postgresql")
def test_runs():
    pass

@pytest.mark.database("postgresql")
def test_gives_up():
    pytest.skip("no server")

@pytest.fixture
def server():
    pytest.skip("fixture gave up")

@pytest.mark.database("postgresql")
def test_fixture_gives_up(server):
    pass

def test_anywhere():
    pass
'''


def run(pytester, monkeypatch, test_db):
    """The suite under SNF_TEST_DB=``test_db``, in a pytest of its own with only the plugin."""
    monkeypatch.setenv("SNF_TEST_DB", test_db)
    monkeypatch.setenv("PYTHONPATH", TESTS)  # where support/ is
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeini("[pytest]\nmarkers =\n    database(vendor): only on that server\n")
    return pytester.runpytest_subprocess("-p", "no:django", "-p", "no:cacheprovider",
                                         "-p", "support.database_marker", "-rfEs")


@pytest.mark.parametrize("test_db", ["sqlite", "mysql"])
def test_other_passes_skip_the_database_only_tests(pytester, monkeypatch, test_db):
    result = run(pytester, monkeypatch, test_db)
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(["*runs only on postgresql*SNF_TEST_DB=postgresql*"])


def test_in_its_own_pass_a_skip_is_a_failure(pytester, monkeypatch):
    result = run(pytester, monkeypatch, "postgresql")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_fixture_gives_up*",
        "a postgresql-only test skipped in the postgresql pass, which must run it: "
        "Skipped: fixture gave up",
        "*_ test_gives_up _*",
        "a postgresql-only test skipped in the postgresql pass, which must run it: "
        "Skipped: no server"])
    assert result.ret != 0
