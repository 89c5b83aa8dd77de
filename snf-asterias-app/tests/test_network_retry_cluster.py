"""A network removal that meets Ganeti's transient failure, on the real Ganeti test cluster.

Ganeti's network disconnect locks the instances of the node group and fails with
"Instances in node group 'default' changed since locks were acquired ...; retry the
operation" when one is created, removed or renamed meanwhile. `snf-manage network-remove`
(and the dispatcher, see tests/test_network_pipeline_cluster.py) must resubmit such a
transient failure itself: the network ends DELETED, never ERROR.

The failure is forced, not hoped for: tests/support/ganeti_race.py holds a rename of an instance
of ours in its pre hook, so that the disconnect declares the old name and meets the new
one (its docstring says why that happens every time). The prefix is this module's and
this run's own (snfnr<pid>-).
"""

import logging

import pytest
from django.core.management import call_command
from support.cluster import cluster_backend, remove_ganeti_network, run_prefix
from support.ganeti_race import DisconnectRace, pawn_spec

from synnefo.backend import networks as gnet
from synnefo.backend.client import client_for
from synnefo.db import models as m

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PREFIX = run_prefix("snfnr")


@pytest.fixture
def backend(db, settings):
    settings.BACKEND_PREFIX_ID = PREFIX
    settings.GANETI_OS = "noop+default"
    settings.GANETI_NETWORK_GROUPS = ["default"]
    settings.NETWORK_JOB_RETRIES = 20
    return cluster_backend()


def test_network_remove_meeting_a_transient_failure_ends_deleted(backend, caplog):
    caplog.set_level(logging.WARNING, logger="synnefo.logic.network_callbacks")
    client = client_for(backend)
    spec = pawn_spec(backend)
    call_command("network-create", "race", "--public", "--subnet", "10.251.118.0/24",
                 "--link", "gnt-br0")
    net = m.Network.objects.get(name="race", deleted=False)
    try:
        assert net.state == "ACTIVE", net.backend_networks.get().backendlogmsg
        with DisconnectRace(client, PREFIX, spec) as race:
            race.force_in_thread(net.backend_id)  # network-remove blocks until DELETED
            call_command("network-remove", str(net.id))
            race.check()
        net.refresh_from_db()
        bn = net.backend_networks.get()
        assert (net.state, bn.operstate) == ("DELETED", "DELETED"), bn.backendlogmsg
        assert gnet.get_network(net, backend) is None
        # The forced failure was Ganeti's (race.check()) and it was resubmitted.
        assert bn.retries >= 1, "the transient failure was not retried"
        assert "failed transiently" in caplog.text
    finally:
        info = gnet.get_network(net, backend)
        if info is not None:
            remove_ganeti_network(client, info)
