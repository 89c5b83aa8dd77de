"""snf-cloud without a cloud: its parser against its bash completion, the local viewer,
output escaping, exit statuses, what it imports. The commands against the live
deployment: snf-asterias-app/tests/test_e2e_openstacksdk.py::test_snf_cloud."""

import io
import os
import re
import socket
import subprocess
import sys
import tempfile

import pytest

from synnefo.cloud import api, cli, output, viewer

HERE = os.path.dirname(os.path.abspath(__file__))
COMPLETION = os.path.join(os.path.dirname(HERE), "bash-completion", "snf-cloud")


def subcommands(parser):
    """{command: [verbs]} of the argparse parser."""
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    out = {}
    for name, sub in action.choices.items():
        inner = [a for a in sub._actions if a.__class__.__name__ == "_SubParsersAction"]
        out[name] = sorted(inner[0].choices) if inner else []
    return out


def test_completion_knows_every_command_and_verb():
    commands = subcommands(cli.build_parser())
    with open(COMPLETION) as f:
        text = f.read()
    listed = re.search(r'local commands="([^"]+)"', text).group(1).split()
    assert sorted(listed) == sorted(commands)
    for command, verbs in commands.items():
        if verbs:
            line = re.search(r"\b%s\).*?words_now=\"([^\"]+)\"" % command, text, re.S)
            assert line and sorted(line.group(1).split()) == verbs, command
    assert subprocess.run(["bash", "-n", COMPLETION]).returncode == 0


def test_viewer_found_on_path_gets_its_address_form(tmp_path, monkeypatch):
    program = tmp_path / "gvncviewer"
    program.write_text("#!/bin/sh\necho \"$@\" > %s/args\n" % tmp_path)
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    found = viewer.find_viewer()
    assert found == (str(program), "{host}:{display}")
    command = viewer.viewer_command(found, "vnc.example.org", 5901)
    assert command == [str(program), "vnc.example.org:1"]
    assert viewer.start_viewer(command) == 0
    assert (tmp_path / "args").read_text() == "vnc.example.org:1\n"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert viewer.find_viewer() is None


def test_console_viewer_missing_is_exit_1_before_asking_for_a_console(monkeypatch, capsys):
    asked = []
    monkeypatch.setattr(api, "connect", lambda cloud: object())
    monkeypatch.setattr(api, "find_server", lambda conn, name: {"id": "42"})
    monkeypatch.setattr(api, "vnc_console", lambda conn, sid: asked.append(sid))
    monkeypatch.setattr(viewer, "find_viewer", lambda: None)
    assert cli.main(["console", "vm", "--viewer"]) == 1
    assert "no VNC viewer found" in capsys.readouterr().err
    assert asked == []   # a console is one-shot: not wasted when nothing can use it


def console_with_viewer(tmp_path, monkeypatch, program, script):
    """`snf-cloud console vm --viewer` with ``script`` (sh) as ``program``, the only viewer
    on PATH, and temporary files in tmp_path/tmp; its exit status."""
    path = tmp_path / program
    path.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + script)
    path.chmod(0o755)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(api, "connect", lambda cloud: object())
    monkeypatch.setattr(api, "find_server", lambda conn, name: {"id": "42", "name": "web 1"})
    monkeypatch.setattr(api, "vnc_console", lambda conn, sid: {
        "host": "h.example.org", "port": 25002, "password": "s3cr3t"})
    return cli.main(["console", "vm", "--viewer"])


def test_console_viewer_gets_the_password_in_its_environment_not_its_arguments(
        tmp_path, monkeypatch, capsys):
    script = "echo \"$* $VNC_PASSWORD\" > %s/seen\n" % tmp_path
    assert console_with_viewer(tmp_path, monkeypatch, "xtigervncviewer", script) == 0
    assert (tmp_path / "seen").read_text() == "h.example.org::25002 s3cr3t\n"
    assert "with the password" in capsys.readouterr().err


def test_console_remote_viewer_gets_a_private_connection_file_removed_after_it_exits(
        tmp_path, monkeypatch, capsys):
    # like a remote-viewer that ignores delete-this-file: snf-cloud removes the file
    script = ('{ echo "$#"; stat -c %%a "$1" "$(dirname "$1")"; cat "$1"; } > %s/seen\n'
              "exit 3\n" % tmp_path)
    assert console_with_viewer(tmp_path, monkeypatch, "remote-viewer", script) == 3
    assert (tmp_path / "seen").read_text() == (
        "1\n600\n700\n[virt-viewer]\ntype=vnc\nhost=h.example.org\nport=25002\n"
        "password=s3cr3t\ntitle=web 1 (snf-cloud console)\ndelete-this-file=1\n")
    assert os.listdir(tmp_path / "tmp") == []
    err = capsys.readouterr().err
    assert "with the password" in err and "s3cr3t" not in err and ".vv" in err


def test_connection_file_is_removed_when_the_viewer_cannot_start(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    found = (str(tmp_path / "remote-viewer"), viewer.CONNECTION_FILE)  # no such program
    with pytest.raises(FileNotFoundError):
        with viewer.prepared_command(found, "h.example.org", 25002, "s3cr3t") as command:
            assert len(command) == 2 and os.path.isfile(command[1])
            viewer.start_viewer(command, "s3cr3t")
    assert os.listdir(tmp_path) == []


def test_connection_file_keeps_each_value_one_string_of_glib_key_file_format():
    text = viewer.connection_file_text("h", "5901", " a\\b\nport=1\r\tc ", "\u00e9 x")
    assert text == ("[virt-viewer]\ntype=vnc\nhost=h\nport=5901\n"
                    "password=\\sa\\\\b\\nport=1\\r\\tc \ntitle=\u00e9 x\ndelete-this-file=1\n")
    assert "password" not in viewer.connection_file_text("h", 5901)
    with pytest.raises(ValueError):
        viewer.connection_file_text("h", 5901, "a\0b")
    with pytest.raises(ValueError):
        viewer.connection_file_text("h\n", "5901x")


def test_console_vnc_prints_host_port_password(monkeypatch, capsys):
    monkeypatch.setattr(api, "connect", lambda cloud: object())
    monkeypatch.setattr(api, "find_server", lambda conn, name: {"id": "42"})
    monkeypatch.setattr(api, "vnc_console", lambda conn, sid: {
        "host": "h.example.org", "port": 25002, "password": "pw\x1b[2J"})
    assert cli.main(["console", "vm", "--vnc"]) == 0
    out = capsys.readouterr().out
    assert "h.example.org" in out and "25002" in out
    assert "\x1b" not in out and "pw\\x1b[2J" in out


def test_output_escapes_what_could_act_on_a_terminal():
    out = io.StringIO()
    output.table([{"name": "evil\x1b]0;title\x07\u202e", "n": None, "ok": True}],
                 [("NAME", "name"), ("N", "n"), ("OK", "ok")], out)
    text = out.getvalue()
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "\\x1b" in text and "\\u202e" in text and " - " in text and "yes" in text


def test_login_failure_is_exit_2_with_one_line(tmp_path):
    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  c:\n    auth:\n      auth_url: http://127.0.0.1:%d/identity/v3\n"
                      "      username: u\n      password: p\n      project_name: u\n"
                      "      user_domain_name: Default\n      project_domain_name: Default\n"
                      % port)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    environ.update(OS_CLIENT_CONFIG_FILE=str(clouds), HOME=str(tmp_path))
    for cloud in ("c", "not-in-the-file"):
        proc = subprocess.run([sys.executable, "-m", "synnefo.cloud.cli", "--os-cloud", cloud,
                               "server", "list"], env=environ, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 2, proc
        assert proc.stderr.startswith("snf-cloud: cannot log in to %s" % cloud), proc.stderr
        assert "Traceback" not in proc.stderr


def test_bad_usage_is_exit_2():
    proc = subprocess.run([sys.executable, "-m", "synnefo.cloud.cli", "firewall", "set", "vm",
                           "OPEN"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_imports_nothing_of_the_service():
    code = ("import sys, synnefo.cloud.cli; bad = [m for m in sys.modules if m.split('.')[0] "
            "in ('django', 'psycopg2', 'MySQLdb', 'amqp') or m.startswith('synnefo.') and "
            "not m.startswith('synnefo.cloud')]; print(bad)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc
