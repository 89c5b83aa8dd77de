"""Defaults of the compute service (snf-asterias-app); see conf/20-snf-asterias-app-*.conf."""

# Flavor disk templates Ganeti may be asked for, and the one used when none is given.
GANETI_DISK_TEMPLATES = ("diskless", "file", "sharedfile", "plain", "drbd", "rbd")
DEFAULT_GANETI_DISK_TEMPLATE = "file"

# --- Ganeti backend (pipeline; see conf/20-snf-asterias-app-backend.conf) ---
# OS provider (OS+variant) new instances are created with.
GANETI_OS = "snf-image+default"
# Extra fields of every RAPI create request (copied per request, never changed).
GANETI_CREATEINSTANCE_KWARGS = {"ip_check": False, "name_check": False,
                                "wait_for_sync": False}
# Verify RAPI certificates against the system CAs when a backend pins none.
GANETI_RAPI_VERIFY = True
# Seconds a RAPI call may take.
GANETI_RAPI_TIMEOUT = 60
# NIC link used when a network names none ("" leaves it to the cluster's default).
GANETI_DEFAULT_LINK = ""
# Seconds Ganeti waits for a clean shutdown (stop, and the remove of a running server)
# before it forces one (None: its default, 120).
GANETI_SHUTDOWN_TIMEOUT = None
# PEM file of the default cluster's RAPI certificate, pinned on the Backend row that
# is created from GANETI_CLUSTER_INFO when none exists ("": none pinned).
GANETI_CLUSTER_CERTIFICATE = ""
# Tests only: a callable returning a pycurl-like handle for every RAPI request.
GANETI_RAPI_CURL_FACTORY = None

# --- Compute API, identity and quotas (synnefo.api, synnefo.logic) -------------------
# Public base URL of this service (e.g. "https://cloud.example.org"): every URL the API
# hands out (identity catalog, links, Location) starts with it, whatever Host a request
# names. The default only suits a client on the server itself.
API_PUBLIC_BASE_URL = "http://localhost"
# Consoles (synnefo.logic.consoles): the control socket of snf-vncauthproxy on this node,
# "unix:/path" or "tcp:127.0.0.1:PORT" (as its VNCAUTHPROXY_CONTROL).
CONSOLE_PROXY_CONTROL = "unix:/run/synnefo/vncauthproxy.sock"
# (user, password) of the proxy's users file, for a tcp: control socket (None: none).
CONSOLE_PROXY_AUTH = None
# Seconds to wait for the proxy's answer.
CONSOLE_PROXY_TIMEOUT = 5
# Host name VNC clients and browsers connect to (None: API_PUBLIC_BASE_URL's host).
CONSOLE_PROXY_HOST = None
# The noVNC page of os-getVNCConsole URLs (None: API_PUBLIC_BASE_URL + "/novnc/vnc.html").
CONSOLE_NOVNC_URL = None
# Whether noVNC forwardings are WebSockets over TLS (the proxy's vnc-wss, certificate
# VNCAUTHPROXY_CERT_FILE); None: when the noVNC page is https (browsers refuse ws:// there).
CONSOLE_WEBSOCKET_TLS = None
# Region name put in the identity catalog's endpoints.
API_REGION_NAME = "RegionOne"
# Seconds an API token issued through the identity endpoint stays valid.
TOKEN_LIFETIME = 24 * 3600
# Login throttling (synnefo.logic.login_throttle): after this many failed password logins
# within LOGIN_THROTTLE_WINDOW seconds, for one account (or unknown user name) or from one
# source address, logins answer 429 with Retry-After until the oldest leaves the window.
# 0 turns that limit off. Counted in the database: every worker and API server shares them.
LOGIN_THROTTLE_WINDOW = 300
LOGIN_THROTTLE_USER_FAILURES = 10
LOGIN_THROTTLE_ADDRESS_FAILURES = 50
# Peers (addresses or networks) whose X-Forwarded-For is believed when finding a login's
# source address: the nginx of the packaged setup, on this host in front of gunicorn.
LOGIN_THROTTLE_TRUSTED_PROXIES = ["127.0.0.1", "::1"]
# Largest page of a list call (servers, images, flavors); a bigger ?limit is capped.
API_MAX_PAGE_SIZE = 1000
# changes-since may go back at most this many seconds (older values answer 400).
POLL_LIMIT = 3600
# Personality files per server and the largest file in bytes (decoded).
MAX_PERSONALITY = 5
MAX_PERSONALITY_SIZE = 10240
# Metadata items per server or image.
MAX_METADATA_ITEMS = 32
# Key pairs one user may store.
MAX_KEYPAIRS_PER_USER = 100
# Per-user quota defaults; User rows may override each (NULL means "this default").
QUOTA_MAX_SERVERS = 3
QUOTA_MAX_CORES = 8
QUOTA_MAX_RAM = 8192  # MiB
QUOTA_MAX_DISK = 200  # GiB
QUOTA_MAX_NETWORKS = 5
QUOTA_MAX_IMAGE_SPACE = 10240  # MiB: the data of all of a user's images together
# Invitations (synnefo.logic.invitations): off by default (private clouds); when on, a
# user may invite INVITATIONS_PER_USER people (User.max_invitations overrides it) by
# e-mail, sent through Django's EMAIL_BACKEND from DEFAULT_FROM_EMAIL.
INVITATIONS_ENABLED = False
INVITATIONS_PER_USER = 5
# Seconds an invitation link stays valid after it was (re)sent.
INVITATION_LIFETIME = 7 * 86400
# The link's URL with "{token}" in it; None: the identity API's accept endpoint.
INVITATION_ACCEPT_URL = None
# Shortest password an invited user may choose.
INVITATION_MIN_PASSWORD = 8
# Length of the generated administrator password returned once at server creation.
SERVER_PASSWORD_LENGTH = 12

# --- Images (synnefo.logic.images, image_store, image_links; conf/20-...-image.conf) ---
# Directory of the image data files the image API and snf-manage image-register write
# (the nodes' IMAGE_DIR of /etc/default/snf-image when they share it with the API).
IMAGE_STORE_DIR = "/var/lib/synnefo/images"
# How Ganeti nodes get an image's data: False: img_id is the file name under their own
# IMAGE_DIR; True: img_id is a short-lived signed http(s) link to this API (nodes that
# do not share a disk with the APISERVER).
IMAGE_NODES_FETCH_FROM_API = False
# Base URL of those links as the nodes reach the API (None: API_PUBLIC_BASE_URL).
IMAGE_LINK_BASE_URL = None
# Secret the links are signed with (HMAC-SHA256); every APISERVER needs the same one.
# None: derived from SECRET_KEY.
IMAGE_LINK_SECRET = None
# Seconds a link stays valid after the server's create job was submitted.
IMAGE_LINK_LIFETIME = 3600

# --- Networks (synnefo.logic.networks; see conf/20-snf-asterias-app-network.conf) ---
# Ganeti node groups every network is connected to (the cluster's "default" group).
GANETI_NETWORK_GROUPS = ["default"]
# Link (routing table) of the public routed network's NICs on the Ganeti nodes.
PUBLIC_NETWORK_LINK = "snf_public"
# IPv4 subnet, gateway and reserved addresses of the public network (network-create --public).
PUBLIC_NETWORK_SUBNET = ""
PUBLIC_NETWORK_GATEWAY = ""
PUBLIC_NETWORK_RESERVED_IPS = []
# IPv6 /64 of the public network (guests get EUI-64 addresses in it) and its gateway.
PUBLIC_NETWORK_SUBNET6 = ""
PUBLIC_NETWORK_GATEWAY6 = ""
# Firewall profile of new NICs on public networks: ENABLED, DISABLED or PROTECTED
# (Ganeti tag synnefo:network:<index>:protected|unprotected|limited).
DEFAULT_FIREWALL_PROFILE = "DISABLED"
# Type of the private networks users create: PRIVATE_MAC_FILTERED or PRIVATE_BRIDGED.
DEFAULT_PRIVATE_NETWORK_TYPE = "PRIVATE_MAC_FILTERED"
# The one bridge all MAC-filtered private networks share (isolated by MAC prefix).
PRIVATE_MAC_FILTERED_BRIDGE = "prv0"
# First two octets of the per-network MAC prefixes ("aa:00" gives aa:00:01 .. aa:00:ff).
MAC_PREFIX_BASE = "aa:00"
# Pre-provisioned bridges for PRIVATE_BRIDGED networks: <prefix>1 .. <prefix><count>.
PRIVATE_BRIDGE_PREFIX = "prv"
PRIVATE_BRIDGE_COUNT = 20
# How many times a Ganeti network job (connect, disconnect) that failed only because
# instances were created or removed meanwhile ("... changed since locks were acquired;
# retry the operation") is resubmitted before the network is left in ERROR.
NETWORK_JOB_RETRIES = 10

# --- Dispatcher and queues (pipeline; see conf/20-snf-asterias-app-queues.conf) ---
# Worker processes of snf-dispatcher (each consumes every event queue).
DISPATCHER_WORKERS = 2
# Pid file of snf-dispatcher.
DISPATCHER_PID_FILE = "/run/synnefo/snf-dispatcher.pid"
# Seconds a dispatcher worker keeps its DB connection (Django's CONN_MAX_AGE, for the
# dispatcher only): None = no limit, 0 = a new connection for every message (slow).
# A connection the server dropped is replaced whatever this says.
DISPATCHER_CONN_MAX_AGE = 300
# Seconds a dispatcher worker has after SIGTERM to finish its message before the
# supervisor SIGKILLs it (one stuck in a database call; its transaction rolls back
# and the message is delivered again).
DISPATCHER_STOP_TIMEOUT = 20
# Seconds a building VM's create job may stay unknown to Ganeti before
# reconciliation calls the build failed.
RECONCILE_BUILD_GRACE = 60
