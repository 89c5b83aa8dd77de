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
AMQP_HOSTS: list[str] = []
# Legacy single-broker names; when RABBIT_HOST ("host:port") is set they form
# the first entry of AMQP_HOSTS.
RABBIT_HOST = None
RABBIT_USERNAME = "guest"
RABBIT_PASSWORD = "guest"
RABBIT_VHOST = "/"

# Name of the topic exchange Ganeti-side publishers and the dispatcher share.
EXCHANGE_GANETI = "ganeti"
# RabbitMQ queue type of the event queues both sides declare: "quorum" (replicated)
# or "classic".
AMQP_QUEUE_TYPE = "quorum"

# The default Ganeti cluster: (host, port, user, password) of its RAPI. Only read while
# no Backend row exists (the first one is created from it); later changes are made with
# snf-manage backend-modify, and `snf-manage check` warns when the two differ.
GANETI_CLUSTER_INFO = ("", 5080, "", "")

# Where the daemons write their logs (<daemon>.log, see docs/settings.md).
LOG_DIR = "/var/log/synnefo"
