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
    """The tests, ci/, bench/ and debian/rules: code that is not shipped."""
    for p in glob.glob(path("**", "*"), recursive=True):
        parts = rel(p).split(os.sep)
        if os.path.isfile(p) and (parts[0] in ("ci", "bench") or "tests" in parts
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


# -- the tests ------------------------------------------------------------------------------

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
