"""snf-burnin's exit status and reports against a stand-in cloud (tests/fakecloud.py):
a failing step must give a non-zero exit, name itself in the reports, and make the
steps after it skipped with the reason."""

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
from fakecloud import TOKEN, FakeCloud

from synnefo.burnin import cli, runner

IMAGE = {"id": "7", "name": "bookworm", "metadata": {"OSFAMILY": "linux"}}


@pytest.fixture
def fake():
    clouds = []

    def make(**kw):
        clouds.append(FakeCloud(**kw))
        return clouds[-1]
    yield make
    for c in clouds:
        c.close()


def burnin(cloud, tmp_path, *extra):
    junit, js = tmp_path / "burnin.xml", tmp_path / "burnin.json"
    rc = cli.main(["--auth-url", cloud.base + "/identity/v3", "--token", TOKEN, "-q",
                   "--junit", str(junit), "--json", str(js), "--query-interval", "0.1"]
                  + list(extra))
    return rc, ET.parse(junit).getroot(), json.loads(js.read_text())


def by_step(report):
    return {r["step"]: r for r in report["results"]}


def test_sane_cloud_without_images_passes(fake, tmp_path):
    rc, junit, report = burnin(fake(), tmp_path)
    assert rc == 0, report
    assert report["failed"] == 0 and report["passed"] >= 5
    assert by_step(report)["unauthorized request gets 401"]["status"] == "passed"


def test_answering_without_a_token_fails_the_run(fake, tmp_path):
    rc, junit, report = burnin(fake(broken_auth=True), tmp_path)
    assert rc == 1
    step = by_step(report)["unauthorized request gets 401"]
    assert step["status"] == "failed" and "HTTP 200" in step["message"]
    [case] = [c for c in junit.iter("testcase") if c.get("name") == step["step"]]
    assert case.find("failure") is not None
    assert sum(int(s.get("failures")) for s in junit.iter("testsuite")) == 1


def test_failed_create_skips_the_rest_by_name_and_fails(fake, tmp_path):
    cloud = fake(images=[IMAGE])
    rc, junit, report = burnin(cloud, tmp_path)
    assert rc == 1
    steps = by_step(report)
    assert steps["create"]["status"] == "failed" and "HTTP 500" in steps["create"]["message"]
    for name in ("ACTIVE", "console (RFB 3.8, VNC auth)", "SSH with the key, hostname",
                 "shutdown", "start"):
        assert steps[name] == dict(steps[name], status="skipped",
                                   message="not run: create failed"), name
    # nothing to delete, said so; the keypair it uploaded is deleted again
    assert steps["delete"]["status"] == "skipped"
    assert steps["delete"]["message"] == "no server was created"
    assert any(m == "DELETE" and p.startswith("/compute/v2.1/os-keypairs/snf-burnin-")
               for m, p, _ in cloud.requests)
    skipped = [c for c in junit.iter("testcase") if c.find("skipped") is not None]
    assert len(skipped) == report["skipped"] > 0


def test_image_without_os_metadata_fails_the_sanity_step(fake, tmp_path):
    rc, _, report = burnin(fake(images=[dict(IMAGE, metadata={})]), tmp_path)
    assert rc == 1
    assert by_step(report)["images: list, detail, names, OS"]["status"] == "failed"


def test_login_refused_or_no_credentials_exit_2(fake, tmp_path, capsys):
    cloud = fake()
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  c:\n    auth:\n      auth_url: %s/identity/v3\n"
                      "      username: u\n      password: wrong\n" % cloud.base)
    assert cli.main(["--os-cloud", "c", "--clouds-yaml", str(clouds)]) == 2
    assert "HTTP 401" in capsys.readouterr().err
    assert cli.main(["--os-cloud", "nosuch", "--clouds-yaml", str(clouds)]) == 2
    assert cli.main(["--token", "x"]) == 2


def test_clouds_yaml_password_login(fake, tmp_path):
    cloud = fake()
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  c:\n    auth:\n      auth_url: %s/identity/v3\n"
                      "      username: u\n      password: pw\n" % cloud.base)
    assert cli.main(["--os-cloud", "c", "--clouds-yaml", str(clouds), "-q"]) == 0


def test_show_and_delete_stale_touch_only_burnin_servers(fake, capsys):
    cloud = fake(servers=[{"id": "1", "name": "snf-burnin-20260101 for debian"},
                          {"id": "2", "name": "web"}])
    auth = ["--auth-url", cloud.base + "/identity/v3", "--token", TOKEN, "-q"]
    assert cli.main(auth + ["--show-stale"]) == 0
    assert capsys.readouterr().out.splitlines() == ["1\tsnf-burnin-20260101 for debian\t"]
    assert [s["id"] for s in cloud.servers] == ["1", "2"]
    assert cli.main(auth + ["--delete-stale", "--query-interval", "0.1"]) == 0
    assert [s["id"] for s in cloud.servers] == ["2"]


def test_a_pure_api_client_imports_nothing_of_the_service():
    """No Django, no database driver, no other synnefo package: snf-tools depends on none."""
    code = ("import sys, synnefo.burnin.cli; print(sorted(m for m in sys.modules if "
            "m.split('.')[0] in ('django', 'psycopg2', 'MySQLdb', 'amqp') or "
            "(m.startswith('synnefo.') and not m.startswith('synnefo.burnin'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_sigterm_deletes_the_run_s_server_and_fails(fake, tmp_path):
    """A run stopped while it waits for ACTIVE deletes what it made and says so."""
    cloud = fake(images=[IMAGE], builds_forever=True)
    report = tmp_path / "burnin.json"
    proc = subprocess.Popen([sys.executable, "-m", "synnefo.burnin.cli", "--auth-url",
                             cloud.base + "/identity/v3", "--token", TOKEN, "-q",
                             "--query-interval", "0.2", "--json", str(report)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    # BUILD seen and the metadata step GET it once each; more: the ACTIVE wait polls
    while [(m, p) for m, p, _ in cloud.requests].count(("GET", "/compute/v2.1/servers/42")) < 4:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out + err
    steps = by_step(json.loads(report.read_text()))
    assert steps["ACTIVE"]["status"] == "failed" and "interrupted" in steps["ACTIVE"]["message"]
    assert steps["SSH with the key, hostname"]["message"] == "not run: interrupted"
    assert steps["delete"]["status"] == "passed"
    assert steps["run completed"]["status"] == "failed"
    assert ("DELETE", "/compute/v2.1/servers/42", None) in cloud.requests
    assert cloud.servers == []


def test_private_network_case_reports_by_name(fake, tmp_path):
    """A cloud without a public network fails the case at its first step, the rest
    skipped naming it; --no-private-network skips every step naming the option."""
    rc, _, report = burnin(fake(images=[IMAGE]), tmp_path)
    private = [r for r in report["results"] if r["group"] == "private network"]
    first, rest = private[0], private[1:-1]
    assert (first["step"], first["status"]) == ("network and subnet", "failed")
    assert "no public network" in first["message"]
    assert rest and all(r["message"] == "not run: network and subnet failed" for r in rest)
    assert private[-1]["step"] == "servers and network deleted"
    assert private[-1]["message"] == "nothing was created"
    rc, _, report = burnin(fake(images=[IMAGE]), tmp_path, "--no-private-network")
    private = [r for r in report["results"] if r["group"] == "private network"]
    assert [r["status"] for r in private] == ["skipped"] * 6
    assert {r["message"] for r in private[:-1]} == {"not run: --no-private-network"}


class StubCloud:
    """The two calls ServerRun's IPv6 reasoning makes."""

    def __init__(self, v6_networks):
        self.v6 = v6_networks

    def ports_of(self, server_id):
        return [{"network_id": "3"}, {"network_id": "8"}]

    def has_ipv6(self, network_id):
        return network_id in self.v6


def test_ipv6_steps_skip_without_an_ipv6_subnet_and_fail_with_one():
    r = runner.ServerRun(StubCloud(()), None, "run", IMAGE, {"id": "1"}, (None, None), print)
    r.id, r.ipv4 = "42", "192.0.2.7"
    with pytest.raises(runner.Skip, match="networks 3, 8 have no IPv6 subnet"):
        r.ping(6)
    r.cloud = StubCloud(("8",))
    with pytest.raises(runner.StepFailed, match="network 8 has an IPv6 subnet, but the "
                                                "server has no IPv6 address"):
        r.ssh(6)
    r.ipv6 = "2001:db8::7"
    assert r._address(6) == "2001:db8::7" and r._address(4) == "192.0.2.7"
