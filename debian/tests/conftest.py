"""Package tests: build the .debs, check them, install them on this machine, purge them.

Run as root, last in `make test` (ci/debs-test.sh): while installed, the packages
put `synnefo` into /usr/lib/python3/dist-packages, beside the source tree the
other suites test. Whatever happens, the session ends by stopping every service
through its init script and purging every package of ours.
"""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
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
}

# The Ganeti test cluster of ci/ganeti.sh: the UTS namespace with its node's name.
GANETI_UTS = "/run/ganeti-test/uts"


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


def installed_ours():
    """Our packages dpkg knows in any state but not-installed (purged)."""
    res = run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\\n"]
              + control_packages(), check=False)
    return [line.split()[0] for line in res.stdout.splitlines()
            if len(line.split()) > 1 and not line.split()[1].startswith("un")
            and not line.split()[1].startswith("pn")]


def stop_all_services():
    for name in services():
        if os.path.exists("/etc/init.d/%s" % name):
            run(["/etc/init.d/%s" % name, "stop"], check=False, timeout=60)
            if os.path.exists(GANETI_UTS):
                run(["nsenter", "--uts=" + GANETI_UTS, "/etc/init.d/%s" % name, "stop"],
                    check=False, timeout=60)


def purge_all():
    """Stop our services (policy-rc.d keeps dpkg from doing it) and purge our packages."""
    stop_all_services()
    ours = installed_ours()
    if ours:
        run(["apt-get", "purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"] + ours, timeout=300)


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


@pytest.fixture(scope="session")
def debs():
    """Both builds, in parallel: this tree's version (unit tests run) and an upgrade."""
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    version = changelog_version()
    current, upgrade = WORK / "current", WORK / "upgrade"
    t0 = time.monotonic()
    procs = {current: build(current), upgrade: build(upgrade, version + UPGRADE_SUFFIX,
                                                     nocheck=True)}
    failed = []
    for outdir, proc in procs.items():
        if proc.wait(timeout=900) != 0:
            failed.append("%s:\n%s" % (outdir, Path(str(outdir) + ".log").read_text()[-6000:]))
    assert not failed, "package build failed\n" + "\n".join(failed)
    print("package builds took %.0f s" % (time.monotonic() - t0))
    return Debs(current, upgrade, version)


@pytest.fixture(scope="session")
def clean_system():
    """Start from no package of ours installed; purge everything at the end, always."""
    purge_all()
    yield
    purge_all()
