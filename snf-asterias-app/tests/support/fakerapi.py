"""Ganeti's own RAPI handlers behind a curl factory, for unit tests.

Debian's ganeti-3.0 ships ``ganeti.rapi.testutils`` (under /usr/share/ganeti/3.0, put on
sys.path here only). Its ``FakeCurl`` feeds a pycurl client's request into the real
RAPI server code: authentication, URL routing, body and query parsing, opcode
construction and opcode validation all run as on a cluster. Only the LUXI transport
behind them (the master daemon) is replaced: ``FakeRapi`` records each submitted job's
opcodes, answers queries from test data, and returns job ids.

Tests use it through the ``fake`` fixture (conftest.py) or build their own;
test_backend_fakerapi.py checks the fake itself.
"""

import sys

GANETI_LIB = "/usr/share/ganeti/3.0"
if GANETI_LIB not in sys.path:
    sys.path.append(GANETI_LIB)

import ganeti.rpc.client as g_rpccl  # noqa: E402
from ganeti import errors as g_errors  # noqa: E402
from ganeti import http as g_http  # noqa: E402
from ganeti import luxi as g_luxi  # noqa: E402
from ganeti import rapi as g_rapi  # noqa: E402
from ganeti.rapi import testutils  # noqa: E402

from synnefo.backend.rapi import RapiClient  # noqa: E402

USER, PASSWORD = "rapi-user", "rapi-secret"
# Fields a real cluster always fills (RAPI's handlers rely on them).
INSTANCE_DEFAULTS = {"beparams": {"maxmem": 128, "minmem": 128, "vcpus": 1},
                     "hvparams": {}, "tags": [], "status": "running", "oper_state": True,
                     "admin_state": "up", "nic.macs": [], "nic.ips": [], "nic.links": [],
                     "nic.modes": [], "snodes": [], "disk.sizes": []}

NODE_DEFAULTS = {"offline": False, "drained": False, "vm_capable": True, "role": "R",
                 "master_candidate": False, "master_capable": True, "pinst_cnt": 0,
                 "mfree": 1024, "mtotal": 2048, "dfree": 10240, "dtotal": 20480, "ctotal": 4}


class _Transport:
    """A LUXI transport that answers from a FakeRapi instead of the master daemon."""

    def __init__(self, fake, address, timeouts=None, allow_non_master=None):
        self.fake = fake

    def Close(self):
        pass

    def Call(self, data):
        method, args, version = g_rpccl.ParseRequest(data)
        ok, result = self.fake.luxi_call(method, args)
        return g_rpccl.FormatResponse(ok, result, version=version)


class FakeRapi:
    """A RAPI endpoint made of Ganeti's handlers; ``jobs`` lists the submitted ops."""

    def __init__(self, instances=None, cluster_info=None, job_status=None, nodes=None,
                 tags=None):
        self.jobs = []  # (job id, [opcode dicts])
        self.next_job_id = 100
        self.instances = instances or {}  # name -> {field: value}
        self.cluster_info = cluster_info or {"name": "fake.example.org"}
        self.job_status = job_status or {}  # job id -> {field: value}
        self.nodes = nodes or {}
        self.tags = tags or {}  # instance name -> [tags]
        self.luxi_calls = []

        def user_fn(wanted):
            if wanted != USER:
                return None
            return g_http.auth.PasswordFileUser(USER, PASSWORD, [g_rapi.RAPI_ACCESS_WRITE])

        def luxi_client(address=None):
            return g_luxi.Client(transport=lambda *a, **kw: _Transport(self, *a, **kw),
                                 address=address)

        self.handler = testutils._RapiMock(user_fn, luxi_client, reqauth=True)

    # -- the curl factory a RapiClient takes --------------------------------------
    def curl(self):
        return testutils.FakeCurl(self.handler)

    def client(self, **kw):
        args = dict(host="fake.example.org", username=USER, password=PASSWORD,
                    curl_factory=self.curl)
        args.update(kw)
        return RapiClient(**args)

    # -- what the handlers asked the master for -----------------------------------
    def luxi_call(self, method, args):
        self.luxi_calls.append(method)
        if method == "SubmitJob":
            ops = args[0]
            # The ops must load back into Ganeti opcodes and validate, as luxid does.
            for op in ops:
                testutils.VerifyOpInput(op["OP_ID"], {k: v for k, v in op.items()
                                                      if k not in ("OP_ID",)})
            self.next_job_id += 1
            self.jobs.append((self.next_job_id, ops))
            return True, self.next_job_id
        if method == "QueryInstances":
            names, fields, _locking = args
            wanted = names or sorted(self.instances)
            missing = [n for n in wanted if n not in self.instances]
            if missing:
                return False, g_errors.EncodeException(
                    g_errors.OpPrereqError("Instance '%s' not known" % missing[0],
                                           "unknown_entity"))
            rows = []
            for n in wanted:
                inst = dict(INSTANCE_DEFAULTS, name=n)
                inst.update(self.instances[n])
                rows.append([inst.get(f) for f in fields])
            return True, rows
        if method == "QueryNodes":
            names, fields, _locking = args
            wanted = names or sorted(self.nodes)
            rows = []
            for n in wanted:
                node = dict(NODE_DEFAULTS, name=n)
                node.update(self.nodes[n])
                rows.append([node.get(f) for f in fields])
            return True, rows
        if method == "QueryJobs":
            ids, fields = args
            return True, [[self.job_status.get(int(i), {}).get(f) for f in fields]
                          if int(i) in self.job_status else None for i in ids]
        if method == "QueryClusterInfo":
            return True, self.cluster_info
        if method == "QueryTags":
            kind, name = args
            return True, list(self.tags.get(name, []))
        raise AssertionError("FakeRapi: no canned answer for LUXI %s%r" % (method, args))

    def last_op(self):
        assert self.jobs, "no job was submitted"
        job_id, ops = self.jobs[-1]
        assert len(ops) == 1, ops
        return ops[0]
