"""Fixtures of snf-vncauthproxy's tests: the real daemon (support/proxyd.py) and a fake
node VNC server (support/fakevnc.py)."""

import pytest
from support.fakevnc import FakeVNCServer
from support.proxyd import ProxyDaemon


@pytest.fixture
def proxyd(tmp_path):
    """proxyd(**settings) -> a started ProxyDaemon; all are stopped at the end."""
    started = []

    def start(**settings):
        daemon = ProxyDaemon(tmp_path, **settings).start("-d")
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture
def node():
    server = FakeVNCServer()
    yield server
    server.close()
