"""The layering of docs/architecture.md (DESIGN §3), checked on the source: every
production module of every dist is parsed with ``ast`` (nothing is imported), its imports
are resolved to modules, and

* each layer imports only what it may (the rules below), and
* no two modules of ours import each other, directly or through others (a cycle among
  the ``synnefo`` / ``nfdhcpd`` modules, found as a strongly connected component of the
  import graph; function-level imports count too).

Production modules: every ``.py`` under a dist's ``synnefo/`` (or ``nfdhcpd/``) package,
tests and migrations excepted (migrations are generated and import only Django).
"""

import ast
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
# (dist directory, package directory inside it)
DISTS = [("snf-common", "synnefo"), ("snf-webproject", "synnefo"),
         ("snf-asterias-app", "synnefo"), ("snf-ganeti-tools", "synnefo"),
         ("snf-vncauthproxy", "synnefo"), ("nfdhcpd", "nfdhcpd")]
OURS = ("synnefo", "nfdhcpd")

DJANGO_FREE = ("synnefo.common", "synnefo.ganeti", "synnefo.vncauthproxy", "nfdhcpd")
APP = ("synnefo.api", "synnefo.admin", "synnefo.logic", "synnefo.backend", "synnefo.db",
       "synnefo.dispatcher", "synnefo.webproject", "synnefo.asterias", "synnefo.ui")

# module prefix -> prefixes it must not import
FORBIDDEN = {
    # HTTP only: parse, validate, serialize; business and data through logic
    "synnefo.api": ("synnefo.backend", "synnefo.db", "synnefo.dispatcher", "django.db",
                    "amqp", "pycurl", "synnefo.common.amqp_client"),
    # the web admin and the admin API: HTTP only, like the public APIs
    "synnefo.admin": ("synnefo.backend", "synnefo.db", "synnefo.dispatcher", "django.db",
                      "amqp", "pycurl", "synnefo.common.amqp_client"),
    # AMQP only: decode, call logic, ack
    "synnefo.dispatcher": ("synnefo.api", "synnefo.backend", "django.http", "pycurl"),
    # business rules: Ganeti only through backend's operations (see LOGIC_MAY_TAKE)
    "synnefo.logic": ("synnefo.api", "synnefo.dispatcher", "django.http", "pycurl"),
    # the only code that speaks RAPI; knows nothing above it
    "synnefo.backend": ("synnefo.api", "synnefo.logic", "synnefo.dispatcher", "django.http",
                        "amqp"),
    # the web application is a client of the public API: no way around it to the data
    "synnefo.ui": ("synnefo.api", "synnefo.logic", "synnefo.backend", "synnefo.db",
                   "synnefo.dispatcher", "django.db"),
    "synnefo.db": ("synnefo.api", "synnefo.logic", "synnefo.backend", "synnefo.dispatcher"),
    # shared by every node: depends on no other part of ours
    "synnefo.common": ("django",) + APP + ("synnefo.ganeti", "synnefo.vncauthproxy",
                                           "nfdhcpd"),
}
for _prefix in DJANGO_FREE[1:]:
    FORBIDDEN[_prefix] = ("django",) + APP
# The only importers of the transport libraries: the RAPI client, the AMQP client.
ONLY_IMPORTERS = {"pycurl": ("synnefo.backend.rapi",),
                  "amqp": ("synnefo.common.amqp_client",)}
# What logic may take from backend modules that are not operations: from the transport,
# the error to catch and its text for users; from the client module, the PEM helper
# (logic reads certificate files). Never a RAPI client: logic gets no RAPI dicts.
LOGIC_MAY_TAKE = {"synnefo.backend.rapi": {"RapiError", "user_reason"},
                  "synnefo.backend.client": {"certificates_only"}}
# Imports inside functions: only where Django's app loading demands it (each says why).
LOCAL_IMPORTS_ALLOWED = {
    ("synnefo.dispatcher.main", "synnefo.dispatcher.consumer"),  # after django.setup()
    ("synnefo.logic.apps", "synnefo.logic.backend_allocator"),  # models not loaded yet
}
# Attributes only ORM code uses: an API module touching them runs queries itself.
ORM_ATTRIBUTES = {"objects", "select_related", "prefetch_related", "select_for_update",
                  "order_by", "annotate", "values_list", "exclude", "filter", "none"}


def production_modules():
    """{module name: path} of every production module."""
    out = {}
    for dist, package in DISTS:
        root = TOP / dist
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if "tests" in rel.parts or "migrations" in rel.parts:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = production_modules()


def _is_package(name):
    return MODULES.get(name, Path("x")).name == "__init__.py" or any(
        m.startswith(name + ".") for m in MODULES)


def imports_of_node(name, path, node):
    """[(imported module, imported names, line)] of one import statement of module
    ``name``: relative imports resolved, ``from P import m`` naming module P.m too when
    that is a module of ours."""
    if isinstance(node, ast.Import):
        return [(alias.name, (), node.lineno) for alias in node.names]
    if node.level:
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        base = package.split(".")
        base = base[:len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module
    out = [(target, tuple(alias.name for alias in node.names), node.lineno)]
    for alias in node.names:
        if "%s.%s" % (target, alias.name) in MODULES:
            out.append(("%s.%s" % (target, alias.name), (), node.lineno))
    return out


def imports_of(name, path):
    """Every import of module ``name`` (at any depth), as ``imports_of_node`` gives them."""
    return [found for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for found in imports_of_node(name, path, node)]


def _under(module, prefix):
    return module == prefix or module.startswith(prefix + ".")


def violations():
    found = []
    for name, path in sorted(MODULES.items()):
        rel = path.relative_to(TOP)
        rules = [bad for prefix, bads in FORBIDDEN.items() if _under(name, prefix)
                 for bad in bads]
        for target, names, line in imports_of(name, path):
            for bad in rules:
                if _under(target, bad):
                    found.append("%s:%d: %s imports %s (forbidden: %s)"
                                 % (rel, line, name, target, bad))
            for library, importers in ONLY_IMPORTERS.items():
                if _under(target, library) and name not in importers:
                    found.append("%s:%d: %s imports %s: only %s may"
                                 % (rel, line, name, target, ", ".join(importers)))
            allowed = LOGIC_MAY_TAKE.get(target)
            if (_under(name, "synnefo.logic") and allowed is not None
                    and not (names and set(names) <= allowed)):
                found.append("%s:%d: %s takes %s from %s (logic may take only %s)"
                             % (rel, line, name, ", ".join(names) or "the module", target,
                                ", ".join(sorted(allowed))))
        if _under(name, "synnefo.api") or _under(name, "synnefo.admin"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr in ORM_ATTRIBUTES:
                    found.append("%s:%d: %s uses .%s (ORM): ask a logic function instead"
                                 % (rel, node.lineno, name, node.attr))
    return found


def local_imports():
    """["path:line: module imports target inside a function"] not allowed."""
    found = []
    for name, path in sorted(MODULES.items()):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for sub in ast.walk(node):
                if not isinstance(sub, (ast.Import, ast.ImportFrom)):
                    continue
                targets = {t for t, _, _ in imports_of_node(name, path, sub)}
                if not any((name, t) in LOCAL_IMPORTS_ALLOWED for t in targets):
                    found.append("%s:%d: %s imports %s inside a function"
                                 % (path.relative_to(TOP), sub.lineno, name,
                                    ", ".join(sorted(targets))))
    return found


def import_graph():
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for target, _, _ in imports_of(name, path):
            # the module itself, or the package whose attribute it takes
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name and not _is_package_init_of(target, name):
                targets.add(target)
        graph[name] = targets
    return graph


def _is_package_init_of(package, module):
    """A module importing its own package's __init__ (Python runs it first anyway)."""
    return module.startswith(package + ".") and MODULES[package].name == "__init__.py"


def cycles(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_dist_has_production_modules():
    # a renamed directory must not make the checks below pass on nothing
    for dist, package in DISTS:
        prefix = "nfdhcpd" if package == "nfdhcpd" else None
        assert any(str(p).startswith(str(TOP / dist / package)) for p in MODULES.values()), dist
        if prefix:
            assert prefix in MODULES
    for layer in ("synnefo.api.servers", "synnefo.logic.servers", "synnefo.backend.rapi",
                  "synnefo.db.models", "synnefo.dispatcher.consumer"):
        assert layer in MODULES


def test_no_layering_violation():
    assert violations() == []


def test_imports_are_at_module_level():
    assert local_imports() == []


def test_no_import_cycle_between_our_modules():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("module, source, expected", [
    ("synnefo.api.probe", "from synnefo.db.models import Network\n", "imports synnefo.db.models"),
    ("synnefo.api.probe", "def f(vm):\n    return type(vm).objects.get(pk=vm.pk)\n",
     "uses .objects"),
    ("synnefo.admin.probe", "from synnefo.db.models import User\n", "forbidden: synnefo.db"),
    ("synnefo.admin.probe", "def f(q):\n    return q.filter(a=1)\n", "uses .filter"),
    ("synnefo.logic.probe", "import pycurl\n", "only synnefo.backend.rapi may"),
    ("synnefo.logic.probe", "from synnefo.backend.client import client_for\n",
     "takes client_for from synnefo.backend.client"),
    ("synnefo.logic.probe", "from synnefo.backend import rapi\n", "takes the module"),
    ("synnefo.dispatcher.probe", "import amqp\n", "only synnefo.common.amqp_client may"),
    ("synnefo.ganeti.probe", "from django.conf import settings\n", "forbidden: django"),
    ("synnefo.backend.probe", "from synnefo.logic import errors\n", "forbidden: synnefo.logic"),
])
def test_the_checks_see_a_violation(monkeypatch, module, source, expected):
    path = TOP / "probe.py"  # only read through this mapping: never written
    monkeypatch.setitem(MODULES, module, path)
    monkeypatch.setattr(Path, "read_text", lambda self: source if self == path
                        else Path.read_bytes(self).decode())
    assert any(expected in v for v in violations())


def test_the_local_import_check_sees_one(monkeypatch):
    path = TOP / "probe.py"
    source = "def f():\n    from synnefo.logic import servers\n    return servers\n"
    monkeypatch.setitem(MODULES, "synnefo.api.probe", path)
    monkeypatch.setattr(Path, "read_text", lambda self: source if self == path
                        else Path.read_bytes(self).decode())
    assert local_imports() == ["probe.py:2: synnefo.api.probe imports synnefo.logic, "
                               "synnefo.logic.servers inside a function"]


def test_the_cycle_check_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
