"""Load Synnefo settings: installed defaults, then /etc/synnefo/*.conf in order.

1. Every installed distribution contributes defaults through an entry point named
   ``default_settings`` in the group ``synnefo`` (a module whose upper-case names are
   settings). snf-common's own defaults come first, the rest by distribution name.
2. Every ``*.conf`` file in the settings directory (``SYNNEFO_SETTINGS_DIR``, default
   ``/etc/synnefo``) is executed in sorted name order in one namespace, so a later file
   overrides an earlier one and can read (and extend) what it set.
3. Legacy names are folded into current ones and values are validated.

A broken file is fatal: ``SettingsError`` names the file and the line. Nothing here
imports Django, so daemons without Django use the same mechanism.
"""

import os
import re
import sys
import traceback
import types
from collections.abc import Iterator
from importlib import import_module, metadata
from typing import Any
from urllib.parse import quote

DEFAULT_SETTINGS_DIR = "/etc/synnefo"
ENTRY_POINT_GROUP = "synnefo"
DEFAULTS_ENTRY_POINT = "default_settings"
COMMON_DIST = "snf-common"
DEFAULT_AMQP_URL = "amqp://guest:guest@localhost:5672/"


class SettingsError(Exception):
    """A settings file or value is wrong; the message says where and why."""


def settings_dir() -> str:
    return os.environ.get("SYNNEFO_SETTINGS_DIR", DEFAULT_SETTINGS_DIR)


def _is_setting(name: str) -> bool:
    return name.isupper() and not name.startswith("_")


def _default_modules() -> Iterator[types.ModuleType]:
    """Modules named by ``default_settings`` entry points, snf-common first."""
    eps = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
           if ep.name == DEFAULTS_ENTRY_POINT]
    excluded = set(filter(None, os.environ.get("SYNNEFO_EXCLUDE_PACKAGES", "").split(":")))

    def order(ep: metadata.EntryPoint) -> tuple[bool, str, str]:
        dist = ep.dist.name if ep.dist else ""
        return (dist != COMMON_DIST, dist, ep.value)

    seen = set()
    for ep in sorted(eps, key=order):
        dist = ep.dist.name if ep.dist else ""
        if dist in excluded or ep.value in seen:
            continue
        seen.add(ep.value)
        yield import_module(ep.value)


def collect_defaults() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    for module in _default_modules():
        for name in dir(module):
            if _is_setting(name):
                namespace[name] = getattr(module, name)
    return namespace


def _error_line(path: str, exc: BaseException) -> int | None:
    """The line of ``path`` where ``exc`` was raised (None when unknown)."""
    if isinstance(exc, SyntaxError) and exc.filename == path:
        return exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == path:
            return frame.lineno
    return None


def exec_conf_file(path: str, namespace: dict[str, Any]) -> None:
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("cannot read settings file %s: %s" % (path, exc)) from None
    namespace["__file__"] = path
    try:
        exec(compile(source, path, "exec"), namespace)
    except Exception as exc:  # any error in an admin's file must name file and line
        line = _error_line(path, exc)
        where = "%s, line %s" % (path, line) if line else path
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise SettingsError("error in settings file %s: %s: %s"
                            % (where, type(exc).__name__, detail)) from None
    finally:
        namespace.pop("__file__", None)


def conf_files(directory: str) -> list[str]:
    if not os.path.isdir(directory):
        return []
    return [os.path.join(directory, name) for name in sorted(os.listdir(directory))
            if name.endswith(".conf") and not name.startswith(".")
            and os.path.isfile(os.path.join(directory, name))]


def legacy_amqp_url(host: str, user: str | None, password: str | None,
                    vhost: str | None) -> str:
    """amqp:// URL from the original RABBIT_HOST/USERNAME/PASSWORD/VHOST settings."""
    if ":" not in host:
        host += ":5672"
    vhost = vhost or "/"
    path = "" if vhost == "/" else quote(vhost, safe="")
    return "amqp://%s:%s@%s/%s" % (quote(user or "", safe=""), quote(password or "", safe=""),
                                    host, path)


def normalize(namespace: dict[str, Any]) -> dict[str, Any]:
    """Fold legacy names into current ones and validate; returns the namespace."""
    if namespace.get("RABBIT_HOST"):
        url = legacy_amqp_url(namespace["RABBIT_HOST"], namespace.get("RABBIT_USERNAME"),
                              namespace.get("RABBIT_PASSWORD"), namespace.get("RABBIT_VHOST"))
        hosts = namespace.get("AMQP_HOSTS") or []
        namespace["AMQP_HOSTS"] = [url] + [h for h in hosts if h != url]
    hosts = namespace.get("AMQP_HOSTS")
    if isinstance(hosts, str):
        namespace["AMQP_HOSTS"] = hosts = [hosts]
    if not hosts:
        namespace["AMQP_HOSTS"] = hosts = [DEFAULT_AMQP_URL]
    for url in hosts or []:
        if not isinstance(url, str) or not url.startswith("amqp://"):
            raise SettingsError("AMQP_HOSTS: %r is not an amqp://user:password@host:port/vhost "
                                "URL" % (url,))
    validate_prefix(namespace.get("BACKEND_PREFIX_ID"))
    return namespace


def validate_prefix(prefix: object) -> None:
    if not isinstance(prefix, str) or not prefix.endswith("-") or len(prefix) < 2:
        raise SettingsError("BACKEND_PREFIX_ID must be a non-empty name ending with a dash, "
                            "such as 'snf-'; got %r" % (prefix,))
    body = prefix[:-1]
    if "-" in body or not body.replace("_", "").isalnum():
        raise SettingsError("BACKEND_PREFIX_ID %r: use letters, digits and underscores "
                            "followed by one dash (it becomes part of Ganeti instance "
                            "names, queue names and routing keys)" % (prefix,))


def load(directory: str | None = None) -> dict[str, Any]:
    """All settings as a dict: defaults, then the conf files of ``directory``."""
    namespace = collect_defaults()
    directory = directory or settings_dir()
    for path in conf_files(directory):
        exec_conf_file(path, namespace)
    namespace.pop("__builtins__", None)
    settings = {k: v for k, v in namespace.items() if _is_setting(k)}
    return normalize(settings)


_cached: types.SimpleNamespace | None = None


def get_settings() -> types.SimpleNamespace:
    """The process-wide settings as an attribute namespace (loaded once).

    Inside Django, Django's own ``settings`` object holds the same values.
    """
    global _cached
    if _cached is None:
        _cached = types.SimpleNamespace(**load())
    return _cached


def reset_cache() -> None:
    global _cached
    _cached = None


def load_or_exit(directory: str | None = None) -> dict[str, Any]:
    """For console scripts: the settings, or a clear message and exit status 1."""
    try:
        return load(directory)
    except SettingsError as exc:
        sys.stderr.write("synnefo: %s\n" % exc)
        raise SystemExit(1)


def conf_documentation_problems(defaults_module: types.ModuleType,
                                conf_directory: str) -> list[str]:
    """Problems with a distribution's shipped conf files, as a list of strings.

    Each setting of ``defaults_module`` must appear commented out (``#NAME =``) in one of
    the ``*.conf`` files of ``conf_directory``, and executing those files must set nothing
    (they only document). Each distribution's tests call this.
    """
    documented: set[str] = set()
    problems: list[str] = []
    for path in conf_files(conf_directory):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        documented |= set(re.findall(r"^#([A-Z][A-Z0-9_]+)\s*=", text, re.M))
        namespace: dict[str, Any] = {}
        exec(compile(text, path, "exec"), namespace)
        problems += ["%s sets %s" % (path, name) for name in namespace if _is_setting(name)]
    names = {name for name in dir(defaults_module) if _is_setting(name)}
    problems += ["%s is not documented in %s/*.conf" % (name, conf_directory)
                 for name in sorted(names - documented)]
    return problems
