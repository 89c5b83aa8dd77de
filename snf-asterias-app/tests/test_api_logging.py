"""An HTTP 500 is logged with its traceback and the request id the client was given.

The web project's LOGGING is applied as the settings fragment's example says (a log
file instead of stderr); an internal error is provoked through Django's test client, in
an API view (api_view's own fault) and outside one (Django's handler500), and the file
must hold the traceback on a line that carries the id of the response.
"""

import copy
import logging.config

import pytest
from django.conf import settings
from django.test import Client

from synnefo.webproject import views as webproject_views
from synnefo.webproject.requestid import HEADERS


@pytest.fixture
def log_file(tmp_path):
    """settings.LOGGING with its handler writing to a file, as 10-snf-webproject-deploy.conf
    shows; Django's own LOGGING is restored afterwards."""
    path = tmp_path / "synnefo-web.log"
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"] = {"class": "logging.handlers.WatchedFileHandler",
                                     "filename": str(path), "formatter": "plain"}
    logging.config.dictConfig(config)
    yield path
    logging.config.dictConfig(settings.LOGGING)


def lines_with(path, request_id):
    text = path.read_text()
    return text, [line for line in text.splitlines() if request_id in line]


def test_a_500_in_an_api_view_is_logged_with_the_id_and_traceback(world, log_file,
                                                                  monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire in list_flavors")
    monkeypatch.setattr("synnefo.logic.flavors.list_flavors", boom)
    r = world.a.get("/compute/v2.1/flavors")
    assert r.status_code == 500
    request_id = r["X-Openstack-Request-Id"]
    assert request_id.startswith("req-") and r["X-Compute-Request-Id"] == request_id
    assert request_id in r.json()["computeFault"]["message"]
    assert "disk on fire" not in r.content.decode()
    text, lines = lines_with(log_file, request_id)
    assert any(" ERROR synnefo.api [%s]" % request_id in line for line in lines), text
    after = text[text.index(request_id):]
    assert "Traceback (most recent call last)" in after
    assert "RuntimeError: disk on fire in list_flavors" in after


def test_a_500_outside_the_api_views_is_a_json_fault_with_the_logged_id(db, log_file,
                                                                        monkeypatch):
    def boom(*args, **kwargs):
        raise ValueError("landing page broke")
    monkeypatch.setattr(webproject_views, "JsonResponse", boom)
    r = Client(raise_request_exception=False).get("/")
    assert r.status_code == 500
    request_id = r["X-Openstack-Request-Id"]
    fault = r.json()["computeFault"]
    assert fault["code"] == 500 and request_id in fault["message"]
    assert "landing page broke" not in r.content.decode()
    text, lines = lines_with(log_file, request_id)
    assert any("django.request [%s]: Internal Server Error: /" % request_id in line
               for line in lines), text
    assert "ValueError: landing page broke" in text[text.index(request_id):]


def test_every_response_carries_a_fresh_request_id_and_logs_outside_requests_say_dash(
        db, log_file):
    client = Client()
    first, second = client.get("/"), client.get("/")
    ids = {first[h] for h in HEADERS} | {second[h] for h in HEADERS}
    assert len(ids) == 2 and all(i.startswith("req-") for i in ids)
    # a client cannot choose the id that ends up in the logs
    r = client.get("/", HTTP_X_OPENSTACK_REQUEST_ID="req-chosen-by-client")
    assert r["X-Openstack-Request-Id"] != "req-chosen-by-client"
    logging.getLogger("synnefo.test").warning("outside a request")
    assert "WARNING synnefo.test [-]: outside a request" in log_file.read_text()
