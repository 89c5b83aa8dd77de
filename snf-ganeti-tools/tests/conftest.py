"""Fixtures of snf-ganeti-tools' tests (helpers they share are in support/)."""

import socket

import pytest

from synnefo.common.amqp_client import Spool
from synnefo.common.settings import collect_defaults
from synnefo.ganeti.common import Config


def refused_port():
    """A loopback port nothing listens on (bound, never listened: connects are refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


@pytest.fixture
def config(tmp_path):
    """The tools' Config over directories of the test (queue, spool, ssconf), prefix snf-,
    its broker refusing connections: whatever they publish stays in the spool, in order,
    for the test to read."""
    held, port = refused_port()
    for d in ("queue", "spool", "ssconf"):
        (tmp_path / d).mkdir()
    # over the installed defaults, as the settings loader gives them to the tools
    yield Config(dict(collect_defaults(),
                      BACKEND_PREFIX_ID="snf-",
                      AMQP_HOSTS=["amqp://u:p@127.0.0.1:%d/" % port],
                      GANETI_QUEUE_DIR=str(tmp_path / "queue"),
                      GANETI_EVENTS_SPOOL_DIR=str(tmp_path / "spool"),
                      GANETI_SSCONF_DIR=str(tmp_path / "ssconf"),
                      GANETI_HOOK_AMQP_TIMEOUT=2, EVENTD_MASTER_CHECK_INTERVAL=0))
    held.close()


@pytest.fixture
def spooled(config):
    """spooled() -> [(routing key, body)] of what waits in the config's spool, oldest first."""
    def read():
        spool = Spool(config.spool_dir)
        return [(r["routing_key"], r["body"]) for r in map(spool.read, spool.pending())]
    return read
