"""ci/lint.py - the static checks of `make lint`; ci/test.sh runs them too.

    .venv/bin/python ci/lint.py [--junit FILE]

  ruff        every Python file of the tree (ruff.toml: pyflakes, pycodestyle, import order)
  shellcheck  every tracked shell script (a .sh name, a shell's #! line, or a first line
              "# shellcheck shell=sh" in a script that gets its #! line when installed)
  mypy        each dist whose pyproject.toml has a [tool.mypy] section, from that dist

The checks run side by side; each prints what it found. Exit status 1 when one fails (a
missing tool fails too). --junit writes one test case per check, for ci/test.sh's TOTAL.
Run it with the venv's python (ci/venv.sh installs ruff and mypy there).
"""

import argparse
import re
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
# sh, bash and dash, directly or through env; busybox sh (the kvm test guest's /init).
SHEBANG = re.compile(rb"^(#!\s*(/usr)?/bin/((env\s+)?(ba|da)?sh|busybox\s+sh)\b"
                     rb"|# shellcheck shell=)")


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=TOP, check=True,
                         capture_output=True).stdout
    return [name for name in out.decode().split("\0") if name]


def shell_scripts():
    scripts = []
    for name in tracked_files():
        path = TOP / name
        if not path.is_file():
            continue
        if name.endswith(".sh"):
            scripts.append(name)
            continue
        with open(path, "rb") as f:
            if SHEBANG.match(f.readline()):
                scripts.append(name)
    return scripts


def mypy_dists():
    dists = []
    for project in sorted(TOP.glob("*/pyproject.toml")):
        with open(project, "rb") as f:
            if "mypy" in tomllib.load(f).get("tool", {}):
                dists.append(project.parent)
    return dists


def checks():
    """(name, command, working directory) of every check."""
    py = sys.executable
    yield "ruff", [py, "-m", "ruff", "check", "--quiet", "."], TOP
    # -x: follow the files a script sources (ci/lib.sh, ci/test-env.sh).
    yield "shellcheck", ["shellcheck", "-x", *shell_scripts()], TOP
    for dist in mypy_dists():
        yield "mypy " + dist.name, [py, "-m", "mypy"], dist


def run_check(name, cmd, cwd):
    """-> (name, ok, output, seconds)."""
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    except FileNotFoundError as exc:
        return name, False, "cannot run %s: %s" % (cmd[0], exc), 0.0
    return name, proc.returncode == 0, proc.stdout.strip(), time.monotonic() - t0


def run_all():
    """-> [(name, ok, output, seconds)], the checks running side by side."""
    with ThreadPoolExecutor() as pool:
        return list(pool.map(lambda check: run_check(*check), checks()))


def write_junit(path, results):
    suite = ET.Element("testsuite", name="lint", tests=str(len(results)),
                       failures=str(sum(not ok for _, ok, _, _ in results)),
                       errors="0", skipped="0")
    for name, ok, output, seconds in results:
        case = ET.SubElement(suite, "testcase", classname="lint", name=name,
                             time="%.2f" % seconds)
        if not ok:
            ET.SubElement(case, "failure", message="%s found problems" % name).text = output
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    args = parser.parse_args()
    results = run_all()
    for name, ok, output, seconds in results:
        print("%-24s %s (%.1f s)" % (name, "ok" if ok else "FAILED", seconds))
        if not ok and output:
            print("    " + output.replace("\n", "\n    "))
    if args.junit:
        write_junit(args.junit, results)
    return 0 if all(ok for _, ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
