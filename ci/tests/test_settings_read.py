"""Every setting an administrator is told about is read by code (issue 9, DESIGN.md §4).

The rule, precisely:

Documented settings are the upper-case names (``[A-Z][A-Z0-9_]*``; in prose at least one
underscore, so that words like ``GET`` are not names)
  1. assigned, commented out or not, in a settings fragment ``<dist>/conf/*.conf``
     (``#NAME = ...``); these are Python settings;
  2. assigned, commented out or not, in a shell defaults file shipped for administrators
     (``debian/*.default``, ``contrib/**/*.default``: ``NAME=...``); these are shell settings;
  3. named in the documentation: inside code spans and fenced blocks of ``README.md`` and
     ``docs/*.md``, and anywhere in ``debian/*.README.Debian`` and the man pages
     ``debian/*.8``. A name directly followed by ``=`` (``X=1 command``) is a variable
     of a command line, not a setting; so is a name of the project's tooling (the tests,
     ci/, bench/, debian/rules): one it reads from the environment
     (``os.environ``/``getenv``/``env("X")``, ``${X:-...}``, ``$(X)``) or defines
     (a Python ``X = ...`` assignment, a shell ``X=...``); NOT_SETTINGS lists the few
     other names the documents explain (each with why).

A Python setting is read when a production module of some distribution (every ``.py``
of a dist except its tests and its defaults module, which only declares) loads it as a
name or attribute (``settings.X``) or holds it as a whole string (``getattr(settings,
"X")``, ``config.settings["X"]``), or when Django itself reads it (django.conf.
global_settings). A shell setting is read when a shipped script expands it (``$X``,
``${X...}``): the init scripts, systemd units and maintainer scripts in debian/ and the
scripts in contrib/. A documented name is read when either holds.
"""

import ast
import glob
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"

# Names the documents explain that are neither settings nor read from the environment.
NOT_SETTINGS = {
    "OSP_IMG_PASSWD": "what snf-image sees of the img_passwd OS parameter",
    "PR_SET_PDEATHSIG": "the Linux prctl option that ties a dispatcher worker to its parent",
}


def path(*parts):
    return os.path.join(REPO, *parts)


def read(p):
    with open(p, encoding="utf-8") as f:
        return f.read()


def dists():
    return sorted(os.path.dirname(p) for p in glob.glob(path("*", "pyproject.toml")))


def rel(p):
    return os.path.relpath(p, REPO)


# -- what the documents name ----------------------------------------------------------

def python_conf_settings():
    found = {}
    for d in dists():
        for p in glob.glob(os.path.join(d, "conf", "*.conf")):
            for name in re.findall(r"^[#\s]*([A-Z][A-Z0-9_]*)\s*=", read(p), re.M):
                found.setdefault(name, set()).add(rel(p))
    return found


def shell_default_files():
    return glob.glob(path("debian", "*.default")) + \
        glob.glob(path("contrib", "**", "*.default"), recursive=True)


def shell_settings():
    found = {}
    for p in shell_default_files():
        for name in re.findall(r"^[#\s]*([A-Z][A-Z0-9_]*)=", read(p), re.M):
            found.setdefault(name, set()).add(rel(p))
    return found


def _names_in(text):
    # X=... is a variable of a command line (SNF_BENCH_CONN_MAX_AGE=0 bench/events)
    return {m.group(1) for m in re.finditer(r"\b(%s)\b(?!=)" % NAME, text)}


def doc_files():
    markdown = [path("README.md")] + glob.glob(path("docs", "*.md"))
    plain = glob.glob(path("debian", "*.README.Debian")) + glob.glob(path("debian", "*.8"))
    return markdown, plain


def documented_names():
    found = {}
    markdown, plain = doc_files()
    for p in markdown:
        for code in re.findall(r"```.*?```|`[^`\n]+`", read(p), re.S):
            for name in _names_in(code):
                found.setdefault(name, set()).add(rel(p))
    for p in plain:
        for name in _names_in(read(p)):
            found.setdefault(name, set()).add(rel(p))
    return found


# -- what the code reads ----------------------------------------------------------------

def production_modules():
    for d in dists():
        defaults = set(glob.glob(os.path.join(d, "**", "defaults.py"), recursive=True))
        for p in glob.glob(os.path.join(d, "**", "*.py"), recursive=True):
            parts = rel(p).split(os.sep)
            if "tests" in parts or "bench" in parts or "conf" in parts or p in defaults:
                continue
            yield p


def python_reads():
    names = set()
    for p in production_modules():
        for node in ast.walk(ast.parse(read(p), p)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                names.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
    import django.conf.global_settings as django_defaults
    return names | {n for n in dir(django_defaults) if n.isupper()}


def shipped_scripts():
    scripts = [p for p in glob.glob(path("debian", "*"))
               if re.search(r"\.(init|service|postinst|postrm|preinst|prerm)$", p)]
    scripts += [p for p in glob.glob(path("contrib", "**", "*"), recursive=True)
                if os.path.isfile(p) and not p.endswith((".default", ".py"))
                and read(p).startswith("#!")]
    return scripts


def shell_reads():
    names = set()
    for p in shipped_scripts():
        names |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", read(p)))
    return names


def tooling_files():
    """The tests, ci/, the bench/ directories and debian/rules: code that is not shipped."""
    for p in glob.glob(path("**", "*"), recursive=True):
        parts = rel(p).split(os.sep)
        if os.path.isfile(p) and (parts[0] == "ci" or "bench" in parts or "tests" in parts
                                  or rel(p) == os.path.join("debian", "rules")):
            yield p


def tooling_names():
    """Names the tooling reads from the environment or defines itself."""
    names = set()
    env_call = re.compile(r"(?:environ(?:\.get|\.setdefault|\.pop)?|getenv|\benv)"
                          r"\s*[\(\[]\s*[\"'](%s)[\"']" % NAME)
    shell = re.compile(r"\$\{(%s)(?::?[-=])|\$\((%s)\)|^\s*(?:export\s+)?(%s)=" % ((NAME,) * 3),
                       re.M)
    for p in tooling_files():
        try:
            text = read(p)
        except UnicodeDecodeError:
            continue
        names |= set(env_call.findall(text))
        names |= {n for groups in shell.findall(text) for n in groups if n}
        if p.endswith(".py"):
            for node in ast.walk(ast.parse(text, p)):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    return names


# -- where code reads settings ------------------------------------------------------------
# Every setting has its default in exactly one place, a dist's defaults module, which the
# loader (synnefo.common.settings, the one module allowed to look names up by hand)
# puts into every process's settings. Code reads ``settings.X`` (Django) or
# ``settings["X"]`` (the Django-free daemons) and never names a second default.

LOADER = path("snf-common", "synnefo", "common", "settings.py")


def declared_settings():
    """{name: defaults module} of every dist's defaults.py (top-level upper-case names)."""
    found = {}
    for d in dists():
        for p in glob.glob(os.path.join(d, "**", "defaults.py"), recursive=True):
            for node in ast.parse(read(p), p).body:
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, ast.AnnAssign) else []
                for t in targets:
                    if isinstance(t, ast.Name) and t.id.isupper():
                        found.setdefault(t.id, set()).add(rel(p))
    return found


def _is_settings(node):
    """``settings``, ``s`` (a settings dict) or ``<anything>.settings``."""
    return (isinstance(node, ast.Name) and node.id in ("settings", "s")) or \
        (isinstance(node, ast.Attribute) and node.attr == "settings")


def _setting_name(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str) \
            and re.fullmatch(r"[A-Z][A-Z0-9_]*", node.value):
        return node.value
    return None


def _reads_in(tree, name):
    """[(file:line, setting, how)] of ``tree``: ``how`` is "attr" (``settings.X``),
    "item" (``settings["X"]``) or "fallback" (getattr with a default, .get on settings)."""
    reads = []
    for node in ast.walk(tree):
        where = "%s:%d" % (name, getattr(node, "lineno", 0))
        if isinstance(node, ast.Attribute) and _is_settings(node.value) \
                and re.fullmatch(r"[A-Z][A-Z0-9_]*", node.attr):
            reads.append((where, node.attr, "attr"))
        elif isinstance(node, ast.Subscript) and _is_settings(node.value) \
                and _setting_name(node.slice):
            reads.append((where, _setting_name(node.slice), "item"))
        elif isinstance(node, ast.Call) and node.args:
            f, args = node.func, node.args
            if isinstance(f, ast.Name) and f.id == "getattr" and len(args) == 3 \
                    and _is_settings(args[0]):
                # a variable name too: a helper like _setting(name, default)
                reads.append((where, _setting_name(args[1]) or ast.unparse(args[1]),
                              "fallback"))
            elif isinstance(f, ast.Attribute) and f.attr == "get" \
                    and _is_settings(f.value) and _setting_name(args[0]):
                reads.append((where, _setting_name(args[0]), "fallback"))
    return reads


def settings_reads():
    """Every setting read of the production modules (the loader excepted)."""
    return [r for p in production_modules() if p != LOADER
            for r in _reads_in(ast.parse(read(p), p), rel(p))]


# -- the tests ------------------------------------------------------------------------------

def test_no_setting_is_read_with_a_default_of_its_own():
    """getattr(settings, "X", default) and settings.get("X", ...) repeat (and drift from)
    the defaults module; the loader already put every default there."""
    reads = settings_reads()
    assert any(how == "attr" for _, _, how in reads)  # the walk sees reads
    assert [(w, n) for w, n, how in reads if how == "fallback"] == []


def test_every_setting_code_reads_has_a_declared_default():
    """A name read but declared in no defaults module fails (AttributeError/KeyError) in
    a deployment whose conf files do not set it; Django's own settings are Django's."""
    import django.conf.global_settings as django_defaults
    declared = set(declared_settings()) | {n for n in dir(django_defaults) if n.isupper()}
    assert sorted("%s %s" % (w, n) for w, n, _ in settings_reads()
                  if n.isupper() and n not in declared) == []


def test_every_setting_has_one_default():
    """A setting declared by two dists would have two defaults to keep equal."""
    assert sorted("%s (%s)" % (n, ", ".join(sorted(w)))
                  for n, w in declared_settings().items() if len(w) > 1) == []


def test_the_fallback_rule_catches_a_repeated_default():
    code = ('getattr(settings, "LOG_DIR", "/var/log")\nconfig.settings.get("X_Y", 1)\n'
            'getattr(settings, name, default)\nsettings.DEBUG\ns["A_B"]\nenv.get("C_D", 1)')
    assert _reads_in(ast.parse(code), "x") == [
        ("x:1", "LOG_DIR", "fallback"), ("x:2", "X_Y", "fallback"),
        ("x:3", "name", "fallback"), ("x:4", "DEBUG", "attr"), ("x:5", "A_B", "item")]


def _unread(found, reads):
    return sorted("%s (%s)" % (name, ", ".join(sorted(where)))
                  for name, where in found.items() if name not in reads)


def test_every_setting_in_a_conf_fragment_is_read_by_python_code():
    found = python_conf_settings()
    assert "AMQP_HOSTS" in found and "DISPATCHER_WORKERS" in found  # the walk sees them
    assert _unread(found, python_reads()) == []


def test_every_shell_setting_in_a_shipped_defaults_file_is_read_by_a_script():
    found = shell_settings()
    assert "SNF_GUNICORN_ENABLE" in found and "NFQUEUE_BYPASS" in found
    assert _unread(found, shell_reads()) == []


def test_every_setting_the_documents_name_is_read_by_code():
    found = documented_names()
    assert "BACKEND_PREFIX_ID" in found and "SNF_DISPATCHER_ENABLE" in found
    reads = python_reads() | shell_reads() | tooling_names() | set(NOT_SETTINGS)
    assert _unread(found, reads) == []


def test_the_exemptions_are_still_needed():
    """An exemption the documents no longer need, or one that names a real setting, goes."""
    found = documented_names()
    declared = set(python_conf_settings()) | set(shell_settings())
    assert sorted(n for n in NOT_SETTINGS if n not in found or n in declared) == []


def test_the_rule_catches_a_setting_nothing_reads(tmp_path):
    """The walk is not vacuous: a name no code reads is reported."""
    assert _unread({"GANETI_MASTER_IP": {"x.conf"}}, python_reads()) == \
        ["GANETI_MASTER_IP (x.conf)"]
