"""The built packages, before anything is installed: files, metadata, lintian."""

import re
import shutil
import tomllib
from pathlib import Path

import pytest
from support.debs import DEBIAN, TOP, control_packages, run, services


def contents(deb):
    """{path: (mode string, link target or None)} of a .deb ('./' stripped)."""
    out = run(["dpkg-deb", "-c", deb]).stdout
    files = {}
    for line in out.splitlines():
        parts = line.split(None, 5)
        name = parts[5]
        target = None
        if " -> " in name:
            name, target = name.split(" -> ", 1)
        files[name[1:].rstrip("/") or "/"] = (parts[0], target)
    return files


def pyproject(package):
    with open(TOP / package / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def test_every_package_is_built(debs):
    for which in ("current", "upgrade"):
        for pkg in control_packages():
            deb = debs.deb(pkg, which)
            version = run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
            assert version == (debs.version if which == "current" else debs.upgrade_version)


def test_unit_tests_ran_during_the_build(debs):
    log = (debs.dirs["current"] / "build.log").read_text()
    for pkg in control_packages():
        if (TOP / pkg / "tests").is_dir() and list((TOP / pkg / "tests").glob("test_*.py")):
            assert "=== unit tests of %s" % pkg in log, "unit tests of %s did not run" % pkg
    # DEB_BUILD_OPTIONS=nocheck (the upgrade build) skips them.
    assert "=== unit tests of" not in (debs.dirs["upgrade"] / "build.log").read_text()


@pytest.mark.parametrize("package", control_packages())
def test_console_scripts_and_modules_are_in_their_own_package(debs, package):
    """Each dist's console scripts, modules and settings are in its package and no other.

    This catches the pybuild trap of shared build directories (a package silently
    shipping another dist's files) and a console script missing from its package.
    """
    files = contents(debs.deb(package))
    meta = pyproject(package)
    for script, target in meta["project"].get("scripts", {}).items():
        assert "/usr/bin/" + script in files, "%s lacks /usr/bin/%s" % (package, script)
        module = target.split(":")[0].replace(".", "/")
        assert ("/usr/lib/python3/dist-packages/%s.py" % module in files
                or "/usr/lib/python3/dist-packages/%s/__init__.py" % module in files), \
            "%s: /usr/bin/%s needs module %s, which the package lacks" % (package, script, module)

    # The package's Python files are exactly the dist's own (its top-level packages).
    src = TOP / package
    find = meta.get("tool", {}).get("setuptools", {}).get("packages", {}).get("find", {})
    tops = {pat.split(".")[0].rstrip("*") for pat in find.get("include", ["*"])}
    built_from = (debs.dirs["current"] / "source-files.txt").read_text().splitlines()
    want = {"/usr/lib/python3/dist-packages/" + f[len(package) + 1:] for f in built_from
            if f.startswith(package + "/") and f.endswith(".py")
            and f[len(package) + 1:].split("/")[0] in tops}
    have = {f for f in files if f.startswith("/usr/lib/python3/dist-packages/")
            and f.endswith(".py")}
    assert have == want, "extra: %s; missing: %s" % (sorted(have - want), sorted(want - have))
    assert "/usr/lib/python3/dist-packages/synnefo/__init__.py" not in files, \
        "synnefo is a PEP 420 namespace: no synnefo/__init__.py"

    for conf in sorted((src / "conf").glob("[0-9][0-9]-*.conf")):
        assert "/etc/synnefo/" + conf.name in files, \
            "%s lacks /etc/synnefo/%s" % (package, conf.name)


def test_shared_files_and_services_are_where_they_belong(debs):
    common = contents(debs.deb("snf-common"))
    assert "/etc/synnefo/99-local.conf" in common
    for service, pkg in services().items():
        files = contents(debs.deb(pkg))
        assert files.get("/etc/init.d/" + service, ("",))[0].startswith("-rwxr-xr-x"), service
        assert "/etc/default/" + service in files, service
        assert "/lib/systemd/system/%s.service" % service in files, service
    web = contents(debs.deb("snf-webproject"))
    assert "/etc/synnefo/gunicorn.conf.py" in web
    assert "/usr/share/doc/snf-webproject/examples/synnefo-asterias" in web
    assert "/usr/share/doc/snf-webproject/examples/synnefo-asterias.conf" in web  # Apache
    assert "/usr/share/synnefo/static/webproject" in web
    if "snf-ganeti-tools" in control_packages():
        gt = contents(debs.deb("snf-ganeti-tools"))
        assert gt["/etc/ganeti/kvm-vif-bridge"][0] == "-rwxr-xr-x"
        assert "/etc/default/snf-network" in gt
        # Ganeti 3.0 has no ifdown: the remove hook undoes what kvm-vif-bridge set up
        cleanup = "/etc/ganeti/hooks/instance-remove-post.d/kvm-vif-cleanup"
        assert gt[cleanup][0] == "-rwxr-xr-x", cleanup
        for op in ("add", "modify", "reboot", "start", "stop", "remove"):
            link = "/etc/ganeti/hooks/instance-%s-post.d/snf-ganeti-hook" % op
            assert gt[link][1] == "/usr/bin/snf-ganeti-hook", link
            assert "." not in Path(link).name  # Ganeti skips hook names with dots


def test_systemd_units_verify(debs, tmp_path):
    """`systemd-analyze verify` of every shipped .service unit, nothing installed here.

    The root it checks against: our .debs extracted (dpkg-deb -x) as the upper layer of
    an overlay on the host's /usr, so an Exec= of ours must be in our packages and any
    other (gunicorn, sh, kill) is found where this machine's Debian packages put it
    (bookworm is merged-/usr: /bin, /lib, /sbin are links into /usr, as dpkg would follow
    them). The overlay is mounted in a private mount namespace: gone when it exits.
    Any output (a warning about a unit) fails, as does a non-zero exit.
    """
    extracted, root = tmp_path / "debs", tmp_path / "root"
    for pkg in control_packages():
        run(["dpkg-deb", "-x", debs.deb(pkg), extracted])
    for top in ("bin", "lib", "sbin"):
        if (extracted / top).is_dir() and not (extracted / top).is_symlink():
            shutil.copytree(extracted / top, extracted / "usr" / top, symlinks=True,
                            dirs_exist_ok=True)
            shutil.rmtree(extracted / top)
    (root / "usr").mkdir(parents=True)
    for top in ("bin", "lib", "lib64", "sbin"):
        (root / top).symlink_to("usr/" + top)
    shutil.copytree(extracted / "etc", root / "etc", symlinks=True)  # EnvironmentFile=
    units = sorted(p.name for p in (extracted / "usr/lib/systemd/system").glob("*.service"))
    assert units == sorted(s + ".service" for s in services()), units
    script = ('mount --make-rprivate / && mount -t overlay overlay -o lowerdir="$1"/usr:/usr'
              ' "$2"/usr && root="$2" && shift 2 && cd / && '
              # --man=no: man pages are checked by lintian; ours are not installed here.
              'exec systemd-analyze verify --man=no --root="$root" "$@"')
    res = run(["unshare", "--mount", "sh", "-c", script, "sh", extracted, root]
              + ["/lib/systemd/system/" + u for u in units], check=False)
    out = (res.stdout + res.stderr).strip()
    assert res.returncode == 0 and not out, "systemd-analyze verify:\n" + out


def test_our_own_dependencies_are_exact(debs):
    ours = set(control_packages())
    for pkg in ours:
        depends = run(["dpkg-deb", "-f", debs.deb(pkg), "Depends"]).stdout
        for name, rel in re.findall(r"([a-z0-9][a-z0-9.+-]*)(?: \(([^)]*)\))?", depends):
            if name in ours:
                assert rel == "= %s" % debs.version, "%s: %s (%s)" % (pkg, name, rel)


def test_services_start_once_from_maintainer_scripts(debs, tmp_path):
    """One start (or restart on upgrade) per init script in postinst, none elsewhere.

    The original shipped a postinst that started the dispatcher twice. dpkg cannot
    start services on this machine (policy-rc.d), so this is checked in the scripts.
    """
    for service, pkg in services().items():
        d = tmp_path / pkg
        run(["dpkg-deb", "-e", debs.deb(pkg), d])
        postinst = (d / "postinst").read_text()
        starts = re.findall(r"invoke-rc\.d (?:--skip-systemd-native )?%s (\S+)" % service,
                            postinst)
        assert starts == ["$_dh_action"], "%s postinst: %s" % (service, starts)
        assert postinst.count("update-rc.d %s defaults" % service) == 1
        for script in ("preinst", "postrm"):
            if (d / script).exists():
                assert not re.search(r"invoke-rc\.d \S* ?%s (start|restart)" % service,
                                     (d / script).read_text())


def test_no_postinst_runs_database_migrations(debs, tmp_path):
    for pkg in control_packages():
        d = tmp_path / pkg
        run(["dpkg-deb", "-e", debs.deb(pkg), d])
        for script in d.iterdir():
            text = script.read_text(errors="replace")
            code = "\n".join(line for line in text.splitlines()
                             if not line.lstrip().startswith("#"))
            assert "migrate" not in code, "%s/%s runs migrations" % (pkg, script.name)


def test_lintian_reports_nothing_but_explained_overrides(debs):
    changes = sorted(debs.dirs["current"].glob("*.changes"))
    assert changes
    res = run(["lintian", "--fail-on", "error,warning", "--display-level", ">=warning",
               changes[0]], check=False, timeout=300)
    report = [line for line in res.stdout.splitlines() if re.match(r"^[EW]: ", line)]
    assert res.returncode == 0 and not report, "lintian:\n" + res.stdout + res.stderr
    # Every override carries a reason: a comment line right above it.
    for path in DEBIAN.glob("*lintian-overrides"):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip() and not line.startswith("#"):
                assert i > 0 and lines[i - 1].startswith("#"), \
                    "%s:%d: override without a reason comment above it" % (path, i + 1)
