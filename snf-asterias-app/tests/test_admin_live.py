"""snf-admin (snf-tools) against a live deployment: the web project under gunicorn on a
file SQLite database, the real Ganeti test cluster (fake hypervisor) as its backend and
the real RabbitMQ under a prefix of this run. Server actions need the whole pipeline and
are covered by test_admin.py; here every other kind of command goes over the wire, with
tables, --json and the refusals an operator sees."""

import json
import os
import subprocess

import pytest
from support.admin_site import admin_site
from support.cluster import RAPI_PEM, env
from support.live import VENV_BIN

from synnefo.common.amqp_client import AMQPClient
from synnefo.logic.dead_letters import RETRY_HEADER

pytestmark = pytest.mark.integration

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("admin-live")
    (tmp / "rapi-password").write_text(env("SNF_TEST_RAPI_PASSWORD") + "\n")
    backend = ("backend-add", env("SNF_TEST_RAPI_HOST"), "--port", env("SNF_TEST_RAPI_PORT"),
               "--username", env("SNF_TEST_RAPI_USER"), "--password-file",
               str(tmp / "rapi-password"), "--certificate", RAPI_PEM, "--no-check")
    with admin_site(tmp, "cirros.img", setup=[backend]) as site:
        yield site


def snf_admin(live, *args, token=None, stdin=None, check=True):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    proc = subprocess.run(
        [os.path.join(VENV_BIN, "snf-admin"), "--auth-url", live.base + "/identity/v3",
         "--token=" + (token or live.root_token)] + list(args),
        env=environ, input=stdin, capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, "snf-admin %s: %s%s" % (args, proc.stdout, proc.stderr)
    return proc


def as_json(live, *args):
    return json.loads(snf_admin(live, *args, "--json").stdout)


def test_dashboard_reads_the_live_cluster(live):
    dash = as_json(live, "dashboard")
    (backend,) = dash["backends"]
    assert backend["reachable"] is True, backend
    assert backend["nodes"] >= 1 and backend["mfree"] > 0
    assert dash["users"] == 2
    assert dash["dead_letters"] == 0
    table = snf_admin(live, "dashboard").stdout
    assert env("SNF_TEST_RAPI_HOST") in table and "backends:" in table


def test_a_non_admin_token_is_refused(live):
    proc = snf_admin(live, "user-list", token=live.alice_token, check=False)
    assert proc.returncode == 1
    assert "not an administrator" in proc.stderr
    proc = snf_admin(live, "user-list", token="not-a-token", check=False)
    assert proc.returncode == 1


def test_users(live):
    snf_admin(live, "user-create", "carol", "--email", "carol@example.org",
              "--password-stdin", stdin="carol-pass\n")
    users = {u["name"]: u for u in as_json(live, "user-list")["users"]}
    assert users["carol"]["email"] == "carol@example.org"
    out = snf_admin(live, "user-suspend", "carol").stdout
    assert "user.suspend user carol: done" in out
    assert as_json(live, "user-show", "carol")["user"]["state"] == "SUSPENDED"
    snf_admin(live, "user-unsuspend", "carol")
    snf_admin(live, "user-quotas", "carol", "--max-servers", "3")
    user = as_json(live, "user-show", "carol")["user"]
    assert (user["state"], user["servers"]) == ("ACTIVE", 3)
    assert "carol" in snf_admin(live, "user-list", "--search", "car").stdout
    proc = snf_admin(live, "user-create", "carol", check=False)
    assert proc.returncode == 1 and "already exists" in proc.stderr


def test_flavors_images_networks(live):
    snf_admin(live, "flavor-create", "--cpu", "2", "--ram", "768", "--disk", "3")
    flavor = [f for f in as_json(live, "flavor-list")["flavors"] if f["ram"] == 768][0]
    snf_admin(live, "flavor-disable", str(flavor["id"]))
    assert [f["deleted"] for f in as_json(live, "flavor-list")["flavors"]
            if f["id"] == flavor["id"]] == [True]
    assert snf_admin(live, "image-files").stdout.split() == ["cirros.img"]
    snf_admin(live, "image-register", "cirros.img", "--name", "CirrOS")
    image = [i for i in as_json(live, "image-list")["images"] if i["name"] == "CirrOS"][0]
    assert image["public"] is True
    snf_admin(live, "image-private", str(image["id"]))
    assert [i["public"] for i in as_json(live, "image-list")["images"]
            if i["id"] == image["id"]] == [False]
    assert as_json(live, "network-list", "--public") == {"networks": []}
    assert as_json(live, "invitation-list") == {"invitations": []}
    snf_admin(live, "user-quotas", "alice", "--max-invitations", "2")
    assert as_json(live, "user-show", "alice")["user"]["invitations"] == 2


def test_backends(live):
    (backend,) = as_json(live, "backend-list")["backends"]
    snf_admin(live, "backend-modify", str(backend["id"]), "--drained", "yes")
    snf_admin(live, "backend-modify", str(backend["id"]), "--username",
              env("SNF_TEST_RAPI_USER"), "--password-stdin",
              stdin=env("SNF_TEST_RAPI_PASSWORD") + "\n")
    (backend,) = as_json(live, "backend-list")["backends"]
    assert backend["drained"] is True
    audit = snf_admin(live, "audit", "--json").stdout
    assert env("SNF_TEST_RAPI_PASSWORD") not in audit
    assert as_json(live, "dashboard")["backends"][0]["reachable"] is True  # credentials kept
    snf_admin(live, "backend-modify", str(backend["id"]), "--drained", "no")


def test_the_pinned_certificate_is_what_the_cluster_is_trusted_by(live):
    """The test cluster's RAPI certificate is self-signed: unpinned, GANETI_RAPI_VERIFY
    refuses it; pinned again from a copy of rapi.pem (key and all), it is trusted."""
    (backend,) = as_json(live, "backend-list")["backends"]
    snf_admin(live, "backend-modify", str(backend["id"]), "--unpin")
    row = as_json(live, "dashboard")["backends"][0]
    assert row["reachable"] is False and "certificate" in row["error"], row
    snf_admin(live, "backend-modify", str(backend["id"]), "--certificate", RAPI_PEM)
    assert as_json(live, "dashboard")["backends"][0]["reachable"] is True
    fingerprint = subprocess.run(["openssl", "x509", "-in", RAPI_PEM, "-noout", "-fingerprint",
                                  "-sha256"], capture_output=True, text=True, check=True)
    (last,) = as_json(live, "audit", "--limit", "1")["audit"]
    assert last["details"]["result"]["pinned"] == fingerprint.stdout.strip().split("=")[1]
    assert "PRIVATE" not in json.dumps(last)


def test_dead_letters_inspect_retry_drop(live):
    queue = live.topology.queue_names["op"]
    with AMQPClient([live.amqp]) as client:
        for job in (1, 2):
            client.publish("", queue + "-dl", json.dumps({"type": "ganeti-op-status",
                                                          "jobId": job}))
    rows = {q["queue"]: q for q in as_json(live, "deadletter-list")["queues"]}
    assert rows[queue]["dead_letters"] == 2
    letters = as_json(live, "deadletter-show", queue)["dead_letters"]
    assert [m["body"]["jobId"] for m in letters] == [1, 2]
    assert "ganeti-op-status" in snf_admin(live, "deadletter-show", queue).stdout
    out = snf_admin(live, "deadletter-retry", queue).stdout
    assert '"retried": 2' in out and '"dropped_loops": 0' in out
    rows = {q["queue"]: q for q in as_json(live, "deadletter-list")["queues"]}
    assert (rows[queue]["dead_letters"], rows[queue]["messages"]) == (0, 2)
    with AMQPClient([live.amqp]) as client:
        client.publish("", queue + "-dl", "not json")
    assert '"dropped": 1' in snf_admin(live, "deadletter-drop", queue).stdout
    # one that failed again after a retry is a loop: dropped, as queue-retry does
    with AMQPClient([live.amqp]) as client:
        client.publish("", queue + "-dl", "again", headers={RETRY_HEADER: True})
    out = snf_admin(live, "deadletter-retry", queue).stdout
    assert '"dropped_loops": 1' in out and '"retried": 0' in out
    rows = {q["queue"]: q for q in as_json(live, "deadletter-list")["queues"]}
    assert rows[queue]["dead_letters"] == 0
    proc = snf_admin(live, "deadletter-retry", "nosuch", check=False)
    assert proc.returncode == 1 and "not an event queue" in proc.stderr


def test_audit_lists_what_snf_admin_did(live):
    entries = as_json(live, "audit", "--limit", "500")["audit"]
    assert {e["via"] for e in entries} == {"api"}
    assert {e["user"] for e in entries} == {"root"}
    assert "user.create" in {e["action"] for e in entries}
    table = snf_admin(live, "audit").stdout
    assert table.splitlines()[0].split() == ["WHEN", "USER", "ADDRESS", "VIA", "ACTION",
                                             "TARGET"]
