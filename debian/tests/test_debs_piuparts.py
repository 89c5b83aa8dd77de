"""piuparts over every binary package: install, purge, and upgrade from the previous
build (the current build plays the archive's version, `+upgradetest1` the new one),
remove, purge; 0 failures.

All packages are tested together: they depend on each other at the exact version,
so none can be installed alone. Their other dependencies come from the archive (the
host's mirror). The chroot comes from a cached mmdebstrap tarball (ci/noderoot.py).
"""

import os
import re
import shutil
import subprocess
import sys
import time

from support.debs import TOP, WORK, control_packages, run

sys.path.insert(0, str(TOP / "ci"))
import noderoot  # noqa: E402


def base_tgz():
    """piuparts unpacks its base with `tar -z`: a gzip of the cached tarball."""
    # e2fsprogs is "Protected" in bookworm, so not in an apt-variant root: apt will not
    # remove it again once snf-image has pulled it in, so the base carries it.
    tar = noderoot.tarball("piuparts", ["eatmydata", "e2fsprogs"])
    tgz = tar.with_suffix(".tgz")
    if not tgz.exists():
        tmp = tar.with_suffix(".tmp.tgz")
        run("gzip -1 -c %s > %s" % (tar, tmp), timeout=600)
        tmp.rename(tgz)
    for old in noderoot.CACHE.glob("piuparts-*.tgz"):
        if old != tgz and not old.with_suffix(".tar").exists():
            old.unlink()
    return tgz


def local_repo(debs_dir, repo):
    """A trusted flat apt repository of debs_dir's packages (the "archive" version)."""
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    for deb in debs_dir.glob("*.deb"):
        os.link(deb, repo / deb.name)
    run("cd %s && dpkg-scanpackages -m . > Packages" % repo)
    return repo


def test_piuparts_install_upgrade_remove_purge(debs):
    sources = noderoot.host_sources()
    mirror = [line.split(None, 3) for line in sources if line.split()[2] == noderoot.SUITE][0]
    extra = [line for line in sources if line.split()[2] != noderoot.SUITE]
    old = local_repo(debs.dirs["current"], WORK / "piuparts-old-repo")
    new = [str(debs.deb(p, "upgrade")) for p in control_packages()]
    log = WORK / "piuparts.log"
    log.unlink(missing_ok=True)         # piuparts appends
    cmd = ["piuparts", "--basetgz", base_tgz(), "--distribution", noderoot.SUITE,
           "--mirror", "%s %s" % (mirror[1], mirror[3]), "--tmpdir", WORK,
           "--bindmount", old, "--extra-repo", "deb [ trusted=yes ] file://%s ./" % old,
           "--log-file", log, "--no-adequate"]
    for line in extra:
        cmd += ["--extra-repo", line]
    t0 = time.monotonic()
    res = subprocess.run([str(c) for c in cmd + new], capture_output=True, text=True,
                         timeout=1200, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                            "LANG": "C.UTF-8", "HOME": "/root"})
    text = log.read_text() if log.exists() else res.stdout + res.stderr
    print("piuparts took %.0f s" % (time.monotonic() - t0))
    # "ERROR: WARN:" is a warning (e.g. python3-django's jquery links, whose target is
    # in its Recommends, which piuparts does not install): shown, not a failure.
    failures = [line for line in text.splitlines()
                if re.search(r"\b(FAIL|ERROR):", line) and "ERROR: WARN:" not in line]
    print("\n".join(line for line in text.splitlines() if "WARN:" in line))
    assert res.returncode == 0 and not failures, "\n".join(failures) + "\n" + text[-6000:]
    assert "PASS: Installation and purging test." in text, text[-4000:]
    assert "PASS: Installation, upgrade and purging tests." in text, text[-4000:]
    # The upgrade really went from the previous build to this one.
    assert re.search(r"snf-common.*%s" % re.escape(debs.version), text)
    assert debs.upgrade_version in text
