#!/usr/bin/python3
"""ci/rapi.py - the ci scripts' client of the Ganeti test cluster's RAPI.

    ci/rapi.py ping                  exit 0 when RAPI answers GET /2/info
    ci/rapi.py status                one line about the cluster, one with its OS list
    ci/rapi.py get PATH              the JSON answer, indented
    ci/rapi.py hypervisors           the enabled hypervisors, comma-separated, default first
    ci/rapi.py kvm-state HVPARAMS    enabled-ok (kvm enabled with HVPARAMS "k=v,k=v" and fake
                                     still the default), enabled-other or disabled
    ci/rapi.py smoke NAME TEMPLATE OS NODE
                                     create, shutdown, startup, reboot and remove instance NAME,
                                     each job timed (log on stderr); exit 1 when one fails

Where and who: SNF_TEST_RAPI_HOST, _PORT, _USER and _PASSWORD (ci/test-env.sh). The
cluster's certificate is self-signed, so it is not verified. Debian's python3, standard
library only (it runs before any venv exists).
"""

import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

JOB_TIMEOUT = 120  # seconds a smoke-test job may take
FINAL_STATUSES = ("success", "error", "canceled")


class RapiError(Exception):
    """RAPI did not answer, or answered with an error; the message says which."""


class Rapi:
    def __init__(self, host, port, user, password, timeout=30):
        self.base = "https://%s:%s" % (host, port)
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.headers = {"Authorization": "Basic " + token, "Accept": "application/json"}
        self.timeout = timeout
        self.tls = ssl.create_default_context()
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE

    @classmethod
    def from_env(cls, timeout=30):
        env = os.environ
        try:
            return cls(env["SNF_TEST_RAPI_HOST"], env["SNF_TEST_RAPI_PORT"],
                       env["SNF_TEST_RAPI_USER"], env["SNF_TEST_RAPI_PASSWORD"], timeout)
        except KeyError as exc:
            raise RapiError("%s is not set (source ci/test-env.sh)" % exc.args[0]) from None

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.tls) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            raise RapiError("%s %s: HTTP %d %s" % (method, path, exc.code,
                                                   exc.read().decode(errors="replace")))
        except (OSError, ValueError) as exc:
            raise RapiError("%s %s%s: %s" % (method, self.base, path, exc)) from None

    def get(self, path):
        return self.request("GET", path)

    def info(self):
        info = self.get("/2/info")
        if not isinstance(info, dict) or "software_version" not in info:
            raise RapiError("GET /2/info: not Ganeti's answer: %r" % (info,))
        return info

    def wait_job(self, job_id, timeout=JOB_TIMEOUT):
        """The job's final status, or "timeout"."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get("/2/jobs/%s" % job_id)["status"]
            if status in FINAL_STATUSES:
                return status
            time.sleep(0.1)
        return "timeout"


def log(text):
    print("[rapi %s] %s" % (time.strftime("%H:%M:%S"), text), file=sys.stderr)


def cmd_status(rapi):
    i = rapi.info()
    print("  cluster %s, master %s, Ganeti %s, hypervisors %s, disk templates %s" % (
        i["name"], i["master"], i["software_version"], ",".join(i["enabled_hypervisors"]),
        ",".join(i["enabled_disk_templates"])))
    print("  OS: %s" % json.dumps(rapi.get("/2/os")))


def kvm_state(info, hvparams):
    if "kvm" not in info["enabled_hypervisors"]:
        return "disabled"
    want = dict(kv.split("=", 1) for kv in hvparams.split(","))
    have = info["hvparams"]["kvm"]
    same = all(str(have.get(k)).lower() == v.lower() for k, v in want.items())
    return "enabled-ok" if same and info["default_hypervisor"] == "fake" else "enabled-other"


def timed_job(rapi, label, method, path, body=None):
    t0 = time.monotonic()
    job = rapi.request(method, path, body)
    if not str(job).isdigit():
        raise RapiError("%s: not a job id: %r" % (label, job))
    status = rapi.wait_job(job)
    log("%s: job %s %s in %.1f s" % (label, job, status, time.monotonic() - t0))
    if status != "success":
        raise RapiError("%s: job %s %s: %s" % (label, job, status,
                                               rapi.get("/2/jobs/%s" % job).get("opresult")))


def cmd_smoke(rapi, name, template, os_name, node):
    body = {"__version__": 1, "mode": "create", "name": name,
            "disk_template": template,
            "disks": [] if template == "diskless" else [{"size": 64}],
            "nics": [{"mac": "generate"}],
            "os_type": os_name + "+default", "osparams": {"img_id": "test"},
            "pnode": node, "hypervisor": "fake",
            "beparams": {"vcpus": 1, "maxmem": 128, "minmem": 128},
            "ip_check": False, "name_check": False, "start": True}
    timed_job(rapi, "create %s (%s, %s+default)" % (name, template, os_name),
              "POST", "/2/instances", body)
    timed_job(rapi, "shutdown", "PUT", "/2/instances/%s/shutdown" % name)
    timed_job(rapi, "startup", "PUT", "/2/instances/%s/startup" % name)
    timed_job(rapi, "reboot", "POST", "/2/instances/%s/reboot?type=hard" % name)
    for i in rapi.get("/2/instances?bulk=1"):
        log("  %s status=%s oper_state=%s macs=%s"
            % (i["name"], i["status"], i["oper_state"], i["nic.macs"]))
    timed_job(rapi, "remove", "DELETE", "/2/instances/%s" % name)


def main(argv):
    usage = "usage: ci/rapi.py ping|status|get PATH|hypervisors|kvm-state HVPARAMS|" \
            "smoke NAME TEMPLATE OS NODE"
    cmd, args = (argv[0], argv[1:]) if argv else (None, [])
    arity = {"ping": 0, "status": 0, "get": 1, "hypervisors": 0, "kvm-state": 1, "smoke": 4}
    if arity.get(cmd) != len(args):
        print(usage, file=sys.stderr)
        return 2
    try:
        # The quick questions must not hang a script that waits for the cluster.
        rapi = Rapi.from_env(timeout=30 if cmd == "smoke" else 5)
        if cmd == "ping":
            rapi.info()
        elif cmd == "status":
            cmd_status(rapi)
        elif cmd == "get":
            print(json.dumps(rapi.get(args[0]), indent=1))
        elif cmd == "hypervisors":
            print(",".join(rapi.info()["enabled_hypervisors"]))
        elif cmd == "kvm-state":
            print(kvm_state(rapi.info(), args[0]))
        else:
            cmd_smoke(rapi, *args)
    except RapiError as exc:
        if cmd != "ping":
            print("ci/rapi.py: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
