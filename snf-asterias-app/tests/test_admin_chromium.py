"""The web admin in Debian's headless Chromium (chromium + chromium-driver +
python3-selenium, ci/packages/console.txt): sign-in, every page, every kind of action
through its form, the audit log showing them, and a non-administrator turned away.

The site is the real web project under gunicorn with the Ganeti job simulator of the
client tests (support.fake_ganeti_wsgi: jobs end a moment after they are accepted), the
real Ganeti test cluster added as a backend through the backends page (the dashboard
then reads it live; the simulator's own cluster name stays unreachable), and the real
RabbitMQ under a prefix of this run for the dead-letter page."""

import json
import os
import re
import uuid

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from support.admin_site import ALICE_PASSWORD, ROOT_PASSWORD, admin_site
from support.certificates import openssl_fingerprint
from support.cluster import RAPI_PEM, env
from support.live import wait_for

from synnefo.common.amqp_client import AMQPClient

pytestmark = pytest.mark.integration

HERE = os.path.dirname(os.path.abspath(__file__))
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("admin-chromium")
    setup = [("collectstatic", "--noinput", "-v0"), ("flavor-create", "1", "512", "5"),
             ("image-register", "debian-12", "debian-12-diskdump", "--public"),
             ("shell", "-c", "from synnefo.db.models import User; "
              "from synnefo.logic.invitations import invite; "
              "invite(User.objects.get(name='alice'), 'dora@example.org')")]
    with admin_site(tmp, "alpine.img", app="support.fake_ganeti_wsgi:application",
                    pythonpath=HERE, setup=setup,
                    GANETI_CLUSTER_INFO=("fake.ganeti.test", 5080, "u", "p"),
                    GANETI_RAPI_VERIFY=False, WEBPROJECT_SERVE_STATIC=True,
                    INVITATIONS_ENABLED=True, EMAIL_FILE_PATH=str(tmp / "mail"),
                    EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend") as s:
        s.home = tmp / "chromium"
        s.home.mkdir()
        yield s


@pytest.fixture
def browser(site):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                "--user-data-dir=%s" % (site.home / uuid.uuid4().hex)):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service("/usr/bin/chromedriver", env=dict(os.environ, HOME=str(site.home)))
    driver = webdriver.Chrome(service=service, options=options)
    yield driver
    driver.quit()


def click(browser, element):
    """Click ``element`` and wait for the page it leads to (a form post or a link)."""
    # a mark on the old page's window: gone once the new page has loaded
    browser.execute_script("window.snfOldPage = true")
    element.click()
    WebDriverWait(browser, 60).until(lambda b: b.execute_script(
        "return window.snfOldPage === undefined && document.readyState === 'complete'"))


def go(browser, link_text):
    click(browser, browser.find_element(By.LINK_TEXT, link_text))


def sign_in(browser, site, name, password):
    browser.get(site.base + "/admin/servers/")
    assert browser.current_url.startswith(site.base + "/admin/login/")
    browser.find_element(By.ID, "name").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(password)
    click(browser, browser.find_element(By.ID, "sign-in"))


def heading(browser):
    return browser.find_element(By.TAG_NAME, "h1").text


def message(browser):
    found = browser.find_elements(By.CSS_SELECTOR, "p.msg")
    return found[0].text if found else ""


def press(browser, op, row_text=None):
    """Click the button of operation ``op`` (in the table row containing ``row_text``)."""
    scope = browser
    if row_text is not None:
        scope = [r for r in browser.find_elements(By.TAG_NAME, "tr") if row_text in r.text][0]
    click(browser, scope.find_element(By.CSS_SELECTOR, 'button[data-op="%s"]' % op))
    assert message(browser).startswith("Done: %s" % op), browser.page_source[-2000:]


def fill(browser, form_id, **fields):
    form = browser.find_element(By.ID, form_id)
    for name, value in fields.items():
        form.find_element(By.NAME, name).send_keys(value)
    click(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def alice_server(site, name):
    """A server of alice's through the compute API, ACTIVE (the simulator ends its jobs)."""
    api = requests.Session()
    api.headers["X-Auth-Token"] = site.alice_token
    images = api.get(site.base + "/compute/v2.1/images").json()["images"]
    flavors = api.get(site.base + "/compute/v2.1/flavors").json()["flavors"]
    r = api.post(site.base + "/compute/v2.1/servers", json={"server": {
        "name": name, "imageRef": images[0]["id"], "flavorRef": flavors[0]["id"]}})
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    wait_for("server %s ACTIVE" % name, lambda: api.get(
        site.base + "/compute/v2.1/servers/" + server_id).json()["server"]["status"]
        == "ACTIVE")
    return server_id


def test_non_admin_is_turned_away(site, browser):
    sign_in(browser, site, "alice", ALICE_PASSWORD)
    assert browser.current_url.startswith(site.base + "/admin/login/")
    assert "wrong" in message(browser)
    browser.get(site.base + "/admin/users/")
    assert browser.current_url.startswith(site.base + "/admin/login/")


def test_every_page_and_action(site, browser):
    server_id = alice_server(site, "web-1")
    sign_in(browser, site, "root", ROOT_PASSWORD)
    assert heading(browser) == "Servers"
    # our stylesheet applies under the CSP (nav background #234)
    css = requests.get(site.base + "/static/synnefo_admin/admin.css")
    assert css.status_code == 200, (css.status_code, browser.get_log("browser"))
    nav = browser.find_element(By.TAG_NAME, "nav")
    assert nav.value_of_css_property("background-color") == "rgba(34, 51, 68, 1)"

    # dashboard: the simulator's cluster name is unreachable, not an error page
    go(browser, "Dashboard")
    assert heading(browser) == "Dashboard"
    assert "fake.ganeti.test" in browser.find_element(By.ID, "backends").text
    assert "unreachable" in browser.find_element(By.ID, "backends").text

    # backends: add the real cluster (checked over RAPI, its rapi.pem pasted: the
    # certificate is pinned, the key dropped), drain, credentials, undrain
    go(browser, "Backends")
    with open(RAPI_PEM) as f:
        rapi_pem = f.read()
    fill(browser, "add-backend", clustername=env("SNF_TEST_RAPI_HOST"),
         username=env("SNF_TEST_RAPI_USER"), password=env("SNF_TEST_RAPI_PASSWORD"),
         certificate=rapi_pem)
    assert message(browser).startswith("Done: backend.add"), browser.page_source[-2000:]
    cluster = env("SNF_TEST_RAPI_HOST")
    assert "PRIVATE KEY" not in browser.page_source
    press(browser, "backend.modify", row_text=cluster)  # Drain
    row = [r for r in browser.find_elements(By.TAG_NAME, "tr") if cluster in r.text][0]
    assert "Undrain" in row.text
    form = row.find_element(By.CSS_SELECTOR, "form.credentials")
    form.find_element(By.NAME, "username").send_keys(env("SNF_TEST_RAPI_USER"))
    form.find_element(By.NAME, "password").send_keys(env("SNF_TEST_RAPI_PASSWORD"))
    click(browser, form.find_element(By.CSS_SELECTOR, "button"))
    assert message(browser).startswith("Done: backend.modify")
    assert env("SNF_TEST_RAPI_PASSWORD") not in browser.page_source
    go(browser, "Dashboard")
    live_row = [r for r in browser.find_element(By.ID, "backends").find_elements(
        By.TAG_NAME, "tr") if cluster in r.text][0]
    assert "drained reachable" in live_row.text

    # users: search, create, suspend, unsuspend, quotas; the user's page
    go(browser, "Users")
    fill(browser, "create-user", name="carol", email="carol@example.org")
    assert message(browser).startswith("Done: user.create")
    browser.find_element(By.ID, "search").send_keys("caro")
    click(browser, browser.find_element(By.CSS_SELECTOR, "form.box button"))
    assert "carol@example.org" in browser.find_element(By.ID, "users").text
    assert "alice" not in browser.find_element(By.ID, "users").text
    press(browser, "user.suspend", row_text="carol")
    press(browser, "user.unsuspend", row_text="carol")
    browser.get(site.base + "/admin/users/alice/")
    assert "web-1" in browser.page_source
    fill(browser, "quotas", max_servers="4")
    assert message(browser).startswith("Done: user.quotas")
    assert "4" in [r for r in browser.find_elements(By.TAG_NAME, "tr")
                   if r.text.startswith("Servers")][0].text

    # servers: filter, stop, start, reboot, suspend; the server's page with its history
    go(browser, "Servers")
    browser.find_element(By.NAME, "user").send_keys("alice")
    click(browser, browser.find_element(By.CSS_SELECTOR, "#filters button"))
    assert "web-1" in browser.page_source
    press(browser, "server.stop", row_text="web-1")
    server_status = site.manage("server-show", server_id, "--json")

    def status_is(wanted):
        return lambda: json.loads(site.manage("server-show", server_id, "--json"))[
            "status"] == wanted
    assert json.loads(server_status)["status"] in ("ACTIVE", "SHUTOFF")
    wait_for("stopped", status_is("SHUTOFF"))
    browser.refresh()
    press(browser, "server.start", row_text="web-1")
    wait_for("started", status_is("ACTIVE"))
    browser.refresh()
    press(browser, "server.reboot", row_text="web-1")
    wait_for("rebooted", status_is("ACTIVE"))
    browser.refresh()
    press(browser, "server.suspend", row_text="web-1")
    wait_for("stopped by the suspension", status_is("SHUTOFF"))
    go(browser, "web-1")
    assert "suspended" in browser.find_element(By.ID, "status").text
    history = browser.find_element(By.CSS_SELECTOR, "table.audit").text
    for op in ("server.stop", "server.start", "server.reboot", "server.suspend"):
        assert op in history
    press(browser, "server.unsuspend")
    press(browser, "server.delete")
    wait_for("deleted", lambda: site.manage("server-list", "--json").strip() in ("[]", ""))

    # flavors: create, disable
    go(browser, "Flavors")
    fill(browser, "create-flavor", cpu="2", ram="2048", disk="10")
    assert message(browser).startswith("Done: flavor.create")
    press(browser, "flavor.disable", row_text="C2R2048D10")
    assert "Enable" in [r for r in browser.find_elements(By.TAG_NAME, "tr")
                        if "C2R2048D10" in r.text][0].text

    # images: register the store's file, make it private
    go(browser, "Images")
    fill(browser, "register-image", name="Alpine")
    assert message(browser).startswith("Done: image.register")
    press(browser, "image.visibility", row_text="Alpine")
    assert "Make public" in [r for r in browser.find_elements(By.TAG_NAME, "tr")
                             if "Alpine" in r.text][0].text

    # networks
    go(browser, "Networks")
    assert heading(browser) == "Networks"

    # invitations: resend one (a second mail in the file backend's directory)
    go(browser, "Invitations")
    assert "dora@example.org" in browser.find_element(By.ID, "invitations").text
    press(browser, "invitation.resend", row_text="dora@example.org")
    assert len(list((site.tmp / "mail").iterdir())) == 2

    # dead letters: inspect, retry, drop
    queue = site.topology.queue_names["op"]
    with AMQPClient([site.amqp]) as client:
        client.publish("", queue + "-dl", json.dumps({"type": "ganeti-op-status",
                                                      "jobId": 4242}))
    go(browser, "Dead letters")
    row = [r for r in browser.find_elements(By.TAG_NAME, "tr") if queue in r.text][0]
    assert re.search(r"\b1\b", row.text)
    click(browser, row.find_element(By.LINK_TEXT, "Inspect"))
    assert "4242" in browser.find_element(By.ID, "letters").text
    press(browser, "deadletters.retry", row_text=queue)
    with AMQPClient([site.amqp]) as client:
        client.publish("", queue + "-dl", "not json")
    press(browser, "deadletters.drop", row_text=queue)

    # the audit log shows every action, by root, from this browser
    go(browser, "Audit log")
    log = browser.find_element(By.CSS_SELECTOR, "table.audit").text
    for op in ("backend.add", "backend.modify", "user.create", "user.suspend",
               "user.unsuspend", "user.quotas", "server.stop", "server.delete",
               "flavor.create", "flavor.disable", "image.register", "image.visibility",
               "invitation.resend",
               "deadletters.retry", "deadletters.drop"):
        assert op in log, op
    assert "127.0.0.1" in log
    assert env("SNF_TEST_RAPI_PASSWORD") not in browser.page_source
    # the certificate pinned on the backends page, by its fingerprint (no PEM in the log)
    assert openssl_fingerprint(RAPI_PEM) in log and "BEGIN" not in browser.page_source

    # no page broke the CSP or failed to load anything
    problems = [e["message"] for e in browser.get_log("browser")
                if e["level"] in ("SEVERE", "WARNING")]
    assert problems == []

    click(browser, browser.find_element(By.ID, "sign-out"))
    assert browser.current_url.startswith(site.base + "/admin/login/")
    browser.get(site.base + "/admin/")
    assert browser.current_url.startswith(site.base + "/admin/login/")
