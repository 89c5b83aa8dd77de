import os
import re

import pytest

from synnefo.common import settings as loader
from synnefo.common.settings import SettingsError

CONF_DIR = os.path.join(os.path.dirname(__file__), "..", "conf")


def write(directory, name, text):
    path = directory / name
    path.write_text(text)
    return str(path)


def test_defaults_come_from_installed_entry_points(tmp_path):
    s = loader.load(str(tmp_path))
    assert s["BACKEND_PREFIX_ID"] == "snf-"
    assert s["EXCHANGE_GANETI"] == "ganeti"
    assert s["AMQP_HOSTS"] == [loader.DEFAULT_AMQP_URL]


def test_files_run_in_sorted_order_later_overrides_and_reads_earlier(tmp_path):
    write(tmp_path, "99-local.conf", "GANETI_NODES = GANETI_NODES + ['node2']\nDEBUG = True\n")
    write(tmp_path, "10-b.conf", "GANETI_NODES = ['node1']\nDEBUG = 'b'\n")
    write(tmp_path, "00-a.conf", "DEBUG = 'a'\nGANETI_NODES = ['never']\n")
    write(tmp_path, "50-ignored.conf.dpkg-old", "raise RuntimeError('not a conf file')\n")
    s = loader.load(str(tmp_path))
    assert s["GANETI_NODES"] == ["node1", "node2"]
    assert s["DEBUG"] is True


def test_lowercase_names_and_imports_are_not_settings(tmp_path):
    write(tmp_path, "10-x.conf", "import os\nhelper = 3\nMY_SETTING = helper * 2\n")
    s = loader.load(str(tmp_path))
    assert s["MY_SETTING"] == 6
    assert "helper" not in s and "os" not in s


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "20-broken.conf", "DEBUG = True\n\nFOO = [1, 2\nBAR = 3\n")
    with pytest.raises(SettingsError) as exc:
        loader.load(str(tmp_path))
    msg = str(exc.value)
    assert path in msg
    assert re.search(r"line [34]\b", msg), msg
    assert "SyntaxError" in msg


def test_runtime_error_names_file_and_line(tmp_path):
    write(tmp_path, "00-fine.conf", "A_VALUE = 1\n")
    path = write(tmp_path, "30-bad.conf", "X = 1\nY = UNDEFINED_NAME + 1\n")
    with pytest.raises(SettingsError) as exc:
        loader.load(str(tmp_path))
    assert "%s, line 2" % path in str(exc.value)
    assert "NameError" in str(exc.value)


def test_unreadable_file_is_an_error(tmp_path):
    (tmp_path / "10-bin.conf").write_bytes(b"\xff\xfe\x00 not utf-8")
    with pytest.raises(SettingsError, match="10-bin.conf"):
        loader.load(str(tmp_path))


@pytest.mark.parametrize("prefix", ["snf", "", "snf--", "-", "sn f-", 7, None, "a-b-"])
def test_bad_prefix_is_rejected(tmp_path, prefix):
    write(tmp_path, "10-p.conf", "BACKEND_PREFIX_ID = %r\n" % (prefix,))
    with pytest.raises(SettingsError, match="BACKEND_PREFIX_ID"):
        loader.load(str(tmp_path))


@pytest.mark.parametrize("prefix", ["snf-", "demo-", "prod_2-"])
def test_good_prefix_is_accepted(tmp_path, prefix):
    write(tmp_path, "10-p.conf", "BACKEND_PREFIX_ID = %r\n" % prefix)
    assert loader.load(str(tmp_path))["BACKEND_PREFIX_ID"] == prefix


def test_legacy_rabbit_names_become_first_amqp_host(tmp_path):
    write(tmp_path, "10-q.conf", "RABBIT_HOST = 'mq1.example.org'\nRABBIT_USERNAME = 'syn'\n"
          "RABBIT_PASSWORD = 'p@ss/word'\nRABBIT_VHOST = 'synnefo'\n"
          "AMQP_HOSTS = ['amqp://u:p@mq2.example.org:5673/x']\n")
    hosts = loader.load(str(tmp_path))["AMQP_HOSTS"]
    assert hosts == ["amqp://syn:p%40ss%2Fword@mq1.example.org:5672/synnefo",
                     "amqp://u:p@mq2.example.org:5673/x"]


def test_legacy_default_vhost(tmp_path):
    write(tmp_path, "10-q.conf", "RABBIT_HOST = 'mq:5700'\n")
    assert loader.load(str(tmp_path))["AMQP_HOSTS"] == ["amqp://guest:guest@mq:5700/"]


def test_amqp_hosts_must_be_urls(tmp_path):
    write(tmp_path, "10-q.conf", "AMQP_HOSTS = ['localhost:5672']\n")
    with pytest.raises(SettingsError, match="AMQP_HOSTS"):
        loader.load(str(tmp_path))


def test_settings_dir_from_environment(tmp_path, monkeypatch):
    write(tmp_path, "10-x.conf", "FROM_ENV_DIR = 'yes'\n")
    monkeypatch.setenv("SYNNEFO_SETTINGS_DIR", str(tmp_path))
    loader.reset_cache()
    try:
        assert loader.get_settings().FROM_ENV_DIR == "yes"
    finally:
        loader.reset_cache()


def test_load_or_exit_prints_clear_message(tmp_path, capsys):
    write(tmp_path, "10-x.conf", "oops(\n")
    with pytest.raises(SystemExit) as exc:
        loader.load_or_exit(str(tmp_path))
    assert exc.value.code == 1
    assert "10-x.conf" in capsys.readouterr().err


def test_shipped_conf_files_document_every_default_and_set_nothing():
    from synnefo.common import defaults
    assert loader.conf_documentation_problems(defaults, CONF_DIR) == []


def test_conf_documentation_problems_are_found(tmp_path):
    import types
    module = types.SimpleNamespace(DOCUMENTED=1, MISSING=2)
    write(tmp_path, "10-x.conf", "## doc\n#DOCUMENTED = 1\nACTIVE = 3\n")
    problems = loader.conf_documentation_problems(module, str(tmp_path))
    assert any("MISSING is not documented" in p for p in problems)
    assert any("sets ACTIVE" in p for p in problems)
