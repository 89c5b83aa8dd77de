import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from synnefo.common.settings import SettingsError
from synnefo.webproject import plugins
from synnefo.webproject.settings import _database_options, _secret_key

SNF_MANAGE = os.path.join(os.path.dirname(sys.executable), "snf-manage")


def test_installed_apps_come_from_entry_points():
    assert settings.INSTALLED_APPS[0] == "django.contrib.contenttypes"
    assert "synnefo.webproject" in settings.INSTALLED_APPS
    assert "synnefo.db" in settings.INSTALLED_APPS  # contributed by snf-asterias-app
    assert len(settings.INSTALLED_APPS) == len(set(settings.INSTALLED_APPS))


def test_settings_come_from_the_settings_dir():
    assert settings.SECRET_KEY == "test-only-secret-key-not-for-production"
    assert settings.BACKEND_PREFIX_ID.endswith("-")
    assert settings.EXCHANGE_GANETI == "ganeti"  # snf-common default
    assert settings.STATIC_ROOT == "/tmp/snf-test-static"


def test_mysql_gets_read_committed_and_innodb():
    dbs = _database_options({"default": {"ENGINE": "django.db.backends.mysql"},
                             "other": {"ENGINE": "django.db.backends.sqlite3"}})
    assert dbs["default"]["OPTIONS"]["isolation_level"] == "read committed"
    assert "INNODB" in dbs["default"]["OPTIONS"]["init_command"]
    assert "isolation_level" not in dbs["other"]["OPTIONS"]
    with pytest.raises(SettingsError, match="READ COMMITTED"):
        _database_options({"default": {"ENGINE": "django.db.backends.mysql",
                                       "OPTIONS": {"isolation_level": "repeatable read"}}})


def test_secret_key_file_created_private_and_reused(tmp_path):
    path = str(tmp_path / "secret_key")
    key = _secret_key("", path)
    assert len(key) > 40
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert _secret_key("", path) == key
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        _secret_key("", str(tmp_path / "missing-dir" / "secret_key"))


def test_root_answers():
    response = Client().get("/")
    assert response.status_code == 200
    assert response.json()["service"] == "Synnefo asterias"


@pytest.mark.parametrize("header", ["HTTP_HOST", "HTTP_X_FORWARDED_HOST"])
def test_a_host_not_allowed_is_a_400_fault_that_does_not_repeat_it(settings, header):
    from synnefo.webproject import defaults
    assert "*" not in defaults.ALLOWED_HOSTS
    settings.USE_X_FORWARDED_HOST = True
    response = Client().get("/", **{header: "evil.example"})
    assert response.status_code == 400
    assert response.json()["badRequest"]["code"] == 400
    assert b"evil" not in response.content
    assert not any("evil" in value for _, value in response.items())


def test_link_static_dry_run_changes_nothing(tmp_path, capsys):
    root = tmp_path / "static"
    call_command("link_static", static_root=str(root), dry_run=True)
    out = capsys.readouterr().out
    assert "webproject" in out and "would be linked" in out
    assert not root.exists()


def test_link_static_links_and_skips_existing(tmp_path, capsys):
    root = tmp_path / "static"
    call_command("link_static", static_root=str(root))
    link = root / "webproject"
    assert link.is_symlink()
    assert (link / "base.css").is_file()
    call_command("link_static", static_root=str(root))
    assert "skip" in capsys.readouterr().out


def test_copy_static_copies_real_files(tmp_path):
    root = tmp_path / "static"
    call_command("copy_static", static_root=str(root))
    assert not (root / "webproject").is_symlink()
    assert (root / "webproject" / "base.css").is_file()


def test_url_patterns_come_from_installed_dists():
    # snf-asterias-app contributes the compute API through its "urls" entry point
    from django.urls import resolve
    assert plugins.url_patterns()
    assert resolve("/compute/v2.1/").url_name != "webproject-index"


def run_manage(*args, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run([SNF_MANAGE, *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_snf_manage_settings_dir(tmp_path):
    (tmp_path / "10-x.conf").write_text(
        "SECRET_KEY = 'x'\nDATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',"
        " 'NAME': %r}}\nBACKEND_PREFIX_ID = 'abc-'\n" % str(tmp_path / "db.sqlite3"))
    r = run_manage("--settings-dir", str(tmp_path), "diffsettings")
    assert r.returncode == 0, r.stderr
    assert "BACKEND_PREFIX_ID = 'abc-'" in r.stdout


def test_snf_manage_reports_broken_conf_file_with_line(tmp_path):
    (tmp_path / "10-x.conf").write_text("SECRET_KEY = 'x'\nDEBUG = (\n")
    r = run_manage("--settings-dir=%s" % tmp_path, "check")
    assert r.returncode != 0
    assert "10-x.conf" in r.stderr and "line" in r.stderr
    assert "Traceback" not in r.stderr


def test_snf_manage_missing_settings_dir():
    r = run_manage("--settings-dir", "/nonexistent/dir", "check")
    assert r.returncode != 0 and "does not exist" in r.stderr
