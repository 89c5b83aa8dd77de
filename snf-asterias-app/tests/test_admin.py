"""The web admin (/admin/) and the admin API (/admin/api/): who gets in (403 for
everyone else, CSRF on every form), every operation through both front ends with its
audit record, and bad input answered 4xx. Ganeti is the unit tests' FakeBackend."""

import json
import re

import pytest
from django.core import mail
from django.test import Client
from support.api import create_server
from support.certificates import openssl_fingerprint, rapi_pem

from synnefo.db.models import AuditEntry, Backend, Flavor, Image, User, VirtualMachine
from synnefo.logic import invitations

PAGES = ["/admin/", "/admin/users/", "/admin/servers/", "/admin/flavors/", "/admin/images/",
         "/admin/networks/", "/admin/backends/", "/admin/invitations/", "/admin/audit/"]
API_READS = ["/admin/api/dashboard", "/admin/api/users", "/admin/api/servers",
             "/admin/api/flavors", "/admin/api/images", "/admin/api/networks",
             "/admin/api/backends", "/admin/api/invitations", "/admin/api/audit"]
PASSWORD = "secret-" + "pw"  # support.api.make_user's


@pytest.fixture(autouse=True)
def no_broker(settings):
    # the dashboard's dead-letter depth: no broker in unit tests (shown "unreachable")
    settings.AMQP_HOSTS = ["amqp://nobody:x@127.0.0.1:1/none"]


def signed_in(name="root", csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    form = {"name": name, "password": PASSWORD, "next": "/admin/users/"}
    if csrf:  # the sign-in form is protected too
        assert client.post("/admin/login/", form).status_code == 403
        form["csrfmiddlewaretoken"] = csrf_of(client, "/admin/login/")
    response = client.post("/admin/login/", form)
    assert response.status_code == 302, response.content
    assert response["Location"] == "/admin/users/"
    return client


def csrf_of(client, page="/admin/users/"):
    html = client.get(page).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def act(client, operation, **params):
    params.setdefault("next", "/admin/audit/")
    return client.post("/admin/do/%s/" % operation, params)


def api_act(world_client, operation, **params):
    return world_client.post("/admin/api/actions/%s" % operation, params)


def last_audit():
    return AuditEntry.objects.order_by("-id").first()


# -- who gets in -----------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
def test_pages_send_anonymous_to_sign_in_and_render_for_admin(world, page):
    response = Client().get(page)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")
    response = signed_in().get(page)
    assert response.status_code == 200
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "<script" not in response.content.decode()


def test_non_admin_cannot_sign_in_and_is_told_nothing(world):
    wrong = Client().post("/admin/login/", {"name": "alice", "password": "wrong"})
    non_admin = Client().post("/admin/login/", {"name": "alice", "password": PASSWORD})
    assert wrong.status_code == non_admin.status_code == 403
    assert wrong.context["error"] == non_admin.context["error"]
    assert "admin" not in non_admin.context["error"].lower()


def test_session_of_demoted_admin_gets_403(world):
    client = signed_in()
    User.objects.filter(name="root").update(is_admin=False)
    response = client.get("/admin/users/")
    assert response.status_code == 403
    assert b"root" not in response.content
    assert act(client, "user.suspend", user="alice").status_code == 403


def test_wrong_methods_tell_a_stranger_nothing(world):
    assert Client().get("/admin/do/user.suspend/").status_code == 302  # to sign in
    assert Client().put("/admin/users/").status_code == 403
    assert signed_in().get("/admin/do/user.suspend/").status_code == 405


def test_anonymous_post_is_403_and_changes_nothing(world):
    response = Client().post("/admin/do/user.suspend/", {"user": "alice"})
    assert response.status_code == 403
    assert User.objects.get(name="alice").state == "ACTIVE"


def test_sign_out_revokes_the_session(world):
    client = signed_in()
    assert client.post("/admin/logout/").status_code == 302
    assert client.get("/admin/users/").status_code == 302


def test_sign_in_next_outside_the_admin_is_ignored(world):
    response = Client().post("/admin/login/", {"name": "root", "password": PASSWORD,
                                               "next": "https://evil.example/"})
    assert response["Location"] == "/admin/"


def test_forms_need_the_csrf_token(world):
    client = signed_in(csrf=True)
    assert client.post("/admin/do/user.suspend/", {"user": "alice"}).status_code == 403
    assert User.objects.get(name="alice").state == "ACTIVE"
    token = csrf_of(client)
    response = client.post("/admin/do/user.suspend/", {"user": "alice", "next": "/admin/users/",
                                                      "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert User.objects.get(name="alice").state == "SUSPENDED"


@pytest.mark.parametrize("path", API_READS + ["/admin/api/users/alice"])
def test_api_is_403_without_an_admin_token(world, path):
    for client in (world.anon, world.a):
        response = client.get(path)
        assert response.status_code == 403
        assert json.loads(response.content) == {"forbidden": {"code": 403,
                                                              "message": "Forbidden."}}
    response = world.r.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_api_ignores_the_web_session(world):
    # a signed-in browser cannot be made to use the API: only the token header counts
    client = signed_in()
    assert client.get("/admin/api/users").status_code == 403
    assert client.post("/admin/api/actions/user.suspend", {"user": "alice"},
                       content_type="application/json").status_code == 403
    assert User.objects.get(name="alice").state == "ACTIVE"


def test_api_action_is_403_for_a_non_admin(world):
    assert api_act(world.a, "user.suspend", user="bob").status_code == 403
    assert User.objects.get(name="bob").state == "ACTIVE"
    assert not AuditEntry.objects.exists()


# -- operations and their audit records -------------------------------------------------

def test_user_create_suspend_unsuspend_and_quotas_are_audited(world, fake_backend):
    client = signed_in()
    assert act(client, "user.create", name="carol", email="c@example.org",
               password="pw-123").status_code == 302
    entry = last_audit()
    assert (entry.user_name, entry.action, entry.target, entry.via, entry.address) == \
        ("root", "user.create", "user carol", "web", "127.0.0.1")
    assert json.loads(entry.details)["password"] == "(set)"  # never the password itself

    create_server(world.a, world)
    vm = VirtualMachine.objects.get(owner=world.alice)
    fake_backend.finish_all()
    vm.refresh_from_db()
    assert vm.operstate == "STARTED"
    assert act(client, "user.suspend", user="alice").status_code == 302
    vm.refresh_from_db()
    assert User.objects.get(name="alice").state == "SUSPENDED"
    assert vm.suspended and vm.action == "STOP"
    assert fake_backend.calls[-1] == ("stop", vm.id)
    assert last_audit().action == "user.suspend"
    assert world.a.get("/compute/v2.1/servers").status_code == 401  # the user is locked out

    assert act(client, "user.unsuspend", user="alice").status_code == 302
    vm.refresh_from_db()
    assert User.objects.get(name="alice").state == "ACTIVE" and not vm.suspended

    assert act(client, "user.quotas", user="alice", max_servers="7").status_code == 302
    assert User.objects.get(name="alice").max_servers == 7
    page = client.get("/admin/users/%d/" % world.alice.id).content.decode()
    assert "alice" in page and vm.name in page


def test_server_actions_through_the_web_and_the_api(world, fake_backend):
    create_server(world.a, world)
    vm = VirtualMachine.objects.get(owner=world.alice)
    fake_backend.finish_all()
    client = signed_in()
    assert act(client, "server.stop", server=str(vm.id)).status_code == 302
    assert fake_backend.calls[-1] == ("stop", vm.id)
    fake_backend.finish_all()
    response = api_act(world.r, "server.start", server=vm.id)
    assert response.status_code == 200, response.content
    assert json.loads(response.content)["audit"]["action"] == "server.start"
    assert last_audit().via == "api"
    fake_backend.finish_all()
    assert act(client, "server.reboot", server=vm.id, type="HARD").status_code == 302
    assert fake_backend.calls[-1] == ("reboot", vm.id, "hard")
    fake_backend.finish_all()
    assert act(client, "server.suspend", server=vm.id).status_code == 302
    vm.refresh_from_db()
    assert vm.suspended
    # the owner cannot start it now
    response = world.a.post("/compute/v2.1/servers/%d/action" % vm.id, {"os-start": None})
    assert response.status_code in (403, 409)
    fake_backend.finish_all()
    assert act(client, "server.unsuspend", server=vm.id).status_code == 302
    assert act(client, "server.delete", server=vm.id).status_code == 302
    assert fake_backend.calls[-1][:2] == ("delete", vm.id)
    detail = client.get("/admin/servers/%d/" % vm.id).content.decode()
    assert "server.delete" in detail and "server.suspend" in detail  # its history
    api = json.loads(world.r.get("/admin/api/servers/%d" % vm.id).content)["server"]
    assert [h["action"] for h in api["history"]][:2] == ["server.delete", "server.unsuspend"]


def test_server_filters(world, fake_backend):
    create_server(world.a, world, name="web-1")
    create_server(world.b, world, name="db-1")
    rows = json.loads(world.r.get("/admin/api/servers?user=alice").content)["servers"]
    assert [r["name"] for r in rows] == ["web-1"]
    rows = json.loads(world.r.get("/admin/api/servers?name=db").content)["servers"]
    assert [r["owner"] for r in rows] == ["bob"]
    rows = json.loads(world.r.get("/admin/api/servers?state=BUILD&flavor=%d"
                                  % world.small.id).content)["servers"]
    assert len(rows) == 2
    assert json.loads(world.r.get("/admin/api/servers?state=ACTIVE").content)["servers"] == []
    assert json.loads(world.r.get("/admin/api/servers?state=nonsense").content)["servers"] == []
    fake_backend.finish_all()
    rows = json.loads(world.r.get("/admin/api/servers?state=active").content)["servers"]
    assert len(rows) == 2
    assert len(json.loads(world.r.get("/admin/api/servers?state=STARTED&user=bob")
                          .content)["servers"]) == 1
    page = signed_in().get("/admin/servers/?user=bob").content.decode()
    assert "db-1" in page and "web-1" not in page


def test_flavor_create_disable_enable(world):
    client = signed_in()
    assert act(client, "flavor.create", cpu="8", ram="2048", disk="40").status_code == 302
    flavor = Flavor.objects.get(cpu=8, ram=2048, disk=40)
    assert last_audit().target == "flavor %d" % flavor.id
    assert act(client, "flavor.create", cpu="8", ram="2048", disk="40").status_code == 409
    assert act(client, "flavor.disable", flavor=flavor.id).status_code == 302
    assert Flavor.objects.get(pk=flavor.pk).deleted
    assert api_act(world.r, "flavor.enable", flavor=flavor.id).status_code == 200
    assert not Flavor.objects.get(pk=flavor.pk).deleted


def test_image_register_from_the_store_and_visibility(world, settings, tmp_path):
    settings.IMAGE_STORE_DIR = str(tmp_path)
    (tmp_path / "debian-13.img").write_bytes(b"x" * 4096)
    client = signed_in()
    assert "debian-13.img" in client.get("/admin/images/").content.decode()
    assert act(client, "image.register", file="debian-13.img", name="Debian 13",
               public="yes").status_code == 302
    image = Image.objects.get(name="Debian 13")
    assert (image.backend_id, image.size, image.public) == ("debian-13.img", 4096, True)
    assert json.loads(world.r.get("/admin/api/images").content)["unregistered_files"] == []
    assert act(client, "image.visibility", image=image.id, public="no").status_code == 302
    assert not Image.objects.get(pk=image.pk).public
    assert act(client, "image.register", file="../etc/passwd").status_code == 400
    # the form's unticked "public" box: only its hidden "no" is sent; ticked, "yes" last
    (tmp_path / "a.img").write_bytes(b"a")
    (tmp_path / "b.img").write_bytes(b"b")
    assert act(client, "image.register", file="a.img", public=["no"]).status_code == 302
    assert act(client, "image.register", file="b.img", public=["no", "yes"]).status_code == 302
    assert [Image.objects.get(backend_id=f).public for f in ("a.img", "b.img")] == \
        [False, True]


def test_backend_add_drain_offline_and_credentials_never_shown(world):
    client = signed_in()
    assert act(client, "backend.add", clustername="ganeti2.example", port="5080",
               username="rapi", password="s3cret-pw", check="no").status_code == 302
    backend = Backend.objects.get(clustername="ganeti2.example")
    assert backend.password == "s3cret-pw"
    assert act(client, "backend.modify", backend=backend.id, drained="yes").status_code == 302
    assert act(client, "backend.modify", backend="ganeti2.example",
               offline="yes").status_code == 302
    assert api_act(world.r, "backend.modify", backend=backend.id, username="rapi2",
                   password="n3w-pw").status_code == 200
    backend.refresh_from_db()
    assert (backend.drained, backend.offline, backend.username, backend.password) == \
        (True, True, "rapi2", "n3w-pw")
    for text in (client.get("/admin/backends/").content.decode(),
                 client.get("/admin/audit/").content.decode(),
                 world.r.get("/admin/api/backends").content.decode(),
                 world.r.get("/admin/api/audit").content.decode()):
        assert "s3cret-pw" not in text and "n3w-pw" not in text
    # the dashboard reads the live state, and an offline backend is not contacted
    dash = json.loads(world.r.get("/admin/api/dashboard").content)
    row = [b for b in dash["backends"] if b["clustername"] == "ganeti2.example"][0]
    assert row["reachable"] is False and row["error"].startswith("offline")


def test_a_backend_certificate_is_pinned_and_unpinned_and_audited_by_fingerprint(
        world, tmp_path):
    """As snf-manage backend-add/modify --certificate: the certificates of a pasted
    rapi.pem are pinned (its key is not kept); the audit log has the fingerprint."""
    pem = rapi_pem(tmp_path)
    client = signed_in()
    assert act(client, "backend.add", clustername="ganeti3.example", check="no",
               certificate=pem.read_text()).status_code == 302
    backend = Backend.objects.get(clustername="ganeti3.example")
    assert backend.certificate.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in backend.certificate
    details = last_audit().details
    assert json.loads(details)["result"]["pinned"] == openssl_fingerprint(pem)
    assert "BEGIN" not in details and json.loads(details)["certificate"] == "(set)"
    page = client.get("/admin/backends/").content.decode()
    assert "Unpin" in page and "BEGIN CERTIFICATE" not in page.replace(
        'placeholder="-----BEGIN CERTIFICATE-----', "")
    assert api_act(world.r, "backend.modify", backend=backend.id,
                   unpin="yes").status_code == 200
    backend.refresh_from_db()
    assert backend.certificate == "" and json.loads(last_audit().details)["result"] == \
        {"pinned": None}
    other = rapi_pem(tmp_path, "other.example")
    assert act(client, "backend.modify", backend=backend.id,
               certificate=other.read_text()).status_code == 302
    backend.refresh_from_db()
    assert backend.certificate in other.read_text()
    refused = api_act(world.r, "backend.modify", backend=backend.id, unpin="yes",
                      certificate=pem.read_text())
    assert refused.status_code == 400 and b"exclude each other" in refused.content
    rows = json.loads(world.r.get("/admin/api/backends").content)["backends"]
    assert [r["pinned"] for r in rows if r["id"] == backend.id] == [True]


def test_dashboard_shows_an_unreachable_cluster_not_a_500(world, settings):
    Backend.objects.create(clustername="127.0.0.1", port=1)  # nothing listens on port 1
    response = signed_in().get("/admin/")
    assert response.status_code == 200
    assert "unreachable" in response.content.decode()
    dash = response.context["d"]
    assert dash["dead_letters"] is None  # no broker either
    assert dash["users"] == 3 and dash["flavors"] == 3


def test_invitations_listed_resent_and_their_quota(world, settings):
    settings.INVITATIONS_ENABLED = True
    invitation, _token = invitations.invite(world.alice, "dora@example.org")
    client = signed_in()
    assert "dora@example.org" in client.get("/admin/invitations/").content.decode()
    sent = len(mail.outbox)
    assert act(client, "invitation.resend", invitation=invitation.id).status_code == 302
    assert len(mail.outbox) == sent + 1 and mail.outbox[-1].to == ["dora@example.org"]
    assert last_audit().target == "invitation %d" % invitation.id
    rows = json.loads(world.r.get("/admin/api/invitations").content)["invitations"]
    assert [(r["inviter"], r["email"], r["send_count"]) for r in rows] == \
        [("alice", "dora@example.org", 2)]
    assert act(client, "user.quotas", user="alice", max_invitations="9").status_code == 302
    user = json.loads(world.r.get("/admin/api/users/alice").content)["user"]
    assert (user["invitations"], user["usage"]["invitations"]) == (9, 1)
    assert act(client, "invitation.resend", invitation="999").status_code == 404


def test_audit_log_page_and_api_list_every_action(world):
    client = signed_in()
    act(client, "user.suspend", user="bob")
    api_act(world.r, "user.unsuspend", user="bob")
    rows = json.loads(world.r.get("/admin/api/audit").content)["audit"]
    assert [(r["action"], r["via"], r["user"]) for r in rows[:2]] == \
        [("user.unsuspend", "api", "root"), ("user.suspend", "web", "root")]
    page = client.get("/admin/audit/").content.decode()
    assert "user.suspend" in page and "user.unsuspend" in page


# -- bad input: 4xx, never 5xx, nothing recorded ------------------------------------------

@pytest.mark.parametrize("operation, params, status", [
    ("user.suspend", {"user": "nobody"}, 404),
    ("user.suspend", {}, 400),
    ("user.suspend", {"user": "root"}, 409),
    ("user.create", {"name": "alice"}, 400),
    ("user.create", {"name": "12345"}, 400),
    ("user.quotas", {"user": "alice", "max_servers": "many"}, 400),
    ("server.stop", {"server": "x"}, 400),
    ("server.stop", {"server": "999999"}, 404),
    ("server.reboot", {"server": "999999", "type": "WARM"}, 404),
    ("flavor.create", {"cpu": "-1", "ram": "1", "disk": "1"}, 400),
    ("flavor.create", {"cpu": "1", "ram": "1", "disk": "1", "disk_template": "nope"}, 400),
    ("flavor.disable", {"flavor": "999999"}, 404),
    ("image.visibility", {"image": "999999", "public": "yes"}, 404),
    ("backend.modify", {"backend": "nope"}, 404),
    ("backend.modify", {"backend": "1", "drained": "maybe"}, 400),
    ("backend.add", {"clustername": "x", "port": "zero", "check": "no"}, 400),
    ("backend.add", {"clustername": "x", "check": "no", "certificate": "pem?"}, 400),
    ("backend.modify", {"backend": "1", "certificate": "-----BEGIN CERTIFICATE-----\nAA\n"
                        "-----END CERTIFICATE-----"}, 400),
    ("deadletters.retry", {"queue": "not-a-queue"}, 404),
    ("nosuch.thing", {}, 404),
])
def test_bad_input_is_refused_with_4xx_and_not_audited(world, operation, params, status):
    Backend.objects.get_or_create(pk=1, defaults={"clustername": "b1.example"})
    response = act(signed_in(), operation, **params)
    assert response.status_code == status, response.content
    assert b"Traceback" not in response.content
    response = api_act(world.r, operation, **params)
    assert response.status_code == status, response.content
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("body", [b"[]", b"{", b'"x"', b"\xff"])
def test_api_bad_bodies_are_400(world, body):
    response = world.r.post("/admin/api/actions/user.suspend", raw=body)
    assert response.status_code == 400


def test_api_oversized_body_is_413(world, settings):
    """The admin API maps failures as the public APIs do (api.util.answer_or_fault)."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = b'{"user": "%s"}' % (b"a" * 2048)
    response = world.r.post("/admin/api/actions/user.suspend", raw=body)
    assert response.status_code == 413, response.content
    assert not AuditEntry.objects.exists()


def test_api_wrong_method_and_unknown_ids(world):
    assert world.r.post("/admin/api/users", {}).status_code == 405
    assert world.r.get("/admin/api/users/nobody").status_code == 404
    assert world.r.get("/admin/api/servers/abc").status_code == 400
    assert world.r.get("/admin/api/audit?limit=x").status_code == 400
    assert world.r.get("/admin/api/servers?state=ACTIVE&colour=red").status_code == 200
    assert signed_in().get("/admin/users/nobody/").status_code == 404
