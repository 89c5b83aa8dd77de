"""Django settings: everything comes from synnefo.common.settings (defaults + /etc/synnefo).

DJANGO_SETTINGS_MODULE=synnefo.webproject.settings
"""

import os
import secrets

from synnefo.common.settings import SettingsError, load

from . import plugins
from .requestid import install_log_record_factory

globals().update(load())

# Before Django applies LOGGING: formats may use %(request_id)s.
install_log_record_factory()

INSTALLED_APPS = plugins.web_apps()

MIDDLEWARE = [
    # First: every response, even one an inner middleware made, carries the request id.
    "synnefo.webproject.requestid.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
] + plugins.web_middleware()

ROOT_URLCONF = "synnefo.webproject.urls"
WSGI_APPLICATION = "synnefo.webproject.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
APPEND_SLASH = False

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

STATIC_ROOT = STATIC_ROOT or MEDIA_ROOT  # noqa: F821 (both come from load())


SQLITE_ENGINE = "django.db.backends.sqlite3"
SQLITE_BUSY_TIMEOUT = 20  # seconds a writer waits for SQLite's write lock


def _database_options(databases):
    """MySQL/MariaDB must use InnoDB and READ COMMITTED (the dispatcher relies on it).

    SQLite gets our backend (WAL, BEGIN IMMEDIATE; see synnefo.webproject.sqlite3) and
    a busy timeout, so concurrent writers wait instead of failing "database is locked".
    """
    for db in databases.values():
        if db.get("ENGINE") == SQLITE_ENGINE:
            db["ENGINE"] = "synnefo.webproject.sqlite3"
            db.setdefault("OPTIONS", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT)
        if "mysql" in db.get("ENGINE", ""):
            options = db.setdefault("OPTIONS", {})
            # Django's own default is the same, but an OPTIONS entry could change it: refuse.
            level = options.setdefault("isolation_level", "read committed")
            if level != "read committed":
                raise SettingsError("DATABASES: MySQL/MariaDB must run READ COMMITTED (the "
                                    "dispatcher relies on it), not isolation_level %r" % level)
            options.setdefault("init_command", "SET default_storage_engine=INNODB")
            options.setdefault("charset", "utf8mb4")
    return databases


def _secret_key(key, path):
    if key:
        return key
    try:
        with open(path) as f:
            key = f.read().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise SettingsError("SECRET_KEY is not set and %s cannot be created (%s): set "
                                "SECRET_KEY or SECRET_KEY_FILE in /etc/synnefo"
                                % (path, exc.strerror)) from None
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
    except OSError as exc:
        raise SettingsError("cannot read SECRET_KEY_FILE %s: %s" % (path, exc.strerror)) from None
    return key


DATABASES = _database_options(DATABASES)  # noqa: F821
SECRET_KEY = _secret_key(SECRET_KEY, SECRET_KEY_FILE)  # noqa: F821
