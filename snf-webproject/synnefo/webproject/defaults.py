"""Defaults of the Django web project (snf-webproject); see conf/10-snf-webproject-*.conf."""

# The database: SQLite by default; PostgreSQL or MySQL/MariaDB in production.
# MySQL/MariaDB always runs with InnoDB in READ COMMITTED (set automatically).
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "/var/lib/synnefo/synnefo.sqlite3",
    }
}

# Secret used to sign sessions; when empty it is read from (or created in) SECRET_KEY_FILE.
SECRET_KEY = ""
SECRET_KEY_FILE = "/var/lib/synnefo/secret_key"

# Host names this server answers to (Django checks the Host header against them; others
# get 400). Never "*" by default: add the public host name(s) of the deployment.
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

# Static files: where link_static/copy_static put them and the URL they are served at.
MEDIA_ROOT = "/usr/share/synnefo/static/"
STATIC_ROOT = ""
STATIC_URL = "/static/"
# Serve static files from Django itself (development only; nginx serves them in production).
WEBPROJECT_SERVE_STATIC = False

# Behind a reverse proxy (nginx) that sets X-Forwarded-Host/-Proto.
USE_X_FORWARDED_HOST = False
SECURE_PROXY_SSL_HEADER = None
SESSION_COOKIE_SECURE = False

TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

ADMINS = []

# Logging (dictConfig). Everything goes to stderr, which the WSGI server keeps in its error
# log (snf-gunicorn: /var/log/synnefo/gunicorn-error.log; Apache: its ErrorLog) and
# snf-manage shows. Every record has request_id ("-" outside an HTTP request).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {
        "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.request": {"level": "ERROR"}},
}
