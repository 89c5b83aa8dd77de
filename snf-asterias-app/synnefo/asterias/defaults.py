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
# Seconds Ganeti waits for a clean shutdown before it forces one (None: its default).
GANETI_SHUTDOWN_TIMEOUT = None
# PEM file of the default cluster's RAPI certificate, pinned on the Backend row that
# is created from GANETI_CLUSTER_INFO when none exists ("": none pinned).
GANETI_CLUSTER_CERTIFICATE = ""
# Tests only: a callable returning a pycurl-like handle for every RAPI request.
GANETI_RAPI_CURL_FACTORY = None
