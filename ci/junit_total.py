"""ci/junit_total.py DIR - the TOTAL line of ci/test.sh from the JUnit reports in DIR.

    TOTAL: N passed, N failed, N skipped

Errors count as failures. A report may hold one <testsuite> or a <testsuites> of them.
"""

import glob
import os
import sys
import xml.etree.ElementTree as ET


def totals(directory):
    t = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for path in glob.glob(os.path.join(directory, "*.xml")):
        root = ET.parse(path).getroot()
        for suite in ([root] if root.tag == "testsuite" else root.findall("testsuite")):
            for k in t:
                t[k] += int(suite.get(k, 0))
    return t


if __name__ == "__main__":
    t = totals(sys.argv[1])
    failed = t["failures"] + t["errors"]
    print("\nTOTAL: %d passed, %d failed, %d skipped"
          % (t["tests"] - failed - t["skipped"], failed, t["skipped"]))
