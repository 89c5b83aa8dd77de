"""The web application in a browser against the whole service on the Ganeti test cluster.

Debian's headless chromium (selenium) uses /ui/ of the deployment of support.e2e_service
(gunicorn, eventd, hook, dispatcher, PostgreSQL, RabbitMQ, the fake-hypervisor cluster,
a test OS that reports build progress); the static files are served by the web project
(WEBPROJECT_SERVE_STATIC, `snf-manage link_static`). What the browser did is checked
through the API with openstacksdk. Screenshots of each step: $SNF_TEST_ARTIFACTS/ui/
(default /var/tmp/synnefo-ci/artifacts/ui/).

The journey: sign in, create a server in the wizard with a generated key (the private
key offered once, the root password shown once), watch the build's progress bar until
ACTIVE, shut down, start, rename, edit metadata, create a private network and attach
the server, delete everything, sign out (the token is revoked). The other actions of
the machine view on a server with two NICs: reboot, hard reboot, resize, detach, and the
console when the deployment has no console proxy. Error paths: a wrong password, a user
whose quota allows no more servers, a build that Ganeti refuses (the machine view shows
the fault).
"""


import json
import urllib.error
import urllib.request

import pytest
from support.browser import Browser
from support.e2e_service import HUGE_RAM, PASSWORD, e2e_service, last_job_id, server_show
from support.live import sdk_password, wait_for

pytestmark = pytest.mark.integration

BUILD = 240  # seconds for a server to become ACTIVE on a busy machine


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    with e2e_service(tmp, "WEBPROJECT_SERVE_STATIC = True\n") as s:
        s.manage("link_static", "-v", "0")
        s.manage("user-create", "carol", "--password-stdin", "--max-servers", "0",
                 stdin="carol-pass\n")
        yield s


@pytest.fixture
def browser(service, tmp_path):
    b = Browser(tmp_path)
    b.base = service.base
    yield b
    b.quit()


@pytest.fixture(scope="module")
def api(service):
    return sdk_password(service.base, "alice", PASSWORD)


def raw(service, api, path):
    """GET ``path`` of the API with the user's token: the JSON (fields openstacksdk's
    resources drop)."""
    req = urllib.request.Request(service.base + path, headers={"X-Auth-Token": api.auth_token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def sign_in(b, user, password):
    b.driver.get(b.base + "/")  # a browser at the root lands on /ui/
    b.wait("the /ui/ page", lambda d: d.current_url.startswith(b.base + "/ui/"))
    b.fill("#signin-user", user)
    b.fill("#signin-password", password)
    b.click("#signin-submit")


def status_of(b):
    return b.el("#m-status .status").get_attribute("data-status")


def create_in_wizard(b, name, flavor, key=None):
    b.click("#nav-create")
    b.select("#w-flavor", flavor)
    b.fill("#w-name", name)
    if key:
        b.select("#w-key-mode", "Generate")
        b.fill("#w-key-name", key)
        b.fill("#w-metadata", "Role=web")
        b.shot("03-wizard")
    b.click("#w-submit")
    b.confirm()


def test_wrong_password_is_refused_in_words(browser):
    sign_in(browser, "alice", "not-the-password")
    err = browser.visible("#signin-error")
    assert err.text == "Wrong user name or password."
    assert not browser.el("#nav").is_displayed()
    browser.shot("01-wrong-password")


def test_user_journey(service, browser, api):
    b = browser
    sign_in(b, "alice", PASSWORD)
    b.visible("#machines")
    b.shot("02-machines-empty")

    # the wizard: the default (public) network, a generated key, metadata
    create_in_wizard(b, "ui-vm", "1 CPU, 128 MB", key="uikey")
    password = b.visible("#w-password").text
    assert len(password) >= 8
    download = b.visible("#private-key-download")
    assert download.get_attribute("download") == "id_uikey"
    assert download.get_attribute("href").startswith("blob:")
    assert [k.name for k in api.compute.keypairs()] == ["uikey"]
    b.shot("04-created-password-and-key")
    b.click("#w-goto")

    # the build: the progress bar while BUILD, then ACTIVE
    seen = []

    def active(d):
        st = status_of(b)
        bars = b.els("#m-status progress")
        seen.append((st, bars[0].get_attribute("value") if bars else None))
        if st == "BUILD" and bars and len(seen) < 3:
            b.shot("05-building")
        return st == "ACTIVE"
    b.wait("the server to become ACTIVE", active, timeout=BUILD)
    assert any(st == "BUILD" and value is not None for st, value in seen), seen
    server = next(api.compute.servers(name="ui-vm"))
    assert server.key_name == "uikey" and server.metadata == {"Role": "web"}
    ip = [a["addr"] for net in server.addresses.values() for a in net if a["version"] == 4][0]
    assert b.visible("#ssh-hint").text.endswith("@" + ip)
    assert ip in b.el("#m-addresses").text
    b.shot("06-active")

    # stop and start, each confirmed
    b.click("#act-shutdown")
    b.confirm()
    b.wait("SHUTOFF", lambda d: status_of(b) == "SHUTOFF", timeout=BUILD)
    assert api.compute.get_server(server.id).status == "SHUTOFF"
    b.shot("07-stopped")
    b.click("#act-start")
    b.confirm()
    b.wait("ACTIVE again", lambda d: status_of(b) == "ACTIVE", timeout=BUILD)

    # rename in place, metadata editor
    b.click("#rename")
    b.fill("#rename-input", "ui-vm-renamed")
    b.click("#rename-save")
    b.wait("the new name", lambda d: b.el("#m-name").text == "ui-vm-renamed")
    assert api.compute.get_server(server.id).name == "ui-vm-renamed"
    b.click("#meta-add")
    b.els("#metadata .meta-key")[-1].send_keys("Owner")
    b.els("#metadata .meta-value")[-1].send_keys("tester")
    b.click("#meta-save")
    wait_for("the metadata through the API", lambda: api.compute.get_server_metadata(
        server.id).metadata == {"Role": "web", "Owner": "tester"})
    b.shot("08-renamed-metadata")

    # a private network with a subnet, attached to the server
    b.click("#nav-networks")
    b.fill("#net-name", "ui-net")
    b.fill("#net-cidr", "192.168.77.0/24")
    b.click("#net-submit")
    net = wait_for("the network through the API",
                   lambda: next(api.network.networks(name="ui-net"), None))
    # the page creates the subnet in a second request, after the network
    cidrs = wait_for("its subnet through the API", lambda: [
        s.cidr for s in api.network.subnets(network_id=net.id)])
    assert cidrs == ["192.168.77.0/24"]
    wait_for("the network to become ACTIVE",
             lambda: api.network.get_network(net.id).status == "ACTIVE", timeout=BUILD)
    b.driver.get(b.base + "/ui/#/networks")  # a reload keeps the session (sessionStorage)
    b.wait("ui-net listed", lambda d: "ui-net" in b.el("#networks-table").text)
    b.shot("09-networks")
    b.driver.get(b.base + "/ui/#/machine/" + server.id)
    b.select("#attach-network", "ui-net")
    b.click("#attach")
    b.wait("the NIC on ui-net", lambda d: b.els('#m-networks li[data-net="%s"]' % net.id),
           timeout=BUILD)
    wait_for("a port of the server on ui-net", lambda: any(
        p.device_id == server.id for p in api.network.ports(network_id=net.id)),
        timeout=BUILD)
    b.wait("the server not busy", lambda d: status_of(b) == "ACTIVE"
           and b.els("#act-shutdown"), timeout=BUILD)
    b.shot("10-attached")
    # the firewall profile of the public NIC
    [public_port] = [p for p in api.network.ports(device_id=server.id)
                     if p.network_id == str(service.network["id"])]
    b.select('#m-networks li[data-net="%s"] .firewall' % public_port.network_id,
             "Fully protected")
    wait_for("the firewall profile through the API", lambda: raw(
        service, api, "/network/v2.0/ports/" + public_port.id)["port"].get(
        "SNF:firewall_profile") == "ENABLED", timeout=BUILD)

    # delete everything through the UI
    b.click("#act-delete")
    b.confirm()
    b.wait("the machines list", lambda d: d.current_url.endswith("#/machines"))
    wait_for("the server to be gone", lambda: api.compute.find_server(server.id) is None,
             timeout=BUILD)
    b.wait("an empty list", lambda d: "no machines" in b.el("#machines").text)
    b.click("#nav-networks")
    b.wait("ui-net listed", lambda d: "ui-net" in b.el("#networks-table").text)
    b.click('#networks-table tr[data-id="%s"] .delete-net' % net.id)
    b.confirm()
    wait_for("the network to be gone", lambda: next(api.network.networks(name="ui-net"),
                                                    None) is None, timeout=BUILD)
    b.click("#nav-keys")
    b.wait("uikey listed", lambda d: b.els('#keys-table tr[data-name="uikey"] button'))
    b.click('#keys-table tr[data-name="uikey"] button')
    b.confirm()
    wait_for("the key to be gone", lambda: list(api.compute.keypairs()) == [])

    # sign out: the token is revoked
    token = b.driver.execute_script(
        "return JSON.parse(sessionStorage.getItem('snf-ui')).token")
    b.click("#signout")
    b.visible("#signin")
    assert b.driver.execute_script("return sessionStorage.getItem('snf-ui')") is None
    req = urllib.request.Request(service.base + "/compute/v2.1/servers",
                                 headers={"X-Auth-Token": token})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=30)
    assert exc.value.code == 401
    b.shot("11-signed-out")
    assert b.console_errors() == []


def last_ganeti_job(service, server_id):
    """(id, first opcode) of the newest Ganeti job the dispatcher recorded for the server."""
    job = last_job_id(service, server_id)
    return job, service.rapi.request("GET", "/2/jobs/%d" % job)["ops"][0]


def newer_ganeti_job(service, server_id, than):
    job = last_ganeti_job(service, server_id)
    return job if job[0] != than else None


def idle(api, server_id):
    server = api.compute.get_server(server_id)
    return server.status == "ACTIVE" and not server.task_state


def test_reboot_resize_console_and_detach(service, browser, api):
    net = api.network.create_network(name="ui-net2")
    api.network.create_subnet(network_id=net.id, cidr="192.168.78.0/24", ip_version=4)
    wait_for("the network to become ACTIVE",
             lambda: api.network.get_network(net.id).status == "ACTIVE", timeout=BUILD)
    flavors = {f.ram: f for f in api.compute.flavors() if f.vcpus == 1}
    image = next(api.image.images())
    server = api.compute.create_server(name="ui-vm2", image_id=image.id,
                                       flavor_id=flavors[128].id, networks="auto")
    api.compute.wait_for_server(server, wait=BUILD)
    api.compute.create_server_interface(server, net_id=net.id)
    b = browser
    sign_in(b, "alice", PASSWORD)
    b.visible("#machines")
    b.driver.get(b.base + "/ui/#/machine/" + server.id)
    b.wait("both NICs", lambda d: len(b.els("#m-networks li")) == 2, timeout=BUILD)
    b.wait("ACTIVE", lambda d: status_of(b) == "ACTIVE" and b.els("#act-reboot"),
           timeout=BUILD)

    for button, reboot_type in (("#act-reboot", "soft"), ("#act-hard-reboot", "hard")):
        before, _op = last_ganeti_job(service, server.id)
        b.click(button)
        b.confirm()
        assert "requested for ui-vm2" in b.visible("#notice").text
        _job, op = wait_for("a new Ganeti job", lambda: newer_ganeti_job(
            service, server.id, before), timeout=BUILD)
        assert (op["OP_ID"], op["reboot_type"]) == ("OP_INSTANCE_REBOOT", reboot_type), op
        wait_for("the reboot to end", lambda: idle(api, server.id), timeout=BUILD)
        b.wait("ACTIVE after the reboot", lambda d: status_of(b) == "ACTIVE"
               and b.els(button), timeout=BUILD)

    # the console: this deployment has no console proxy, and the page says what the API said
    handles = len(b.driver.window_handles)
    answer = api.compute.post("/servers/%s/action" % server.id,
                              json={"os-getVNCConsole": {"type": "novnc"}})
    assert answer.status_code == 503, answer.text
    reason = next(iter(answer.json().values()))["message"]
    b.click("#act-console")
    b.wait("the API's reason", lambda d: b.el("#notice").text == reason)  # (shown 6 s)
    assert not b.el("#banner").is_displayed()  # the service answered: it is reachable
    b.shot("16-console-unavailable")
    assert len(b.driver.window_handles) == handles  # no page opened

    b.select("#resize-flavor", "256 MB")
    b.click("#act-resize")
    assert "1 CPU, 256 MB" in b.visible("#confirm-text").text
    b.confirm()
    wait_for("the new flavor", lambda: api.compute.get_server(server.id).flavor.id ==
             flavors[256].id, timeout=BUILD)
    instance = service.rapi.get_instance(server_show(service, server.id)["instance"])
    assert instance["beparams"]["maxmem"] == 256
    wait_for("the resize to end", lambda: idle(api, server.id), timeout=BUILD)
    b.wait("ACTIVE after the resize", lambda d: status_of(b) == "ACTIVE"
           and b.els("#act-reboot"), timeout=BUILD)
    b.shot("17-resized")

    b.click('#m-networks li[data-net="%s"] .detach' % net.id)
    b.confirm()
    wait_for("the private NIC to be detached", lambda: [
        p.network_id for p in api.network.ports(device_id=server.id)] == [
        str(service.network["id"])], timeout=BUILD)
    b.wait("one NIC left", lambda d: len(b.els("#m-networks li")) == 1, timeout=BUILD)
    b.shot("18-detached")
    # chromium logs every answer >= 400; the console's 503 is the only one expected
    assert [e for e in b.console_errors()
            if not (e["source"] == "network" and "status of 503" in e["message"])] == []

    api.compute.delete_server(server)
    wait_for("the server to be gone", lambda: api.compute.find_server(server.id) is None,
             timeout=BUILD)
    api.network.delete_network(net)


def test_quota_exceeded_is_shown_in_the_wizard(browser):
    b = browser
    sign_in(b, "carol", "carol-pass")
    b.click("#nav-overview")
    b.wait("the quota table", lambda d: "Machines" in b.el("#quota").text)
    assert b.el("#counts").text == "You have no machines yet."
    assert "0 of 0" in b.el("#quota tr").text  # the first row: machines
    b.click("#nav-create")
    note = b.visible("#w-flavor-note")
    assert note.text == "Your quota allows no more machines."
    b.click("#w-submit")
    b.confirm()
    err = b.visible("#w-error")
    assert "quota" in err.text.lower(), err.text
    b.shot("12-quota-exceeded")


def test_a_failed_build_shows_its_fault(service, browser, api):
    b = browser
    sign_in(b, "alice", PASSWORD)
    create_in_wizard(b, "ui-doomed", "%d MB" % HUGE_RAM)
    b.click("#w-goto")
    b.wait("ERROR", lambda d: status_of(b) == "ERROR", timeout=BUILD)
    fault = b.visible("#m-fault").text
    server = next(api.compute.servers(name="ui-doomed"))
    message = api.compute.get("/servers/%s" % server.id).json()["server"]["fault"]["message"]
    assert message in fault and fault.startswith("The build failed:")
    assert [e.get_attribute("id") for e in b.els("#m-actions button")] == ["act-delete"]
    b.shot("13-failed-build")
    b.click("#act-delete")
    b.confirm()
    wait_for("the failed server to be gone",
             lambda: api.compute.find_server(server.id) is None, timeout=BUILD)


def test_an_unreachable_api_shows_a_banner_that_goes_away_by_itself(browser):
    """The browser's network is cut (chromium's offline emulation: every fetch fails)
    and restored; nobody touches the page in between."""
    b = browser
    sign_in(b, "alice", PASSWORD)
    b.visible("#machines")
    assert not b.el("#banner").is_displayed()
    b.driver.execute_cdp_cmd("Network.enable", {})
    offline = {"offline": True, "latency": 0, "downloadThroughput": -1,
               "uploadThroughput": -1}
    b.driver.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
    banner = b.visible("#banner")
    assert "cannot be reached" in banner.text
    b.shot("14-unreachable")
    b.driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                             dict(offline, offline=False))
    b.wait("the banner to go away", lambda d: not b.el("#banner").is_displayed())


def test_ssh_keys_page_generates_imports_and_deletes(browser, api):
    for key in api.compute.keypairs():  # one left by an earlier test that failed
        api.compute.delete_keypair(key)
    b = browser
    sign_in(b, "alice", PASSWORD)
    b.click("#nav-keys")
    b.fill("#key-name", "gen-key")
    b.click("#key-submit")
    assert b.visible("#private-key-download").get_attribute("download") == "id_gen-key"
    public = api.compute.get_keypair("gen-key").public_key
    b.fill("#key-name", "imported-key")
    b.fill("#key-public", public)
    b.click("#key-submit")
    b.wait("both keys listed", lambda d: len(b.els("#keys-table tr")) == 2)
    assert api.compute.get_keypair("imported-key").public_key == public
    b.shot("15-keys")
    for name in ("gen-key", "imported-key"):
        b.click('#keys-table tr[data-name="%s"] button' % name)
        b.confirm()
        b.wait("%s gone" % name, lambda d: not b.els('#keys-table tr[data-name="%s"]' % name))
    assert list(api.compute.keypairs()) == []
