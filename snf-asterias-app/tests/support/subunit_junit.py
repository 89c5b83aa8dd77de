"""A subunit v2 stream (Tempest's results, `stestr last --subunit`) -> per-test results
and a JUnit report that ci/junit_total.py counts (testsuite tests/failures/skipped)."""

import xml.etree.ElementTree as ET

import subunit
import testtools

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
_OUTCOME = {"success": PASSED, "xfail": PASSED, "skip": SKIPPED,
            "fail": FAILED, "uxsuccess": FAILED}


def _text(details, *names):
    out = []
    for name in names:
        if name in details:
            out.append(b"".join(details[name].iter_bytes()).decode("utf-8", "replace"))
    return "\n".join(out)


def read_results(path):
    """[(test id, outcome, message)] of the finished tests in the subunit file at ``path``;
    setUpClass failures ("tearDownClass (...)", "setUpClass (...)") count as tests."""
    results = []

    def on_test(test):
        outcome = _OUTCOME.get(test["status"])
        if outcome is None:  # "exists" (listed only), "inprogress"
            return
        test_id = test["id"].split("[", 1)[0]  # drop tempest's [id-...,smoke] tags
        results.append((test_id, outcome, _text(test["details"], "reason", "traceback")))

    with open(path, "rb") as f:
        stream = subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout")
        result = testtools.StreamToDict(on_test)
        result.startTestRun()
        stream.run(result)
        result.stopTestRun()
    return results


def write_junit(results, path, suite_name):
    failed = sum(1 for r in results if r[1] == FAILED)
    skipped = sum(1 for r in results if r[1] == SKIPPED)
    suite = ET.Element("testsuite", name=suite_name, tests=str(len(results)),
                       failures=str(failed), errors="0", skipped=str(skipped))
    for test_id, outcome, message in results:
        classname, _, name = test_id.rpartition(".")
        case = ET.SubElement(suite, "testcase", classname=classname, name=name)
        if outcome == FAILED:
            ET.SubElement(case, "failure", message=message.splitlines()[-1][:200]
                          if message else "failed").text = message
        elif outcome == SKIPPED:
            ET.SubElement(case, "skipped", message=message[:200])
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
