"""Compute API servers: create/list/show/actions/delete through Django's test client
with a fake Ganeti backend; bodies validated against tempest's v2.1 schemas."""

import base64
import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from support.api import EXTENSIONS, create_server, rapi_error
from support.schemas import servers as S
from support.schemas import validate

from synnefo.db.models import Network, NetworkInterface, VirtualMachine

pytestmark = pytest.mark.django_db


def test_create_returns_202_password_once_and_submits(world, fake_backend):
    r = create_server(world.a, world, metadata={"role": "web"})
    body = validate(S.create_server_with_admin_pass, r)
    vm = VirtualMachine.objects.get(pk=int(body["server"]["id"]))
    assert len(body["server"]["adminPass"]) == 12
    assert vm.operstate == "BUILD" and vm.backend == fake_backend.backend
    assert vm.task_job_id == 100 and vm.backendjobid == 100
    kind, vm_id, password, personality, key = fake_backend.calls[0]
    assert (kind, vm_id, password) == ("create", vm.id, body["server"]["adminPass"])
    nics = list(NetworkInterface.objects.filter(machine=vm))
    assert [(n.network_id, n.index) for n in nics] == [(world.net.id, 0)]
    show = world.a.get("/compute/v2.1/servers/%d" % vm.id)
    detail = validate(S.get_server, show)["server"]
    assert detail["status"] == "BUILD" and detail["metadata"] == {"role": "web"}
    assert "adminPass" not in detail
    assert detail["OS-EXT-STS:task_state"] == "spawning"


def test_create_with_networks_none_key_and_personality(world, fake_backend):
    world.a.post("/compute/v2.1/os-keypairs", {"keypair": {"name": "k1"}})
    files = [{"path": "/etc/motd", "contents": base64.b64encode(b"hi").decode()}]
    r = create_server(world.a, world, networks="none", key_name="k1", personality=files)
    assert r.status_code == 202, r.content
    vm = VirtualMachine.objects.get()
    assert vm.nics.count() == 0 and vm.key_name == "k1"
    call = fake_backend.calls[0]
    assert call[3] == files and call[4].startswith("ssh-rsa ")


@pytest.mark.parametrize("spec,field", [
    ({"imageRef": "1", "flavorRef": "1"}, "server.name"),
    ({"name": "x", "flavorRef": "1"}, "server.imageRef"),
    ({"name": "x", "imageRef": "999", "flavorRef": "1"}, "Image 999"),
    ({"name": "", "imageRef": "1", "flavorRef": "1"}, "'name'"),
    ({"name": "x", "imageRef": "1", "flavorRef": "1", "metadata": {"k": 5}}, "metadata key"),
    ({"name": "x", "imageRef": "1", "flavorRef": "1", "key_name": "nope"}, "key_name"),
    ({"name": "x", "imageRef": "1", "flavorRef": "1", "networks": [{"port": "p"}]},
     "networks[0]"),
    ({"name": "x", "imageRef": "1", "flavorRef": "1", "personality": [{"path": "rel"}]},
     "personality[0].path"),
])
def test_create_bad_fields_answer_400_naming_the_field(world, fake_backend, spec, field):
    spec = dict(spec)
    if spec.get("imageRef") == "1":
        spec["imageRef"] = str(world.image.id)
    if spec.get("flavorRef") == "1":
        spec["flavorRef"] = str(world.small.id)
    r = world.a.post("/compute/v2.1/servers", {"server": spec})
    assert r.status_code == 400, r.content
    assert field in r.json()["badRequest"]["message"]
    assert VirtualMachine.objects.count() == 0


def test_invalid_json_and_media_type(world):
    r = world.a.post("/compute/v2.1/servers", raw="{nope")
    assert r.status_code == 400 and "not valid JSON" in r.json()["badRequest"]["message"]
    r = world.a.post("/compute/v2.1/servers", raw="<x/>", content_type="application/xml")
    assert r.status_code == 415


def test_personality_too_big_is_413(world, fake_backend, settings):
    settings.MAX_PERSONALITY_SIZE = 10
    files = [{"path": "/x", "contents": base64.b64encode(b"a" * 11).decode()}]
    r = create_server(world.a, world, personality=files)
    assert r.status_code == 413 and "overLimit" in r.json()


def test_quota_413_names_the_resource(world, fake_backend, settings):
    settings.QUOTA_MAX_SERVERS = 1
    assert create_server(world.a, world).status_code == 202
    r = create_server(world.a, world, name="vm2")
    assert r.status_code == 413
    fault = r.json()["overLimit"]
    assert "servers" in fault["message"] and fault["code"] == 413
    world.alice.max_servers = 5
    world.alice.max_cores = 1
    world.alice.save()
    r = create_server(world.a, world, name="vm2")
    assert r.status_code == 413 and "cores" in r.json()["overLimit"]["message"]


def test_submission_failure_leaves_error_with_readable_fault(world, fake_backend):
    fake_backend.fail = rapi_error("Could not connect to 10.0.0.1 port 5080")
    r = create_server(world.a, world)
    assert r.status_code == 503
    msg = r.json()["serviceUnavailable"]["message"]
    assert "ERROR" in msg and "delete it" in msg
    vm = VirtualMachine.objects.get()
    assert vm.operstate == "ERROR" and vm.action == ""
    detail = validate(S.get_server, world.a.get("/compute/v2.1/servers/%d" % vm.id))["server"]
    assert detail["status"] == "ERROR"
    assert "could not be created" in detail["fault"]["message"]
    # deleting it needs no Ganeti job: nothing was ever created there
    assert world.a.delete("/compute/v2.1/servers/%d" % vm.id).status_code == 204
    assert VirtualMachine.objects.get().deleted
    assert len(fake_backend.calls) == 0


def test_lifecycle_actions_and_states(world, fake_backend):
    sid = int(create_server(world.a, world).json()["server"]["id"])
    url = "/compute/v2.1/servers/%d" % sid
    act = url + "/action"
    # BUILD: only delete is allowed
    r = world.a.post(act, {"os-stop": None})
    assert r.status_code == 409 and "buildInProgress" in r.json()
    fake_backend.finish_all()
    assert world.a.get(url).json()["server"]["status"] == "ACTIVE"
    # start while ACTIVE -> 409 with the reason
    r = world.a.post(act, {"os-start": None})
    assert r.status_code == 409 and "ACTIVE" in r.json()["conflictingRequest"]["message"]
    assert world.a.post(act, {"reboot": {"type": "HARD"}}).status_code == 202
    assert fake_backend.calls[-1] == ("reboot", sid, "hard")
    s = world.a.get(url).json()["server"]
    assert s["status"] == "REBOOT" and s["OS-EXT-STS:task_state"] == "rebooting"
    r = world.a.post(act, {"os-stop": None})
    assert r.status_code == 409 and "busy" in r.json()["conflictingRequest"]["message"]
    fake_backend.finish_all()
    assert world.a.post(act, {"shutdown": {}}).status_code == 202
    fake_backend.finish_all()
    assert world.a.get(url).json()["server"]["status"] == "SHUTOFF"
    # resize while stopped: same disk, more CPU/RAM
    assert world.a.post(act, {"resize": {"flavorRef": str(world.big.id)}}).status_code == 202
    s = world.a.get(url).json()["server"]
    assert s["status"] == "RESIZE" and s["flavor"]["id"] == str(world.small.id)
    fake_backend.finish_all()
    s = world.a.get(url).json()["server"]
    assert s["status"] == "SHUTOFF" and s["flavor"]["id"] == str(world.big.id)
    r = world.a.post(act, {"resize": {"flavorRef": str(world.huge.id)}})
    assert r.status_code == 400 and "disk" in r.json()["badRequest"]["message"]
    assert world.a.post(act, {"os-start": {}}).status_code == 202
    fake_backend.finish_all()
    assert world.a.post(act, {"firewallProfile": {"profile": "PROTECTED"}}).status_code == 202
    assert fake_backend.calls[-1] == ("firewall", sid, 0, "PROTECTED")
    # one NIC named by its port id or its attachment id; a private one has no profile
    port = NetworkInterface.objects.get(machine_id=sid, index=0).id
    for nic in (str(port), port, "nic-%s-0" % sid):
        r = world.a.post(act, {"firewallProfile": {"profile": "ENABLED", "nic": nic}})
        assert r.status_code == 202, r.content
        fake_backend.finish_all()
        assert fake_backend.calls[-1] == ("firewall", sid, 0, "ENABLED")
    private = Network.objects.create(name="p", public=False, state="ACTIVE",
                                     type="PRIVATE_MAC_FILTERED", link="prv1")
    other = NetworkInterface.objects.create(machine_id=sid, network=private, index=1,
                                            state="ACTIVE")
    for nic, status in (("nic-%s-1" % sid, 409), (str(other.id), 409), ("nic-%s-7" % sid, 400),
                        ("99999", 400), ("x", 400), (True, 400), ({}, 400)):
        r = world.a.post(act, {"firewallProfile": {"profile": "ENABLED", "nic": nic}})
        assert r.status_code == status, (nic, r.content)
    other.delete()
    # delete: 204 at once, task "deleting" until the removal is recorded
    assert world.a.delete(url).status_code == 204
    s = validate(S.get_server, world.a.get(url))["server"]
    assert s["OS-EXT-STS:task_state"] == "deleting" and "SNF:task_state" not in s
    s = world.a.get(url, **EXTENSIONS).json()["server"]
    assert s["SNF:task_state"] == "DESTROY" and s["SNF:suspended"] is False
    assert world.a.delete(url).status_code == 204  # idempotent
    r = world.a.post(act, {"reboot": {"type": "SOFT"}})
    assert r.status_code == 409 and "being deleted" in r.json()["conflictingRequest"]["message"]
    fake_backend.finish_all()
    assert world.a.get(url).status_code == 404
    assert [c[0] for c in fake_backend.calls].count("delete") == 1


def test_delete_during_build_waits_for_the_create_job(world, fake_backend):
    """Ganeti knows the instance only once its create job ran: the remove waits for it."""
    building = int(create_server(world.a, world).json()["server"]["id"])
    create_job = VirtualMachine.objects.get(pk=building).task_job_id
    assert create_job is not None
    assert world.a.delete("/compute/v2.1/servers/%d" % building).status_code == 204
    assert fake_backend.calls[-1] == ("delete", building, create_job)
    active = int(create_server(world.a, world).json()["server"]["id"])
    fake_backend.finish_all()
    assert world.a.delete("/compute/v2.1/servers/%d" % active).status_code == 204
    assert fake_backend.calls[-1] == ("delete", active, None)


@pytest.mark.parametrize("body,status", [
    ({}, 400), ({"reboot": {"type": "SOFT"}, "os-stop": None}, 400),
    ({"reboot": {}}, 400), ({"reboot": {"type": "MEDIUM"}}, 400),
    ({"nonsense": {}}, 400), ({"os-start": {"x": 1}}, 400), ({"resize": {}}, 400),
    ({"resize": {"flavorRef": "9999"}}, 400), ({"firewallProfile": {"profile": "X"}}, 400),
    ({"console": {"type": "spice"}}, 400), ({"confirmResize": None}, 409),
])
def test_bad_actions(world, fake_backend, body, status):
    sid = int(create_server(world.a, world).json()["server"]["id"])
    fake_backend.finish_all()
    r = world.a.post("/compute/v2.1/servers/%d/action" % sid, body)
    assert r.status_code == status, r.content


def test_rapi_error_on_action_is_503_and_state_kept(world, fake_backend):
    sid = int(create_server(world.a, world).json()["server"]["id"])
    fake_backend.finish_all()
    before = VirtualMachine.objects.values_list("action", "task_job_id").get(pk=sid)
    fake_backend.fail = rapi_error()
    r = world.a.post("/compute/v2.1/servers/%d/action" % sid, {"os-stop": None})
    assert r.status_code == 503
    after = VirtualMachine.objects.values_list("action", "task_job_id").get(pk=sid)
    assert after == before and world.a.get(
        "/compute/v2.1/servers/%d" % sid).json()["server"]["status"] == "ACTIVE"


def test_list_detail_filters_pagination_schema(world, fake_backend, settings):
    settings.QUOTA_MAX_SERVERS = 10
    ids = [int(create_server(world.r, world, name="n%d" % i).json()["server"]["id"])
           for i in range(5)]
    fake_backend.finish_all()
    body = validate(S.list_servers, world.r.get("/compute/v2.1/servers"))
    assert [int(s["id"]) for s in body["servers"]] == sorted(ids, reverse=True)
    body = validate(S.list_servers_detail, world.r.get("/compute/v2.1/servers/detail"))
    assert len(body["servers"]) == 5
    r = world.r.get("/compute/v2.1/servers/detail?limit=2")
    body = validate(S.list_servers_detail, r)
    assert len(body["servers"]) == 2 and body["servers_links"][0]["rel"] == "next"
    seen = [s["id"] for s in body["servers"]]
    while "servers_links" in body:
        nxt = body["servers_links"][0]["href"].split("testserver", 1)[1]
        body = world.r.get(nxt).json()
        seen += [s["id"] for s in body["servers"]]
    assert sorted(map(int, seen)) == sorted(ids)
    assert world.r.get("/compute/v2.1/servers?marker=999999").status_code == 400
    assert world.r.get("/compute/v2.1/servers?limit=x").status_code == 400
    names = [s["name"] for s in world.r.get("/compute/v2.1/servers?name=n3").json()["servers"]]
    assert names == ["n3"]
    assert world.r.get("/compute/v2.1/servers?status=ACTIVE").json()["servers"]
    assert world.r.get("/compute/v2.1/servers?status=SHUTOFF").json()["servers"] == []
    flv = world.r.get("/compute/v2.1/servers?flavor=%d" % world.small.id).json()["servers"]
    assert len(flv) == 5
    assert world.r.get("/compute/v2.1/servers?image=12345").json()["servers"] == []


def test_changes_since(world, fake_backend, settings):
    sid = int(create_server(world.a, world).json()["server"]["id"])
    fake_backend.finish_all()
    now = timezone.now()
    later = (now + datetime.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = (now - datetime.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = world.a.get("/compute/v2.1/servers?changes-since=" + earlier)
    assert r.status_code == 200 and r.json()["servers"][0]["id"] == str(sid)
    r = world.a.get("/compute/v2.1/servers/detail?changes-since=" + later)
    assert r.status_code == 400 and "future" in r.json()["badRequest"]["message"]
    old = (now - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = world.a.get("/compute/v2.1/servers?changes-since=" + old)
    assert r.status_code == 400 and "3600" in r.json()["badRequest"]["message"]
    assert world.a.get("/compute/v2.1/servers?changes-since=yesterday").status_code == 400
    # nothing changed since now -> 304
    VirtualMachine.objects.filter(pk=sid).update(updated=now - datetime.timedelta(seconds=10))
    stamp = (now - datetime.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = world.a.get("/compute/v2.1/servers/detail?changes-since=" + stamp)
    assert r.status_code == 304 and r.content == b""
    # deleted servers show up only with changes-since
    world.a.delete("/compute/v2.1/servers/%d" % sid)
    fake_backend.finish_all()
    assert world.a.get("/compute/v2.1/servers").json()["servers"] == []
    r = world.a.get("/compute/v2.1/servers/detail?changes-since=" + earlier)
    assert [s["status"] for s in r.json()["servers"]] == ["DELETED"]


def test_rename_metadata_and_ips(world, fake_backend):
    sid = int(create_server(world.a, world).json()["server"]["id"])
    url = "/compute/v2.1/servers/%d" % sid
    r = world.a.put(url, {"server": {"name": "renamed"}})
    assert validate(S.update_server, r)["server"]["name"] == "renamed"
    assert world.a.put(url, {"server": {"flavor": 1}}).status_code == 400
    r = world.a.post(url + "/metadata", {"metadata": {"a": "1", "b": "2"}})
    assert r.json() == {"metadata": {"a": "1", "b": "2"}}
    r = world.a.put(url + "/metadata", {"metadata": {"c": "3"}})
    assert r.json() == {"metadata": {"c": "3"}}
    assert world.a.get(url + "/metadata/c").json() == {"meta": {"c": "3"}}
    assert world.a.put(url + "/metadata/d", {"meta": {"d": "4"}}).status_code == 200
    assert world.a.put(url + "/metadata/d", {"meta": {"e": "4"}}).status_code == 400
    assert world.a.delete(url + "/metadata/c").status_code == 204
    assert world.a.get(url + "/metadata/c").status_code == 404
    assert world.a.get(url + "/metadata").json() == {"metadata": {"d": "4"}}
    NetworkInterface.objects.filter(machine_id=sid).update(ipv4="192.0.2.5", ipv6="2001:db8::5")
    ips = world.a.get(url + "/ips").json()["addresses"]
    assert ips == {"public": [{"version": 4, "addr": "192.0.2.5"},
                              {"version": 6, "addr": "2001:db8::5"}]}
    assert world.a.get(url + "/ips/public").json() == {"public": ips["public"]}
    assert world.a.get(url + "/ips/%d" % world.net.id).status_code == 200
    assert world.a.get(url + "/ips/other").status_code == 404
    validate(S.get_server, world.a.get(url))


def test_detail_query_count_is_constant(world, fake_backend, settings):
    settings.QUOTA_MAX_SERVERS = 100
    settings.QUOTA_MAX_CORES = 100
    settings.QUOTA_MAX_RAM = 10 ** 6
    settings.QUOTA_MAX_DISK = 10 ** 6

    def count():
        with CaptureQueriesContext(connection) as ctx:
            r = world.a.get("/compute/v2.1/servers/detail")
        assert r.status_code == 200
        return len(ctx.captured_queries)
    create_server(world.a, world, metadata={"x": "1"})
    one = count()
    for i in range(12):
        create_server(world.a, world, name="m%d" % i, metadata={"x": str(i)})
    assert count() == one


def test_one_server_is_read_once(world, fake_backend):
    # the view clients poll after every action: its row, NICs, metadata, and the token
    sid = int(create_server(world.a, world, metadata={"x": "1"}).json()["server"]["id"])
    with CaptureQueriesContext(connection) as ctx:
        assert world.a.get("/compute/v2.1/servers/%d" % sid).status_code == 200
    vm_reads = [q["sql"] for q in ctx.captured_queries
                if 'FROM "db_virtualmachine"' in q["sql"].replace("`", '"')]
    assert len(vm_reads) == 1, vm_reads
    assert len(ctx.captured_queries) == 4
    assert world.b.get("/compute/v2.1/servers/%d" % sid).status_code == 404  # not bob's


def test_failed_delete_job_can_be_retried(world, fake_backend):
    sid = int(create_server(world.a, world).json()["server"]["id"])
    fake_backend.finish_all()
    url = "/compute/v2.1/servers/%d" % sid
    assert world.a.delete(url).status_code == 204
    fake_backend.finish(fake_backend.last_job(), status="error")
    s = world.a.get(url).json()["server"]
    assert s["status"] == "ACTIVE" and s["OS-EXT-STS:task_state"] is None
    assert world.a.delete(url).status_code == 204
    assert [c[0] for c in fake_backend.calls].count("delete") == 2


def test_multi_create_names_and_quota(world, fake_backend, settings):
    settings.QUOTA_MAX_SERVERS = 3
    r = create_server(world.a, world, name="web", min_count=2)
    assert r.status_code == 202 and "reservation_id" not in r.json()
    first = validate(S.create_server_with_admin_pass, r)["server"]
    made = list(VirtualMachine.objects.filter(owner=world.alice).order_by("id"))
    assert [vm.name for vm in made] == ["web-1", "web-2"] and str(made[0].id) == first["id"]
    assert [c[:2] for c in fake_backend.calls] == [("create", vm.id) for vm in made]
    assert len({c[2] for c in fake_backend.calls}) == 1  # one password for all
    # max_count: as many as the quota allows (one more; as in Nova, one server is not
    # suffixed)
    r = create_server(world.a, world, name="db", max_count=5)
    assert r.status_code == 202
    assert [vm.name for vm in VirtualMachine.objects.filter(name__startswith="db")] == ["db"]
    # all or nothing: min_count beyond the quota creates none
    world.alice.max_servers = 6
    world.alice.save()
    r = create_server(world.a, world, name="big", min_count=4, max_count="9")
    assert r.status_code == 413 and "servers" in r.json()["overLimit"]["message"]
    assert not VirtualMachine.objects.filter(name__startswith="big").exists()
    r = create_server(world.a, world, name="ok", min_count="3", max_count=9)
    assert r.status_code == 202
    assert VirtualMachine.objects.filter(name__startswith="ok-").count() == 3


def test_multi_create_reservation_id(world, fake_backend):
    r = create_server(world.a, world, min_count=1, max_count=2, return_reservation_id=True)
    assert r.status_code == 202 and set(r.json()) == {"reservation_id"}
    assert re.fullmatch(r"r-[0-9a-f]{8}", r.json()["reservation_id"])
    assert VirtualMachine.objects.filter(owner=world.alice).count() == 2
    r = create_server(world.a, world, return_reservation_id=False)
    assert r.status_code == 202 and "server" in r.json()


@pytest.mark.parametrize("counts", [{"min_count": 0}, {"max_count": 0}, {"min_count": 2.5},
                                    {"max_count": "2.5"}, {"min_count": True},
                                    {"min_count": 3, "max_count": 2}, {"max_count": -1},
                                    {"min_count": 2 ** 31}, {"return_reservation_id": "yes"}])
def test_multi_create_bad_counts_are_400(world, fake_backend, counts):
    r = create_server(world.a, world, **counts)
    assert r.status_code == 400 and "badRequest" in r.json()
    assert not VirtualMachine.objects.exists()


def test_multi_create_submission_failure_leaves_every_unsent_server_in_error(world,
                                                                             fake_backend):
    fake_backend.fail = rapi_error()
    r = create_server(world.a, world, name="x", min_count=3)
    assert r.status_code == 503
    made = VirtualMachine.objects.filter(owner=world.alice)
    assert made.count() == 3 and {vm.operstate for vm in made} == {"ERROR"}
    assert all(str(vm.id) in r.json()["serviceUnavailable"]["message"] for vm in made)


def test_progress_only_where_nova_shows_it_and_metadata_values_as_nova(world, fake_backend):
    sid = create_server(world.a, world).json()["server"]["id"]
    url = "/compute/v2.1/servers/%s" % sid
    assert world.a.get(url).json()["server"]["progress"] == 0  # BUILD
    fake_backend.finish_all()
    assert world.a.post(url + "/action", {"os-stop": {}}).status_code == 202
    fake_backend.finish_all()
    s = validate(S.get_server, world.a.get(url))["server"]
    assert s["status"] == "SHUTOFF" and "progress" not in s
    r = create_server(world.a, world, metadata={"a": "b" * 256})
    assert r.status_code == 400 and "255" in r.json()["badRequest"]["message"]
    assert world.a.put(url + "/metadata/a", {"meta": {"a": "b" * 255}}).status_code == 200


def test_access_addresses_are_kept_canonical_and_updatable(world, fake_backend):
    r = create_server(world.a, world, accessIPv4="1.1.1.1",
                      accessIPv6="0000:0000:0000:0000:0000:babe:220.12.22.2")
    url = "/compute/v2.1/servers/%s" % r.json()["server"]["id"]
    s = validate(S.get_server, world.a.get(url))["server"]
    assert (s["accessIPv4"], s["accessIPv6"]) == ("1.1.1.1", "::babe:dc0c:1602")
    r = world.a.put(url, {"server": {"accessIPv4": "2.2.2.2", "accessIPv6": "::babe:202:202"}})
    assert r.status_code == 200 and r.json()["server"]["accessIPv4"] == "2.2.2.2"
    assert world.a.get(url).json()["server"]["accessIPv6"] == "::babe:202:202"
    assert world.a.put(url, {"server": {"accessIPv4": ""}}).json()["server"]["accessIPv4"] == ""
    for bad in ({"accessIPv4": "::1"}, {"accessIPv6": "1.1.1.1"}, {"accessIPv4": "1.1.1"},
                {"accessIPv4": 7}, {"accessIPv6": "fe80::1%" + "x" * 60}):
        assert create_server(world.a, world, **bad).status_code == 400
        assert world.a.put(url, {"server": bad}).status_code == 400
