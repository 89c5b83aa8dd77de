"""What eventd, the hook and the progress monitor share: settings, names, publishing."""

import os
import socket

from synnefo.common.amqp_client import SpoolingPublisher, Topology
from synnefo.common.settings import load_or_exit


class Config:
    """The settings the Ganeti-side tools use, loaded once by the settings loader."""

    def __init__(self, settings=None):
        s = settings if settings is not None else load_or_exit()
        self.settings = s
        self.prefix = s["BACKEND_PREFIX_ID"]
        self.topology = Topology(self.prefix, exchange=s["EXCHANGE_GANETI"])
        self.amqp_hosts = s["AMQP_HOSTS"]
        self.queue_type = s["AMQP_QUEUE_TYPE"]
        self.spool_dir = s["GANETI_EVENTS_SPOOL_DIR"]
        self.queue_dir = s["GANETI_QUEUE_DIR"]
        self.ssconf_dir = s["GANETI_SSCONF_DIR"]

    def publisher(self, connect_timeout=5):
        return SpoolingPublisher(self.amqp_hosts, self.spool_dir, topology=self.topology,
                                 queue_type=self.queue_type,
                                 connect_timeout=connect_timeout)

    def ssconf(self, key):
        try:
            with open(os.path.join(self.ssconf_dir, "ssconf_" + key)) as f:
                return f.read().strip()
        except OSError:
            return None


def this_node_names():
    names = {socket.gethostname()}
    try:
        names.add(socket.getfqdn())
    except OSError:
        pass
    return {n for n in names if n}


def master_problem(config):
    """None when this node is the Ganeti master, else the reason (for a clear exit)."""
    master = config.ssconf("master_node")
    if not master:
        return ("cannot read %s/ssconf_master_node: is this a Ganeti node "
                "(GANETI_SSCONF_DIR)?" % config.ssconf_dir)
    here = this_node_names()
    if master in here:
        return None
    return ("this node (%s) is not the Ganeti master (%s); snf-ganeti-eventd runs only "
            "on the master node" % (", ".join(sorted(here)), master))
