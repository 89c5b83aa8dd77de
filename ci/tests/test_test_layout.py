"""The tests share support, never each other (CONTRIBUTING.md, "Layout of a dist's tests/").

In every ``tests/`` directory of the tree (each dist's, ci/'s, debian/'s): no module
imports a test module (``test_*``) or a conftest.py — what two modules share lives in
that directory's ``support/`` package, fixtures in its conftest.py — and nothing imports
a name with ``# noqa: F401`` (a fixture imported to be found by pytest, or a re-export).
"""

import ast
import re
import subprocess
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
NOQA_F401 = re.compile(r"#\s*noqa:[^#]*\bF401\b")


def files_of_the_tests():
    """Every tracked .py file under a tests/ directory, and the benchmarks that reuse them."""
    out = subprocess.run(["git", "ls-files", "*.py", "*/bench/*"], cwd=TOP, check=True,
                         capture_output=True, text=True).stdout.split()
    return [TOP / p for p in out if "/tests/" in "/" + p or "/bench/" in "/" + p]


def imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def problems(text, name):
    """What in ``text`` (the file ``name``) breaks the rule, one line each."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []  # not Python (a shell script in bench/)
    found = []
    for lineno, module in imported_modules(tree):
        top = module.split(".")[0]
        if top.startswith("test_") or top == "conftest":
            found.append("%s:%d imports %s" % (name, lineno, module))
    for lineno, line in enumerate(text.splitlines(), 1):
        if NOQA_F401.search(line) and re.match(r"\s*(from|import)\s", line):
            found.append("%s:%d imports with noqa F401" % (name, lineno))
    return found


def test_no_test_module_or_conftest_is_imported_and_no_import_needs_noqa_f401():
    files = files_of_the_tests()
    assert any(p.name == "conftest.py" for p in files)  # the walk sees the tests
    found = [problem for path in files
             for problem in problems(path.read_text(), path.relative_to(TOP))]
    assert found == [], "\n".join(found)


def test_the_check_sees_each_kind_of_offence():
    cases = {"from test_api_servers import helper\n": "x.py:1 imports test_api_servers",
             "import os\nimport conftest\n": "x.py:2 imports conftest",
             "from support.api import world  # noqa: F401\n": "x.py:1 imports with noqa F401"}
    for source, expected in cases.items():
        assert problems(source, "x.py") == [expected]
    assert problems("from support.api import make_user\nimport os  # noqa: E402\n"
                    "from support import test_data\n", "x.py") == []
