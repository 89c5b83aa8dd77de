"""Package tests: build the .debs and check them (test_debs_build.py), run every node
type from them in clean roots (test_debs_roots.py), piuparts (test_debs_piuparts.py).

Nothing is installed on this machine: the packages go into clean roots only
(ci/noderoot.py), so this stage may run beside the others.
"""

import os
import shutil
import time
from pathlib import Path

import pytest
from support.debs import UPGRADE_SUFFIX, WORK, Debs, build, changelog_version


@pytest.fixture(scope="session")
def debs():
    """Both builds, in parallel: this tree's version (unit tests run) and an upgrade."""
    version = changelog_version()
    current, upgrade = WORK / "current", WORK / "upgrade"
    if os.environ.get("SNF_DEBS_REUSE") and list(current.glob("*.deb")) \
            and list(upgrade.glob("*.deb")):
        return Debs(current, upgrade, version)     # iterating on the tests only
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
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
