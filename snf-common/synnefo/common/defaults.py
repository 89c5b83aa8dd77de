"""Settings every Synnefo component shares (snf-common's defaults).

Every upper-case name here is a setting; /etc/synnefo/*.conf files override them.
The commented reference for administrators is conf/00-snf-common-*.conf.
"""

DEBUG = False

# Deployment prefix of Ganeti instance names, queue names and routing keys.
# Must end with a dash ("snf-" -> instances snf-1, snf-2, ...; queues snf-events-op).
BACKEND_PREFIX_ID = "snf-"

# AMQP brokers, tried in order: amqp://user:password@host:port/vhost
# (empty: amqp://guest:guest@localhost:5672/).
AMQP_HOSTS = []
# Legacy single-broker names; when RABBIT_HOST ("host:port") is set they form
# the first entry of AMQP_HOSTS.
RABBIT_HOST = None
RABBIT_USERNAME = "guest"
RABBIT_PASSWORD = "guest"
RABBIT_VHOST = "/"

# Name of the topic exchange Ganeti-side publishers and the dispatcher share.
EXCHANGE_GANETI = "ganeti"

# The default Ganeti cluster (the first Backend row is created from it):
# (host, port, user, password) of its RAPI.
GANETI_MASTER_IP = ""
GANETI_CLUSTER_INFO = ("", 5080, "", "")
GANETI_NODES = []

# Where daemons write their logs, pid files and state.
LOG_DIR = "/var/log/synnefo"
RUN_DIR = "/run/synnefo"
STATE_DIR = "/var/lib/synnefo"
