"""Fixtures shared by snf-asterias-app's tests (what they stand on lives in support/),
and the plugins they run with: support.database_marker (``@pytest.mark.database``: a
test only one database server can run; skipping it in that server's pass fails) and
pytester (test_database_marker.py runs that plugin on a suite of its own).
"""

import pytest
from support.api import FakeBackend, make_world
from support.fakerapi import FakeRapi
from support.image_cloud import image_cloud as image_cloud_deployment

pytest_plugins = ["pytester", "support.database_marker"]


@pytest.fixture
def world(db):
    """Users alice, bob and root with API clients, flavors, images, a public network
    (support.api.make_world)."""
    return make_world()


@pytest.fixture
def fake_backend(monkeypatch, db):
    """A FakeBackend in place of Ganeti: jobs are recorded, finished on request through
    the dispatcher's callbacks."""
    return FakeBackend().install(monkeypatch)


@pytest.fixture
def fake(settings):
    """A FakeRapi that every RAPI client of the code under test talks to (OS
    snf-image+default)."""
    fake = FakeRapi()
    settings.GANETI_RAPI_CURL_FACTORY = fake.curl
    settings.GANETI_OS = "snf-image+default"
    return fake


@pytest.fixture
def image_cloud(tmp_path, settings):
    """The real-image deployment (support.image_cloud): kvm guests, this tree's snf-image,
    the real pipeline on the PostgreSQL test database; -> (pipeline, progress watcher)."""
    with image_cloud_deployment(tmp_path, settings) as cloud:
        yield cloud
