"""snf-admin's own parts: the parameters each command sends, its tables, its
completion file (bash, with the console script of this venv). Against a live
deployment: snf-asterias-app/tests/test_admin_live.py."""

import os
import subprocess
import sys

import pytest

from synnefo.admincli import cli, output

COMPLETION = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "bash-completion", "snf-admin")


def params(*argv):
    opts = cli.parser()[0].parse_args(list(argv))
    return cli.COMMANDS[opts.command], cli.params_of(opts)


@pytest.mark.parametrize("argv, operation, expected", [
    (["user-suspend", "alice"], "user.suspend", {"user": "alice"}),
    (["user-quotas", "bob", "--max-ram", "2048"], "user.quotas",
     {"user": "bob", "max_ram": 2048}),
    (["server-reboot", "7", "--hard"], "server.reboot", {"server": "7", "type": "HARD"}),
    (["server-delete", "7"], "server.delete", {"server": "7"}),
    (["flavor-create", "--cpu", "1", "--ram", "512", "--disk", "5"], "flavor.create",
     {"cpu": 1, "ram": 512, "disk": 5, "disk_template": None}),
    (["image-register", "f.img", "--private"], "image.register",
     {"file": "f.img", "name": None, "public": False}),
    (["image-public", "3"], "image.visibility", {"image": "3", "public": True}),
    (["backend-modify", "b1", "--drained", "yes"], "backend.modify",
     {"backend": "b1", "drained": "yes"}),
    (["backend-add", "g.example", "--no-check"], "backend.add",
     {"clustername": "g.example", "port": 5080, "username": "", "check": False}),
    (["deadletter-drop", "snf-events-op"], "deadletters.drop", {"queue": "snf-events-op"}),
])
def test_each_action_sends_its_operation_and_parameters(argv, operation, expected):
    assert params(*argv) == (operation, expected)


def test_passwords_come_from_stdin_only(monkeypatch):
    monkeypatch.setattr(sys, "stdin", type("In", (), {"isatty": lambda self: False,
                                                      "readline": lambda self: "pw\n"})())
    assert params("backend-modify", "b1", "--password-stdin")[1]["password"] == "pw"
    with pytest.raises(SystemExit):
        cli.parser()[0].parse_args(["backend-add", "x", "--password", "pw"])


def test_a_certificate_file_sends_its_certificates_and_keeps_its_key(tmp_path):
    cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    pem = tmp_path / "rapi.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n"
                   + cert + "\n")
    assert params("backend-add", "g.example", "--certificate", str(pem))[1][
        "certificate"] == cert + "\n"
    assert params("backend-modify", "b1", "--unpin") == (
        "backend.modify", {"backend": "b1", "unpin": True})
    with pytest.raises(SystemExit):  # one or the other
        cli.parser()[0].parse_args(["backend-modify", "b1", "--unpin", "--certificate", "f"])
    key_only = tmp_path / "key.pem"
    key_only.write_text("-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n")
    for path, reason in [(tmp_path / "none.pem", "cannot read"), (key_only, "no PEM")]:
        with pytest.raises(cli.UsageError, match=reason):
            params("backend-modify", "b1", "--certificate", str(path))


def test_admin_root_is_beside_the_identity_api():
    assert cli.admin_root("https://c.example/identity/v3") == "https://c.example/admin/api/"
    assert cli.admin_root("http://127.0.0.1:8080/identity/v3/") == \
        "http://127.0.0.1:8080/admin/api/"


def test_tables_align_and_escape_what_could_act_on_the_terminal():
    text = output.table([{"id": 1, "name": "a\nb\x1b[2J", "ok": True},
                         {"id": 22, "ok": None}], ["id", "name", "ok"])
    assert text.splitlines() == ["ID  NAME         OK", "1   a\\nb\\x1b[2J  yes",
                                 "22  -            -"]


def test_json_is_accepted_before_and_after_the_command():
    assert cli.parser()[0].parse_args(["--json", "user-list"]).json is True
    assert cli.parser()[0].parse_args(["user-list", "--json"]).json is True
    assert cli.parser()[0].parse_args(["user-list"]).json is False


def test_missing_credentials_exit_2_with_a_message(capsys, monkeypatch):
    for name in ("OS_CLOUD", "OS_AUTH_URL", "OS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["user-list"]) == 2
    assert "--os-cloud" in capsys.readouterr().err


def complete(line):
    """What bash completes after ``line`` with the completion file sourced."""
    script = ('source "%s"; COMP_WORDS=(%s); COMP_CWORD=%d; _snf_admin; '
              'printf "%%s\\n" "${COMPREPLY[@]}"'
              % (COMPLETION, line, len(line.split()) - (0 if line.endswith(" ") else 1)))
    if line.endswith(" "):
        script = script.replace("COMP_WORDS=(%s)" % line, "COMP_WORDS=(%s '')" % line)
    environ = dict(os.environ, PATH=os.path.dirname(sys.executable) + ":/usr/bin:/bin")
    out = subprocess.run(["bash", "-c", script], env=environ, capture_output=True,
                         text=True, check=True).stdout
    return sorted(out.split())


def test_completion_offers_commands_options_and_values():
    assert complete("snf-admin user-s") == ["user-show", "user-suspend"]
    assert set(complete("snf-admin ")) == set(cli.parser()[1])
    assert complete("snf-admin server-list --us") == ["--user"]
    assert complete("snf-admin backend-modify b1 --drained ") == ["no", "yes"]
    assert "--os-cloud" in complete("snf-admin --")
