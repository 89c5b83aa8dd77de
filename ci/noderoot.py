#!/usr/bin/python3
"""Clean Debian bookworm roots as "nodes", each in its own namespaces (docs/packaging.md).

A *tarball* is an `mmdebstrap --variant=apt` root (base packages plus a role's),
cached under CACHE and rebuilt when missing or when its recipe (suite, mirrors,
package list) changes; it is extracted once into a *lower* dir. A *node* is an
overlayfs over that lower dir (per run, so roots are cheap and never reused) run
as a chroot with its own network, UTS, PID, mount and IPC namespaces; its network
is a veth to a bridge that lives in a network namespace of its own, so nothing a
node does reaches the host or any other run.

    with Run() as run:                      # stale runs of dead processes go first
        net = run.net("10.249.0")           # bridge netns; nodes get .11, .12, ...
        web = run.node("web", tarball("base"), net)
        web.install(["./build/debs/snf-common_1_all.deb", "nginx"])   # host netns, apt
        web.start()
        web.run("/etc/init.d/nginx start")  # nsenter into all its namespaces
    # leaving the block kills every node, deletes the netns, unmounts, removes files

Command line: `ci/noderoot.py tarball NAME [PACKAGE...]` builds (or finds) a
tarball and prints its path; `ci/noderoot.py cleanup` removes what dead runs left.
Needs root, mmdebstrap, util-linux (unshare, nsenter), iproute2.
"""

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("SNF_ROOTS_CACHE", "/var/cache/synnefo-ci/roots"))
RUNS = Path(os.environ.get("SNF_ROOTS_RUNS", "/var/tmp/synnefo-ci/roots"))
SUITE = "bookworm"
BASE_PACKAGES = ["ca-certificates", "iproute2", "procps", "curl", "netbase"]
# Changing how a tarball is made must rebuild the cached ones: part of the key.
RECIPE = 1
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NS_PREFIX = "snfr-"


def sh(cmd, check=True, timeout=600, input=None, env=None):
    """Run cmd (list, or str for sh -c) with a clean environment; -> CompletedProcess."""
    if isinstance(cmd, str):
        cmd = ["sh", "-c", cmd]
    full_env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": "/root"}
    full_env.update(env or {})
    # Output through files, not pipes: a daemon the command starts may keep them open.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        res = subprocess.run([str(c) for c in cmd], stdout=out, stderr=err, text=True,
                             timeout=timeout, input=input, env=full_env)
        out.seek(0)
        err.seek(0)
        res.stdout, res.stderr = out.read(), err.read()
    if check and res.returncode != 0:
        raise RuntimeError("%s exited %d\nstdout: %s\nstderr: %s"
                           % (" ".join(map(str, cmd)), res.returncode,
                              res.stdout[-4000:], res.stderr[-4000:]))
    return res


# ------------------------------------------------------------------ tarballs

def host_sources(suite=SUITE):
    """The host's apt sources for `suite` and its -updates/-security, as one-line
    entries: the nodes use the same mirror as this machine."""
    entries = []
    files = [Path("/etc/apt/sources.list")] + sorted(Path("/etc/apt/sources.list.d").glob("*"))
    for f in files:
        if not f.is_file():
            continue
        text = f.read_text()
        if f.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
                if "deb" not in fields.get("Types", "").split():
                    continue
                for uri in fields.get("URIs", "").split():
                    for s in fields.get("Suites", "").split():
                        entries.append((uri, s, fields.get("Components", "main")))
        elif f.suffix == ".list":
            for line in text.splitlines():
                m = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line.strip())
                if m:
                    entries.append(m.groups())
    lines = ["deb %s %s %s" % (u, s, c.split("#")[0].strip()) for u, s, c in entries
             if s == suite or s.startswith(suite + "-")]
    if not lines:
        raise RuntimeError("no apt source for %s in /etc/apt/sources.list*" % suite)
    return lines


def tarball_key(packages, suite=SUITE):
    recipe = json.dumps([RECIPE, suite, host_sources(suite), sorted(packages)])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def tarball(name="base", packages=(), suite=SUITE):
    """Path of the cached tarball `name` holding BASE_PACKAGES + packages; built with
    mmdebstrap when missing or when its recipe changed (older ones are removed)."""
    pkgs = sorted(set(BASE_PACKAGES) | set(packages))
    key = tarball_key(pkgs, suite)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / ("%s-%s.tar" % (name, key))
    with _locked(CACHE / (name + ".lock")):
        if path.exists():
            return path
        t0 = time.monotonic()
        tmp = path.with_suffix(".tmp.tar")
        hook = ('printf "#!/bin/sh\\nexit 101\\n" > "$1"/usr/sbin/policy-rc.d; '
                'chmod 755 "$1"/usr/sbin/policy-rc.d; rm -f "$1"/etc/hostname')
        # policy-rc.d stays: packages installed later start nothing by themselves
        # (a node starts its services through their init scripts, as a test says).
        sh(["mmdebstrap", "--variant=apt", "--quiet",
            "--aptopt=APT::Install-Recommends \"false\"",
            "--skip=download/empty", "--customize-hook=" + hook,
            "--include=" + ",".join(pkgs), suite, tmp] + host_sources(suite), timeout=1200)
        tmp.rename(path)
        for old in CACHE.glob("%s-*.tar" % name):
            if old != path:
                old.unlink()
        print("noderoot: built %s in %.1f s" % (path, time.monotonic() - t0), file=sys.stderr)
        return path


def lower_dir(tar):
    """The tarball extracted once (read-only lower dir of the nodes' overlays)."""
    tar = Path(tar)
    lower = CACHE / "lower" / tar.stem
    with _locked(CACHE / (tar.stem + ".lock")):
        if not (lower / ".complete").exists():
            if lower.exists():
                shutil.rmtree(lower)
            lower.mkdir(parents=True)
            sh(["tar", "-C", lower, "--numeric-owner", "-xpf", tar])
            (lower / ".complete").touch()
        # Lower dirs of tarballs that no longer exist go, unless a mount still uses them.
        mounts = Path("/proc/self/mounts").read_text()
        for other in (CACHE / "lower").iterdir():
            if other != lower and not (CACHE / (other.name + ".tar")).exists() \
                    and str(other) not in mounts:
                shutil.rmtree(other, ignore_errors=True)
    return lower


class _locked:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.f = open(self.path, "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        self.f.close()


# ------------------------------------------------------------------ runs

def _starttime(pid):
    """Kernel start time of pid (tells a live process from a recycled pid), or None."""
    try:
        return Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid, start):
    return start is not None and _starttime(pid) == start


def _teardown(run_dir):
    """Kill the nodes, delete the netns, unmount and remove everything of run_dir.
    Idempotent; works from the state files alone (for runs of dead processes)."""
    for f in sorted((run_dir / "pids").glob("*")):
        pid = int(f.name)
        if _alive(pid, f.read_text().strip()):
            os.kill(pid, 9)
            # (a generous bound: the kernel tears the node's PID namespace down first,
            # slowly on a loaded machine)
            end = time.monotonic() + 60
            while _alive(pid, f.read_text().strip()) and time.monotonic() < end:
                time.sleep(0.05)
        f.unlink()
    for f in sorted((run_dir / "netns").glob("*")):
        sh(["ip", "netns", "del", f.name], check=False)
        f.unlink()
    prefix = str(run_dir) + "/"
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for m in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
        if sh(["umount", m], check=False).returncode != 0:
            sh(["umount", "-l", m], check=False)
    shutil.rmtree(run_dir, ignore_errors=True)


def cleanup_stale():
    """Tear down the runs whose owning process is gone (a killed test, a crash)."""
    if not RUNS.exists():
        return []
    gone = []
    for d in sorted(RUNS.iterdir()):
        try:
            owner = json.loads((d / "owner.json").read_text())
        except (OSError, ValueError):
            owner = {"pid": 0, "start": None}
        if not _alive(owner["pid"], owner["start"]):
            _teardown(d)
            gone.append(d.name)
    return gone


class Run:
    """One set of nodes and networks with one owner; a context manager that always
    tears everything down. Creating one first removes stale runs."""

    def __init__(self, label="run"):
        cleanup_stale()
        self.id = secrets.token_hex(3)
        self.dir = RUNS / ("%s-%s" % (label, self.id))
        for sub in ("pids", "netns", "nodes"):
            (self.dir / sub).mkdir(parents=True)
        (self.dir / "owner.json").write_text(json.dumps(
            {"pid": os.getpid(), "start": _starttime(os.getpid())}))
        self.nodes = {}

    def netns_name(self, name):
        return "%s%s-%s" % (NS_PREFIX, self.id, name)

    def add_netns(self, name):
        ns = self.netns_name(name)
        (self.dir / "netns" / ns).touch()        # recorded first: cleanup finds it
        sh(["ip", "netns", "add", ns])
        sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        return ns

    def net(self, prefix="10.249.0", domain="node.test"):
        return Net(self, prefix, domain)

    def node(self, name, tar, net=None, ip=None, hostname=None):
        """A node rooted in an overlay over tar's lower dir (not started yet)."""
        n = Node(self, name, tar, net, ip, hostname)
        self.nodes[name] = n
        return n

    def close(self):
        for n in self.nodes.values():
            n.stop()
        _teardown(self.dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Net:
    """A /24 on a bridge inside its own netns; nodes have no default route."""

    def __init__(self, run, prefix, domain):
        self.owner, self.prefix, self.domain = run, prefix, domain
        self.ns = run.add_netns("br")
        sh(["ip", "-n", self.ns, "link", "add", "br0", "type", "bridge"])
        sh(["ip", "-n", self.ns, "link", "set", "br0", "up"])
        self.hosts = {}          # name -> ip
        self.next = 11

    def address(self, name, ip=None):
        if ip is None:
            ip = "%s.%d" % (self.prefix, self.next)
            self.next += 1
        self.hosts[name] = ip
        return ip

    def attach(self, node):
        """veth: v<N> on the bridge, eth0 in the node's netns."""
        port = "v" + node.ip.rsplit(".", 1)[1]
        sh(["ip", "-n", self.ns, "link", "add", port, "type", "veth",
            "peer", "name", "eth0", "netns", node.netns])
        sh(["ip", "-n", self.ns, "link", "set", port, "master", "br0", "up"])
        sh(["ip", "-n", node.netns, "addr", "add", node.ip + "/24", "dev", "eth0"])
        sh(["ip", "-n", node.netns, "link", "set", "eth0", "up"])

    def hosts_file(self):
        lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
        lines += ["%s %s.%s %s" % (ip, n, self.domain, n) for n, ip in self.hosts.items()]
        return "\n".join(lines) + "\n"

    def write_hosts(self, new=None):
        """The same /etc/hosts (every node of this net by name) in every node (and in
        `new`, a node not registered with the run yet)."""
        for n in list(self.owner.nodes.values()) + [new]:
            if n is not None and n.net is self:
                n.write("/etc/hosts", self.hosts_file())


class Node:
    def __init__(self, run, name, tar, net, ip, hostname):
        self.owner, self.name, self.net = run, name, net
        self.dir = run.dir / "nodes" / name
        self.root = self.dir / "root"
        upper, work = self.dir / "upper", self.dir / "work"
        for d in (self.root, upper, work):
            d.mkdir(parents=True)
        _seed_debs(upper)
        sh(["mount", "-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s"
            % (lower_dir(tar), upper, work), self.root])
        self.hostname = hostname or (("%s.%s" % (name, net.domain)) if net else name)
        self.netns = run.add_netns(name)
        self.ip = None
        if net:
            self.ip = net.address(name, ip)
            net.attach(self)
            net.write_hosts(self)
        else:
            self.write("/etc/hosts", "127.0.0.1 localhost\n")
        self.pid = None
        self.proc = None
        self.updated = False

    def path(self, p):
        return self.root / str(p).lstrip("/")

    def write(self, p, text, mode=0o644):
        f = self.path(p)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
        f.chmod(mode)

    def install(self, packages, options=(), timeout=900):
        """apt-get install packages (names, or paths of .debs, copied in) into the root,
        dependencies from the archive. Runs in the host's netns (the node's has no route
        out) in a private mount and PID namespace; nothing starts (policy-rc.d)."""
        args = []
        for p in packages:
            if str(p).endswith(".deb"):
                dest = self.path("/tmp/debs") / Path(p).name
                dest.parent.mkdir(exist_ok=True)
                shutil.copy(p, dest)
                args.append("/tmp/debs/" + Path(p).name)
            else:
                args.append(str(p))
        cmd = "apt-get install -y -q %s %s" % (" ".join(options), " ".join(args))
        if not self.updated:
            cmd = "apt-get update -qq && " + cmd
        res = self.chroot(cmd, timeout=timeout, check=False,
                          env={"DEBIAN_FRONTEND": "noninteractive"})
        _harvest_debs(self.path("/var/cache/apt/archives"))
        if res.returncode != 0:
            raise RuntimeError("apt-get install in %s failed (%d):\n%s\n%s"
                               % (self.name, res.returncode, res.stdout[-6000:],
                                  res.stderr[-4000:]))
        self.updated = True
        return res

    def chroot(self, cmd, check=True, timeout=600, env=None, input=None):
        """cmd in the root but the host's netns (apt's network), own mount+PID ns."""
        if isinstance(cmd, list):
            cmd = " ".join(_quote(c) for c in cmd)
        r = _quote(str(self.root))
        envs = " ".join("%s=%s" % (k, _quote(v)) for k, v in (env or {}).items())
        script = ("mount -t proc proc %(r)s/proc && mount -t tmpfs tmpfs %(r)s/dev/shm && "
                  "mount -t devpts -o newinstance,ptmxmode=0666 devpts %(r)s/dev/pts && "
                  "exec chroot %(r)s env -i PATH=%(p)s HOME=/root LANG=C.UTF-8 %(e)s sh -c %(c)s"
                  % {"r": r, "p": CLEAN_PATH, "e": envs, "c": _quote(cmd)})
        return sh(["unshare", "--mount", "--pid", "--fork", "--propagation", "private",
                   "sh", "-c", script], check=check, timeout=timeout, input=input)

    def start(self):
        """PID 1 of new PID/UTS/IPC/mount namespaces in the node's netns: mounts /proc,
        /sys, /run, /dev/shm, devpts, sets the hostname, chroots into a reaping loop."""
        r = _quote(str(self.root))
        self.write("/etc/hostname", self.hostname + "\n")
        script = """
mount -t proc -o nosuid,nodev,noexec proc {r}/proc
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs {r}/sys
mount -t tmpfs -o mode=755,nosuid,nodev,size=64m tmpfs {r}/run && mkdir -m 1777 {r}/run/lock
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs {r}/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts {r}/dev/pts
mount --bind {r}/dev/pts/ptmx {r}/dev/ptmx
hostname {h}
exec chroot {r} /bin/sh -c 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'
""".format(r=r, h=_quote(self.hostname))
        log = open(self.dir / "node.log", "w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "unshare", "--uts", "--ipc", "--pid",
             "--mount", "--propagation", "private", "--fork", "sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env={"PATH": CLEAN_PATH})
        end = time.monotonic() + 30
        while True:
            kids = _children(self.proc.pid)
            if kids:
                self.pid = kids[0]
                start = _starttime(self.pid)
                (self.owner.dir / "pids" / str(self.pid)).write_text(start or "")
                try:
                    if os.readlink("/proc/%d/root" % self.pid) == str(self.root):
                        return self
                except OSError:
                    pass
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("node %s did not start: %s" % (
                    self.name, (self.dir / "node.log").read_text()[-2000:]))
            time.sleep(0.02)

    def nsenter(self):
        assert self.pid, "node %s is not started" % self.name
        return ["nsenter", "-t", str(self.pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w",
                "env", "-i", "PATH=" + CLEAN_PATH, "HOME=/root", "LANG=C.UTF-8"]

    def run(self, cmd, check=True, timeout=300, input=None, env=None):
        """cmd (list, or str for sh -c) inside the running node; -> CompletedProcess."""
        if isinstance(cmd, str):
            cmd = ["sh", "-c", cmd]
        extra = ["%s=%s" % kv for kv in (env or {}).items()]
        return sh(self.nsenter() + extra + list(cmd), check=check, timeout=timeout,
                  input=input)

    def popen(self, cmd, **kw):
        """A long-running cmd inside the node (its output: kw stdout/stderr)."""
        if isinstance(cmd, str):
            cmd = ["sh", "-c", cmd]
        return subprocess.Popen(self.nsenter() + list(cmd), env={"PATH": CLEAN_PATH}, **kw)

    def stop(self):
        """Kill PID 1 of the node (the kernel kills the rest of its PID namespace;
        its mount namespace goes with it)."""
        if self.pid and _alive(self.pid, _starttime(self.pid)):
            os.kill(self.pid, 9)
        if self.proc:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        self.pid = None


def _quote(s):
    return "'" + str(s).replace("'", "'\\''") + "'"


def _children(pid):
    try:
        return [int(p) for p in Path("/proc/%d/task/%d/children" % (pid, pid)).read_text().split()]
    except OSError:
        return []


# Downloaded .debs are kept between runs: hard links into each new root's upper
# dir before it is mounted (same filesystem, no copy), and new ones linked back.
DEBS = CACHE / "debs"


def _seed_debs(upper):
    if not DEBS.is_dir():
        return
    dest = upper / "var/cache/apt/archives"
    dest.mkdir(parents=True, exist_ok=True)
    for f in DEBS.glob("*.deb"):
        try:
            os.link(f, dest / f.name)
        except OSError:
            shutil.copy(f, dest / f.name)


def _harvest_debs(archives):
    DEBS.mkdir(parents=True, exist_ok=True)
    for f in Path(archives).glob("*.deb"):
        if not (DEBS / f.name).exists():
            tmp = DEBS / (".%s.%s" % (f.name, secrets.token_hex(3)))
            shutil.copy(f, tmp)
            tmp.rename(DEBS / f.name)


def main(argv):
    if argv[:1] == ["tarball"] and len(argv) >= 2:
        print(tarball(argv[1], argv[2:]))
    elif argv == ["cleanup"]:
        for name in cleanup_stale():
            print("noderoot: removed stale run", name)
    else:
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
