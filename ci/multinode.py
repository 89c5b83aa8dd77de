#!/usr/bin/python3
"""A whole asterias cloud from the .debs, one clean Debian root per node, set up by the
commands of docs/admin-guide.md (ci/guide_blocks.py reads them; they run verbatim).

Nodes (ci/noderoot.py: own network, UTS, PID, mount and IPC namespaces, on a bridge of
their own; addresses in 10.249.1.0/24):

    db          DB             PostgreSQL
    mq1..mq3    QUEUE          RabbitMQ, clustered (quorum queues)
    lb          LB             nginx with the shipped site (both APISERVERs upstream)
    api1, api2  APISERVER      snf-gunicorn; api2 also APISERVER-APACHE (Apache+mod_wsgi)
    logic1, 2   LOGIC          snf-dispatcher
    gnt1        GANETI-MASTER  Ganeti 3.0 (fake hypervisor) and snf-ganeti-eventd
    (client)    a bare netns on the bridge for openstacksdk and curl

The Ganeti cluster itself is initialised here (the guide leaves that to Ganeti's own
documentation); everything of ours follows the guide. Role tarballs hold the Debian
packages the guide's `# install on:` blocks name plus our packages' dependencies, so a run
installs only our .debs, from files, without the network.

    with Cloud(debs_dir) as cloud:
        cloud.bring_up()
        cloud.client(["curl", ...])       # runs in the client netns

`ci/multinode.py DEBS_DIR` only brings the cloud up and tears it down (with
SNF_MULTINODE_HOLD=FILE it waits until FILE is removed, for a look inside with nsenter);
the scenario is debian/tests/test_multinode.py.
"""

import concurrent.futures
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guide_blocks  # noqa: E402
import noderoot  # noqa: E402

NET = "10.249.1"
DOMAIN = "snfmn.test"
CLUSTER_IP = NET + ".40"
CLIENT_IP = NET + ".99"
CLIENT_PY = "/usr/bin/python3"       # Debian's, with python3-openstacksdk (ci/packages)

# name: (node types, last octet, role tarball)
NODES = {
    "db": (["DB"], 11, "db"),
    "mq1": (["QUEUE", "QUEUE-FIRST"], 12, "mq"),
    "mq2": (["QUEUE", "QUEUE-OTHERS"], 13, "mq"),
    "mq3": (["QUEUE", "QUEUE-OTHERS"], 14, "mq"),
    "lb": (["LB"], 15, "app"),
    "api1": (["APISERVER", "ADMIN"], 21, "app"),
    "api2": (["APISERVER", "APISERVER-APACHE"], 22, "app"),
    "logic1": (["LOGIC"], 31, "app"),
    "logic2": (["LOGIC"], 32, "app"),
    "gnt1": (["GANETI-MASTER"], 41, "gnt"),
}
# What the guide's install blocks do not name but a node of the role needs here:
# `service` (init-system-helpers), openssl for certificates, Ganeti itself (+ ssh keys).
ROLE_EXTRA = {
    "db": ["init-system-helpers"],
    "mq": ["init-system-helpers"],
    "app": ["init-system-helpers", "openssl", "python3-mysqldb"],   # + the MariaDB test
    "gnt": ["init-system-helpers", "openssl", "ganeti", "openssh-server"],
}

SITE = {
    "nodes_net": NET + ".0/24",
    "db_host": "db." + DOMAIN,
    "db_password": "mn-db-" + secrets.token_hex(6),
    "mq_nodes": "mq1 mq2 mq3",
    "mq_password": "mn-mq-" + secrets.token_hex(6),
    "ganeti_cluster": "gntc." + DOMAIN,
    "rapi_password": "mn-rapi-" + secrets.token_hex(6),
    "api_name": "cloud." + DOMAIN,
    "api_servers": "api1.%s api2.%s" % (DOMAIN, DOMAIN),
    "lb_address": "%s.%d" % (NET, NODES["lb"][1]),
    "secret_key": secrets.token_urlsafe(40),
    "prefix": "snfmn-",
    "ganeti_os": "noop+default",
    "public_subnet": "10.249.60.0/24",
    "public_link": "gnt-br0",
    "admin_user": "mnadmin",
    "admin_password": "mn-admin-" + secrets.token_hex(6),
}

NOOP_OS = {
    "ganeti_api_version": "20\n",
    "variants.list": "default\n",
    "parameters.list": "".join("%s ignored by the noop OS\n" % p for p in (
        "img_id", "img_format", "img_passwd", "img_properties", "img_personality",
        "config_url")),
    "create": "#!/bin/sh\nexit 0\n",
    "export": "#!/bin/sh\nexit 0\n",
    "import": "#!/bin/sh\nexec cat >/dev/null\n",
    "rename": "#!/bin/sh\nexit 0\n",
    "verify": "#!/bin/sh\nexit 0\n",
}


def log(msg):
    print("[multinode %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def parallel(fn, items):
    """fn(item) for every item at once; the first failure is raised."""
    items = list(items)
    with concurrent.futures.ThreadPoolExecutor(max(1, len(items))) as pool:
        for f in [pool.submit(fn, i) for i in items]:
            f.result()


def depends(deb):
    """Package names in a .deb's Depends and Pre-Depends (first alternatives, no versions)."""
    fields = noderoot.sh(["dpkg-deb", "-f", deb, "Depends", "Pre-Depends"]).stdout
    value = re.sub(r"(?m)^[A-Za-z-]+:", ",", fields)     # both fields as one list
    return [re.split(r"[\s(:]", d.split("|")[0].strip())[0]
            for d in value.split(",") if d.strip()]


def ours_in(debs_dir):
    """{package: .deb path} of the packages built into debs_dir."""
    ours = {p.name.split("_")[0]: p for p in Path(debs_dir).glob("*.deb")}
    assert "snf-common" in ours, "no packages in %s" % debs_dir
    return ours


def closure(ours, packages):
    """packages and every package of ours they depend on (apt-get install of files
    resolves no dependency among the files it is not given)."""
    todo, seen = list(packages), set()
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo += [d for d in depends(ours[p]) if d in ours]
    return sorted(seen)


def install_debs(node, debs, others=()):
    """Our .debs (copied in) and Debian packages the role tarball already holds: no
    `apt-get update`, no network; a dependency the tarball lacks fails loudly."""
    dest = node.path("/tmp/debs")
    dest.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        shutil.copy(deb, dest / deb.name)
    node.chroot("apt-get install -y -q --no-install-recommends %s %s"
                % (" ".join("/tmp/debs/" + d.name for d in debs), " ".join(others)),
                env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=600)


class Cloud:
    def __init__(self, debs_dir):
        self.debs_dir = Path(debs_dir)
        self.steps = guide_blocks.steps()
        wanted = guide_blocks.site_variables(self.steps)
        assert sorted(wanted) == sorted(SITE), \
            "the guide's site facts changed: %s vs ours %s" % (wanted, sorted(SITE))
        self.ours = ours_in(debs_dir)
        self.run = None
        self.nodes = {}
        self.timings = {}

    # ------------------------------------------------------------ set-up
    def types_of(self, name):
        return NODES[name][0]

    def nodes_of(self, node_type):
        found = [n for n in NODES if node_type in self.types_of(n)]
        assert found, "no node of type %s" % node_type
        return found

    def node_debs(self, name):
        """Our .deb files a node's install blocks name (and what they need of ours), and
        the other packages those blocks name."""
        ours, others = [], []
        for t in self.types_of(name):
            for p in guide_blocks.packages(self.steps, t):
                (ours if p in self.ours else others).append(p)
        return [self.ours[p] for p in closure(self.ours, ours)], sorted(set(others))

    def role_packages(self, role):
        """Debian packages of a role tarball: what the guide names for its nodes, what our
        .debs there depend on, and ROLE_EXTRA."""
        names = set(ROLE_EXTRA[role])
        for node in (n for n, (_t, _i, r) in NODES.items() if r == role):
            debs, others = self.node_debs(node)
            names |= set(others)
            names |= {d for deb in debs for d in depends(deb) if d not in self.ours}
        return sorted(names)

    def tarballs(self):
        roles = sorted({r for _t, _i, r in NODES.values()})
        t0 = time.monotonic()
        out = {}

        def build(role):
            out[role] = noderoot.tarball("mn-" + role, self.role_packages(role))
            noderoot.lower_dir(out[role])
        parallel(build, roles)
        self.timings["tarballs"] = time.monotonic() - t0
        return out

    def __enter__(self):
        self.run = noderoot.Run("multinode")
        return self

    def __exit__(self, *exc):
        if getattr(self, "client_ns", None):
            shutil.rmtree("/etc/netns/" + self.client_ns, ignore_errors=True)
        self.run.close()

    def bring_up(self):
        tars = self.tarballs()
        t0 = time.monotonic()
        self.net = self.run.net(NET, DOMAIN)
        # The cluster's floating address and the API's public name (the LB) by name too.
        self.net.hosts["gntc"] = CLUSTER_IP
        self.net.hosts["cloud"] = "%s.%d" % (NET, NODES["lb"][1])
        for name, (_types, octet, role) in NODES.items():
            self.nodes[name] = self.run.node(name, tars[role], self.net,
                                             ip="%s.%d" % (NET, octet))
        self.net.write_hosts()
        self._client_netns()
        parallel(self._install, [n for n in NODES if self.node_debs(n)[0]])
        log("our packages installed (%.1f s)" % (time.monotonic() - t0))
        self._prepare_ganeti(self.nodes["gnt1"])
        parallel(lambda n: self.nodes[n].start(), NODES)
        log("nodes started (%.1f s)" % (time.monotonic() - t0))
        # The cluster initialises while the guide's first steps (DB, QUEUE) run.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            ganeti = pool.submit(self._ganeti_init, self.nodes["gnt1"])
            for step in self.steps:
                touches = set(step.types) | ({step.src[0]} if step.src else set())
                if step.kind in ("run", "copy") and touches & {"GANETI-MASTER", "ADMIN"}:
                    ganeti.result()
                self._do(step)
        self.timings["bring-up"] = time.monotonic() - t0
        log("bring-up took %.1f s (role tarballs %.1f s before it)"
            % (self.timings["bring-up"], self.timings["tarballs"]))

    def _client_netns(self):
        self.client_ns = self.run.add_netns("client")
        self.net.attach(SimpleNamespace(ip=CLIENT_IP, netns=self.client_ns))
        etc = Path("/etc/netns") / self.client_ns
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(self.net.hosts_file())
        (etc / "resolv.conf").write_text("# no name servers: names are in hosts\n")

    def _install(self, name):
        install_debs(self.nodes[name], *self.node_debs(name))

    # ------------------------------------------------------------ Ganeti
    def _prepare_ganeti(self, node):
        """Files of a Ganeti master that `gnt-cluster init` expects (feasibility recipe)."""
        default = node.path("/etc/default/ganeti")
        text = default.read_text() if default.exists() else ""
        text = re.sub(r"(?m)^RAPI_ARGS=.*\n?", "", text)
        default.write_text(text + 'RAPI_ARGS="-b 0.0.0.0 --require-authentication"\n')
        node.write("/etc/ganeti/file-storage-paths",
                   "/srv/ganeti/file-storage\n/srv/ganeti/shared-file-storage\n")
        for d in ("file-storage", "shared-file-storage"):
            node.path("/srv/ganeti/" + d).mkdir(parents=True, exist_ok=True)
        for f, text in NOOP_OS.items():
            node.write("/srv/ganeti/os/noop/" + f, text,
                       0o755 if text.startswith("#!") else 0o644)
        # Roots made from one tarball share its ssh host keys: this one gets its own.
        node.chroot("rm -f /etc/ssh/ssh_host_* && ssh-keygen -q -A")
        noderoot.sh(["ip", "-n", node.netns, "link", "add", "gnt-br0", "type", "bridge"])
        noderoot.sh(["ip", "-n", node.netns, "link", "set", "gnt-br0", "up"])

    def _ganeti_init(self, node):
        t0 = time.monotonic()
        node.run([
            "gnt-cluster", "init", "--enabled-hypervisors=fake",
            "--enabled-disk-templates=diskless,file,sharedfile",
            "--file-storage-dir=/srv/ganeti/file-storage",
            "--shared-file-storage-dir=/srv/ganeti/shared-file-storage",
            "--master-netdev=eth0", "--master-netmask=24",
            "--nic-parameters=mode=bridged,link=gnt-br0", "--mac-prefix=aa:00:01",
            "--ipolicy-bounds-specs=min:disk-size=1,cpu-count=1,disk-count=0,"
            "memory-size=32,nic-count=0,spindle-use=0/max:disk-size=1048576,cpu-count=64,"
            "disk-count=16,memory-size=1048576,nic-count=8,spindle-use=12",
            "--no-ssh-init", "--no-etc-hosts", SITE["ganeti_cluster"]], timeout=300)
        log("Ganeti cluster initialised in %.1f s" % (time.monotonic() - t0))

    # ------------------------------------------------------------ the guide's steps
    def _do(self, step):
        if step.kind in ("site", "install", "skip"):
            return
        t0 = time.monotonic()
        targets = [n for t in step.types for n in self.nodes_of(t)]
        if step.kind == "copy":
            src = self.nodes[self.nodes_of(step.src[0])[0]].path(step.src[1])
            data = src.read_bytes()

            def copy(name):
                node = self.nodes[name]
                node.path(step.dst).parent.mkdir(parents=True, exist_ok=True)
                node.path(step.dst).write_bytes(data)
                node.run(["chown", step.owner, step.dst])
                node.run(["chmod", step.mode, step.dst])
            parallel(copy, sorted(set(targets)))
        else:
            def run(name):
                res = self.nodes[name].run(["bash", "-eu", "-c", step.body], env=SITE,
                                           check=False, timeout=600)
                if res.returncode != 0:
                    raise AssertionError(
                        "admin guide block at line %d failed on %s (exit %d)\n%s\n"
                        "stdout: %s\nstderr: %s" % (step.line, name, res.returncode,
                                                    step.body, res.stdout[-3000:],
                                                    res.stderr[-3000:]))
            parallel(run, sorted(set(targets)))
        log("guide line %d (%s %s) done in %.1f s"
            % (step.line, step.kind, ",".join(step.types), time.monotonic() - t0))

    # ------------------------------------------------------------ use
    def client(self, cmd, timeout=600, input=None, env=None):
        """cmd in the client netns (the host's files; /etc/hosts = the cloud's names)."""
        full = {"PATH": noderoot.CLEAN_PATH, "LANG": "C.UTF-8", "HOME": "/root"}
        full.update(env or {})
        return subprocess.run(["ip", "netns", "exec", self.client_ns] + list(cmd),
                              capture_output=True, text=True, timeout=timeout, input=input,
                              env=full)

    def node(self, name):
        return self.nodes[name]

    def kill(self, name):
        """SIGKILL the node's PID 1: every process of the node dies at once."""
        self.nodes[name].stop()

    def logs(self, names=None):
        out = []
        for name in names or NODES:
            node = self.nodes.get(name)
            if not node:
                continue
            for p in sorted(node.path("/var/log/synnefo").glob("*.log")) + \
                    sorted(node.path("/var/log/apache2").glob("*error*.log")):
                out.append("--- %s:%s\n%s" % (name, p.name, p.read_text(errors="replace")[-2500:]))
        return "\n".join(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: ci/multinode.py DEBS_DIR", file=sys.stderr)
        sys.exit(2)
    with Cloud(sys.argv[1]) as c:
        try:
            c.bring_up()
        finally:
            # SNF_MULTINODE_HOLD=FILE: keep the cloud (for nsenter) until FILE is removed.
            hold = os.environ.get("SNF_MULTINODE_HOLD")
            if hold:
                Path(hold).write_text("".join("%s %s\n" % (n, c.nodes[n].pid) for n in c.nodes))
                while Path(hold).exists():
                    time.sleep(1)
