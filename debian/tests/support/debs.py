"""What the package tests share: where the tree and the builds are, running commands,
the packages of debian/control and their services, building the .debs (conftest.py's
``debs`` fixture) and finding a package's dependency closure among them."""

import os
import re
import subprocess
from pathlib import Path

TOP = Path(__file__).resolve().parents[3]
DEBIAN = TOP / "debian"
WORK = Path(os.environ.get("SNF_DEBS_TEST_DIR", "/tmp/snf-debs-test"))
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
UPGRADE_SUFFIX = "+upgradetest1"

# Which packages make a node of each type (DESIGN.md §2); the Depends pull the rest.
# Packages that do not exist yet (not in debian/control) are left out.
NODE_TYPES = {
    "APISERVER": ["snf-webproject", "snf-asterias-app", "snf-vncauthproxy"],
    "LOGIC": ["snf-asterias-app"],
    "GANETI-MASTER": ["snf-ganeti-tools"],
    "GANETI-NODE": ["snf-ganeti-tools", "nfdhcpd", "snf-image"],
    # not a node of the service: an operator's or a user's machine (snf-burnin, snf-cloud)
    "CLIENT": ["snf-tools"],
}

def run(cmd, check=True, timeout=300, env=None, input=None):
    """Run cmd (a list, or a string for sh -c) with a clean PATH; -> CompletedProcess."""
    full_env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": "/root",
                "DEBIAN_FRONTEND": "noninteractive"}
    full_env.update(env or {})
    if isinstance(cmd, str):
        cmd = ["sh", "-c", cmd]
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                         timeout=timeout, env=full_env, input=input)
    if check and res.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s"
                             % (" ".join(map(str, cmd)), res.returncode,
                                res.stdout[-4000:], res.stderr[-4000:]))
    return res


def control_packages():
    """Binary package names in debian/control, in order."""
    text = (DEBIAN / "control").read_text()
    return re.findall(r"^Package:\s*(\S+)", text, re.M)


def services():
    """{service: package} from debian/<package>.init and debian/<package>.<service>.init."""
    pkgs = set(control_packages())
    found = {}
    for path in sorted(DEBIAN.glob("*.init")):
        parts = path.name[:-len(".init")].split(".")
        if parts[0] not in pkgs:
            continue
        found[parts[1] if len(parts) > 1 else parts[0]] = parts[0]
    return found


def default_file(service):
    """debian/ source of /etc/default/<service>."""
    pkg = services()[service]
    named = DEBIAN / ("%s.%s.default" % (pkg, service))
    return named if named.exists() else DEBIAN / ("%s.default" % pkg)


def enable_variable(service):
    m = re.search(r"^([A-Z0-9_]+_ENABLE)=", default_file(service).read_text(), re.M)
    assert m, "no *_ENABLE variable in %s" % default_file(service)
    return m.group(1)


def build(outdir, version=None, nocheck=False):
    """Start ci/build-debs.sh into outdir; -> Popen."""
    env = dict(os.environ, PATH=CLEAN_PATH)
    env.pop("SNF_DEBS_VERSION", None)
    if version:
        env["SNF_DEBS_VERSION"] = version
    if nocheck:
        env["DEB_BUILD_OPTIONS"] = "nocheck"
    log = open(str(outdir) + ".log", "w")
    return subprocess.Popen([str(TOP / "ci" / "build-debs.sh"), str(outdir)], cwd=TOP,
                            stdout=log, stderr=subprocess.STDOUT, env=env)


def changelog_version():
    first = (DEBIAN / "changelog").read_text().splitlines()[0]
    return re.match(r"\S+ \(([^)]+)\)", first).group(1)


class Debs:
    def __init__(self, current, upgrade, version):
        self.dirs = {"current": current, "upgrade": upgrade}
        self.version = version
        self.upgrade_version = version + UPGRADE_SUFFIX

    def deb(self, package, which="current"):
        d = self.dirs[which]
        matches = sorted(d.glob("%s_*.deb" % package))
        assert matches, "no %s package in %s" % (package, d)
        return matches[0]

    def closure(self, packages, which="current"):
        """.deb paths of packages and every package of ours they depend on."""
        ours = set(control_packages())
        todo, seen = list(packages), []
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.append(p)
            deps = run(["dpkg-deb", "-f", self.deb(p, which), "Depends", "Pre-Depends"]).stdout
            todo += [d for d in re.findall(r"([a-z0-9][a-z0-9.+-]*)", deps) if d in ours]
        return [self.deb(p, which) for p in sorted(seen)]
