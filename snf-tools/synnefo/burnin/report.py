"""What a burnin run found: one result per step (passed, failed or skipped with the
reason), written as JUnit XML (one testsuite per group: "sanity", each image, "stale")
and as JSON."""

import json
import threading
import time
import xml.etree.ElementTree as ET

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


class Results:
    def __init__(self):
        self.items = []
        self._lock = threading.Lock()  # image groups run in threads (--fanout)

    def add(self, group, step, status, seconds=0.0, message=""):
        with self._lock:
            self.items.append({"group": group, "step": step, "status": status,
                               "seconds": round(seconds, 3), "message": message})

    def count(self, status):
        return sum(1 for r in self.items if r["status"] == status)

    def failed(self):
        return self.count(FAILED) > 0

    def summary(self):
        return "%d passed, %d failed, %d skipped" % (
            self.count(PASSED), self.count(FAILED), self.count(SKIPPED))

    def to_json(self):
        return json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "passed": self.count(PASSED), "failed": self.count(FAILED),
                           "skipped": self.count(SKIPPED), "results": self.items}, indent=2)

    def to_junit(self):
        suites = ET.Element("testsuites", name="snf-burnin")
        groups = {}
        for r in self.items:
            groups.setdefault(r["group"], []).append(r)
        for group, items in groups.items():
            suite = ET.SubElement(suites, "testsuite", name=group, tests=str(len(items)),
                                  failures=str(sum(r["status"] == FAILED for r in items)),
                                  skipped=str(sum(r["status"] == SKIPPED for r in items)),
                                  errors="0", time="%.3f" % sum(r["seconds"] for r in items))
            for r in items:
                case = ET.SubElement(suite, "testcase", classname="burnin." + group,
                                     name=r["step"], time="%.3f" % r["seconds"])
                if r["status"] == FAILED:
                    ET.SubElement(case, "failure", message=r["message"]).text = r["message"]
                elif r["status"] == SKIPPED:
                    ET.SubElement(case, "skipped", message=r["message"])
        return ET.tostring(suites, encoding="unicode")
