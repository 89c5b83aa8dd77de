"""snf-manage administration commands: users, tokens, flavors, images, servers."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from synnefo.db.models import Flavor, Image, Token, User, VirtualMachine, hash_token
from synnefo.logic import identity

pytestmark = pytest.mark.django_db


def run(*args, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        import sys
        old, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        call_command(*args, stdout=out, stderr=err)
    finally:
        if stdin is not None:
            sys.stdin = old
    return out.getvalue()


def test_user_create_list_modify_and_token():
    out = run("user-create", "alice", "--email", "a@example.org", "--password-stdin",
              "--max-servers", "7", "--json", stdin="pw1\n")
    data = json.loads(out)
    assert data["name"] == "alice" and data["servers"] == 7 and data["has_password"]
    with pytest.raises(CommandError, match="already exists"):
        run("user-create", "alice")
    with pytest.raises(CommandError, match="all digits"):
        run("user-create", "123")
    table = run("user-list")
    assert table.splitlines()[0].startswith("ID") and "alice" in table
    data = json.loads(run("user-modify", "alice", "--admin", "yes", "--max-cores", "16",
                          "--max-servers", "-1", "--json"))
    assert data["admin"] and data["cores"] == 16 and data["servers"] == 3
    run("user-modify", "alice", "--suspend")
    assert User.objects.get(name="alice").state == "SUSPENDED"
    with pytest.raises(CommandError, match="No user"):
        run("user-modify", "nobody", "--suspend")
    with pytest.raises(CommandError, match="yes or no"):
        run("user-modify", "alice", "--admin", "maybe")
    run("user-modify", "alice", "--unsuspend", "--password", "pw2")
    user = User.objects.get(name="alice")
    assert identity.login(user, "pw2")
    token = run("token-create", "alice", "--lifetime", "60").strip()
    assert Token.objects.filter(key_hash=hash_token(token), user=user).exists()
    assert identity.lookup_token(token).user == user


def test_flavor_commands_make_every_combination():
    out = json.loads(run("flavor-create", "1,2", "512,1024", "10", "--json"))
    assert len(out) == 4 and Flavor.objects.count() == 4
    assert {f["name"] for f in out} >= {"C1R512D10file", "C2R1024D10file"}
    err = io.StringIO()
    call_command("flavor-create", "1", "512", "10", stdout=io.StringIO(), stderr=err)
    assert "already existed" in err.getvalue()
    with pytest.raises(CommandError, match="positive"):
        run("flavor-create", "0", "512", "10")
    with pytest.raises(CommandError, match="Disk template"):
        run("flavor-create", "1", "512", "10", "floppy")
    fid = Flavor.objects.first().id
    run("flavor-modify", str(fid), "--deleted", "yes")
    assert str(fid) not in [str(f["id"]) for f in json.loads(run("flavor-list", "--json"))]
    assert len(json.loads(run("flavor-list", "--deleted", "--json"))) == 4
    run("flavor-modify", str(fid), "--deleted", "no")
    assert not Flavor.objects.get(pk=fid).deleted
    with pytest.raises(CommandError, match="not found"):
        run("flavor-modify", "9999", "--deleted", "yes")


def test_image_commands():
    run("user-create", "bob")
    data = json.loads(run("image-register", "Debian 12", "debian-12-diskdump", "--public",
                          "--meta", "OS=debian", "--meta", "users=root", "--json"))
    assert data["owner"] == "(system)" and data["metadata"] == {"OS": "debian", "users": "root"}
    with pytest.raises(CommandError, match="format"):
        run("image-register", "x", "y", "--format", "iso")
    data = json.loads(run("image-modify", str(data["id"]), "--name", "Debian", "--owner", "bob",
                          "--public", "no", "--delete-meta", "users", "--json"))
    assert (data["name"], data["owner"], data["public"]) == ("Debian", "bob", False)
    assert data["metadata"] == {"OS": "debian"}
    assert "Debian" in run("image-list")
    run("image-modify", str(data["id"]), "--state", "DELETED")
    assert "Debian" not in run("image-list") and "Debian" in run("image-list", "--deleted")
    with pytest.raises(CommandError, match="No image"):
        run("image-modify", "999", "--name", "x")


def test_server_list_and_show():
    run("user-create", "carol")
    carol = User.objects.get(name="carol")
    flavor = Flavor.objects.create(cpu=1, ram=512, disk=5, disk_template="file")
    image = Image.objects.create(name="img", backend_id="img")
    vm = VirtualMachine.objects.create(owner=carol, name="web", flavor=flavor, image=image)
    rows = json.loads(run("server-list", "--json"))
    assert rows[0]["name"] == "web" and rows[0]["status"] == "BUILD"
    assert json.loads(run("server-list", "--user", "carol", "--build", "--json"))
    shown = json.loads(run("server-show", str(vm.id), "--json"))
    assert shown["instance"].endswith("-%d" % vm.id) and shown["nics"] == []
    assert "web" in run("server-show", str(vm.id))
    with pytest.raises(CommandError, match="No server"):
        run("server-show", "999")


def test_admin_output_escapes_what_is_unprintable():
    """A name stored before control characters were refused (or by a direct DB write)
    reaches the administrator's terminal escaped, in tables and in --json."""
    run("user-create", "dave")
    dave = User.objects.get(name="dave")
    flavor = Flavor.objects.create(cpu=1, ram=512, disk=5, disk_template="file")
    image = Image.objects.create(name="img\u202e", backend_id="img")
    name = "evil\x1b]0;owned\x07\r\nname\\x"
    vm = VirtualMachine.objects.create(owner=dave, name=name, flavor=flavor, image=image)
    vm.metadata.create(meta_key="k\x1b", meta_value="v\x9b2J")
    for out in (run("server-show", str(vm.id)), run("server-list"), run("image-list"),
                run("server-show", str(vm.id), "--json")):
        assert not any(not c.isprintable() and c not in "\n" for c in out), repr(out)
        assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    shown = run("server-show", str(vm.id))
    assert "evil\\x1b]0;owned\\x07\\x0d\\x0aname\\\\x" in shown
    assert json.loads(run("server-show", str(vm.id), "--json"))["name"] == name
