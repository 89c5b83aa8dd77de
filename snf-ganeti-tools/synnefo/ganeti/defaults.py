"""Defaults of snf-ganeti-tools (eventd, hook, progress monitor); see conf/."""

# Ganeti's job queue directory, watched by snf-ganeti-eventd.
GANETI_QUEUE_DIR = "/var/lib/ganeti/queue"
# Ganeti's ssconf directory (ssconf_master_node, ssconf_cluster_name).
GANETI_SSCONF_DIR = "/var/lib/ganeti"
# Messages not yet confirmed by a broker wait here (shared by eventd, hook, monitor).
GANETI_EVENTS_SPOOL_DIR = "/var/lib/synnefo/spool/ganeti-events"
# Pid file of snf-ganeti-eventd.
EVENTD_PID_FILE = "/run/synnefo/snf-ganeti-eventd.pid"
# Seconds between checks that this node is still the Ganeti master.
EVENTD_MASTER_CHECK_INTERVAL = 30
# Seconds the hook and the progress monitor wait for a broker before spooling.
GANETI_HOOK_AMQP_TIMEOUT = 2
# Whether the hook tries the brokers at all (False: always spool for eventd).
GANETI_HOOK_PUBLISH_DIRECTLY = True
# IPv6 /64 prefix of the public network for EUI-64 addresses of NIC 0 (None: none).
PUBLIC_IPV6_PREFIX = None
