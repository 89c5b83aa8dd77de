"""The compute service's data: the single source of truth the API answers from.

Ganeti is told what to do; the dispatcher writes back what Ganeti did. Fields named
``backend*`` mirror the last Ganeti job that touched a VM.
"""

import hashlib

from django.conf import settings
from django.db import models

from synnefo.common import protocol


class User(models.Model):
    STATE_ACTIVE = "ACTIVE"
    STATE_SUSPENDED = "SUSPENDED"
    STATE_DELETED = "DELETED"
    STATES = [(s, s) for s in (STATE_ACTIVE, STATE_SUSPENDED, STATE_DELETED)]

    name = models.CharField(max_length=100, unique=True)
    email = models.EmailField(max_length=254, blank=True, default="")
    password = models.CharField(max_length=255, blank=True, default="")  # Django hasher format
    is_admin = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=STATES, default=STATE_ACTIVE)
    # Per-user quota overrides; NULL means the default from settings.
    max_servers = models.IntegerField(null=True, blank=True)
    max_cores = models.IntegerField(null=True, blank=True)
    max_ram = models.IntegerField(null=True, blank=True)  # MiB
    max_disk = models.IntegerField(null=True, blank=True)  # GiB
    max_networks = models.IntegerField(null=True, blank=True)
    max_image_space = models.IntegerField(null=True, blank=True)  # MiB of image data
    # Invitations the user may send in all (synnefo.logic.invitations); NULL: the
    # INVITATIONS_PER_USER default.
    max_invitations = models.IntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "db_user"

    def __str__(self):
        return self.name

    @property
    def is_active(self):
        return self.state == self.STATE_ACTIVE


def hash_token(token):
    """Tokens are stored only as their SHA-256: a DB leak does not leak credentials."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Token(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=255, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True)  # NULL: never
    # The token this one was issued in exchange for (token auth, v2.0 or v3); NULL for a
    # password login or snf-manage token-create. Deleting (revoking) a token deletes
    # every token derived from it, through this cascade, however deep the chain.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="children")

    class Meta:
        db_table = "db_token"


class LoginFailure(models.Model):
    """One failed password login, counted against a user and against a source address
    (synnefo.logic.login_throttle). In the database so that every gunicorn worker of
    every API server sees the same counts; rows older than the window are pruned."""
    # SHA-256 of "user:<id>", "name:<name as given>" or "address:<ip>": fixed length,
    # whatever a client sent
    key = models.CharField(max_length=64)
    created = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "db_loginfailure"
        indexes = [models.Index(fields=["key", "created"], name="db_loginfailure_key_time")]


class Invitation(models.Model):
    """An e-mail invitation to open an account (synnefo.logic.invitations). The link
    sent carries a signed token naming this row; accepting sets ``accepted`` and ``user``,
    so a link works once."""
    inviter = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    created = models.DateTimeField(auto_now_add=True)
    sent = models.DateTimeField()  # the last time it was (re)sent
    send_count = models.IntegerField(default=1)
    accepted = models.DateTimeField(null=True, blank=True)
    # the account opened by accepting; NULL while pending (or once it is deleted)
    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="accepted_invitation")

    class Meta:
        db_table = "db_invitation"


class Flavor(models.Model):
    cpu = models.IntegerField()
    ram = models.IntegerField()  # MiB
    disk = models.IntegerField()  # GiB
    disk_template = models.CharField(max_length=32)
    deleted = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "db_flavor"
        unique_together = [("cpu", "ram", "disk", "disk_template")]
        ordering = ["cpu", "ram", "disk", "disk_template"]

    @property
    def name(self):
        return "C%dR%dD%d%s" % (self.cpu, self.ram, self.disk, self.disk_template)

    def __str__(self):
        return self.name


class Image(models.Model):
    # QUEUED: created through the image API, no data yet; SAVING: its data is arriving.
    STATE_QUEUED = "QUEUED"
    STATE_ACTIVE = "ACTIVE"
    STATE_SAVING = "SAVING"
    STATE_DELETED = "DELETED"
    STATES = [(s, s) for s in (STATE_QUEUED, STATE_ACTIVE, STATE_SAVING, STATE_DELETED)]
    FORMATS = ("diskdump", "extdump", "ntfsdump", "lvm", "ntfsclone", "dump")

    name = models.CharField(max_length=255)
    owner = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="images")  # NULL: a system image
    public = models.BooleanField(default=False)
    backend_id = models.CharField(max_length=255)  # the name the OS provider knows
    format = models.CharField(max_length=32, default="diskdump")
    state = models.CharField(max_length=16, choices=STATES, default=STATE_ACTIVE)
    size = models.BigIntegerField(default=0)  # bytes of the data file (0: unknown)
    # Of the data file, hex; empty when the service never saw the data (an image
    # registered by name only, that the nodes hold under their IMAGE_DIR).
    checksum = models.CharField(max_length=64, blank=True, default="")  # SHA-256
    md5 = models.CharField(max_length=32, blank=True, default="")  # Glance's "checksum"
    # What a Glance client said (echoed back); ``format`` is what snf-image deploys.
    disk_format = models.CharField(max_length=32, blank=True, default="")
    container_format = models.CharField(max_length=32, blank=True, default="")
    min_disk = models.IntegerField(default=0)  # GiB
    min_ram = models.IntegerField(default=0)  # MiB
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "db_image"
        # Non-FK columns first: MySQL refuses to drop an index a foreign key relies on.
        indexes = [models.Index(fields=["state", "owner", "updated"]),
                   models.Index(fields=["public", "state"])]

    def __str__(self):
        return self.name


class ImageMetadata(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="metadata")
    meta_key = models.CharField(max_length=50)
    meta_value = models.CharField(max_length=500)

    class Meta:
        db_table = "db_imagemetadata"
        unique_together = [("image", "meta_key")]


class Backend(models.Model):
    """One Ganeti cluster; new VMs go to the least loaded usable one."""

    clustername = models.CharField(max_length=128, unique=True)  # RAPI host name
    port = models.PositiveIntegerField(default=5080)
    username = models.CharField(max_length=64, blank=True, default="")
    password = models.CharField(max_length=128, blank=True, default="")
    # PEM of the cluster's RAPI certificate to pin; empty: settings decide verification.
    certificate = models.TextField(blank=True, default="")
    drained = models.BooleanField(default=False)  # no new VMs
    offline = models.BooleanField(default=False)  # unreachable: touch nothing
    hypervisor = models.CharField(max_length=32, default="kvm")
    disk_templates = models.CharField(max_length=255, blank=True, default="")  # comma list
    # Capacity, refreshed from RAPI
    mfree = models.BigIntegerField(default=0)  # MiB
    mtotal = models.BigIntegerField(default=0)
    dfree = models.BigIntegerField(default=0)  # MiB
    dtotal = models.BigIntegerField(default=0)
    pinst_cnt = models.IntegerField(default=0)
    ctotal = models.IntegerField(default=0)
    updated_capacity = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "db_backend"
        ordering = ["clustername"]

    def __str__(self):
        return self.clustername


class VirtualMachine(models.Model):
    OPER_STATES = [(s, s) for s in ("BUILD", "STARTED", "STOPPED", "ERROR", "DESTROYED")]
    ACTIONS = [(s, s) for s in ("CREATE", "START", "STOP", "REBOOT", "RESIZE", "DESTROY",
                                "SUSPEND", "MODIFY")]
    JOB_STATUSES = [(s, s) for s in protocol.JOB_STATUSES]

    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="servers")
    name = models.CharField(max_length=255)
    flavor = models.ForeignKey(Flavor, on_delete=models.PROTECT, related_name="servers")
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="servers")
    backend = models.ForeignKey(Backend, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="servers")
    key_name = models.CharField(max_length=255, blank=True, default="")
    # The create request's user_data (base64, as sent): handed to the OS provider.
    user_data = models.TextField(blank=True, default="")
    # Nova's accessIPv4/accessIPv6: addresses the owner records for the server (canonical
    # text, "" for none); shown, never acted on.
    access_ipv4 = models.CharField(max_length=15, blank=True, default="")
    access_ipv6 = models.CharField(max_length=39, blank=True, default="")
    operstate = models.CharField(max_length=16, choices=OPER_STATES, default="BUILD")
    deleted = models.BooleanField(default=False)
    suspended = models.BooleanField(default=False)
    # The user action in progress (API transitional state) and the job that carries it.
    action = models.CharField(max_length=16, choices=ACTIONS, blank=True, default="")
    task_job_id = models.BigIntegerField(null=True, blank=True)
    # The last Ganeti job seen for this VM.
    backendjobid = models.BigIntegerField(null=True, blank=True)
    backendopcode = models.CharField(max_length=64, blank=True, default="")
    backendjobstatus = models.CharField(max_length=16, choices=JOB_STATUSES, blank=True,
                                        default="")
    backendlogmsg = models.TextField(blank=True, default="")
    # Ganeti time of the newest applied finished job (order-safety watermark).
    backendtime = models.DateTimeField(null=True, blank=True)
    # Hook time of the newest applied NIC report (ganeti-net-status). Separate from
    # backendtime: the hook runs before its op ends, so its report is always "older"
    # than the op-status of the same job, which may be applied first.
    nictime = models.DateTimeField(null=True, blank=True)
    # Ganeti time of the newest applied firewall tag job: NIC reports from before it
    # carry the old profiles.
    firewalltime = models.DateTimeField(null=True, blank=True)
    buildpercentage = models.IntegerField(default=0)
    fault_code = models.IntegerField(default=500)  # the API fault's "code"
    fault_message = models.TextField(blank=True, default="")
    fault_details = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "db_virtualmachine"
        # Non-FK columns first: MySQL refuses to drop an index a foreign key relies on.
        indexes = [models.Index(fields=["deleted", "owner", "updated"]),
                   models.Index(fields=["deleted", "backend"]),
                   models.Index(fields=["operstate"])]

    @property
    def backend_vm_id(self):
        """The Ganeti instance name: BACKEND_PREFIX_ID + id (e.g. snf-42)."""
        return "%s%d" % (settings.BACKEND_PREFIX_ID, self.id)

    def __str__(self):
        return "%s (%s)" % (self.name, self.backend_vm_id if self.id else "unsaved")


def id_from_instance_name(name, prefix=None):
    """The VM id in a Ganeti instance name, or None when the name is not ours."""
    prefix = settings.BACKEND_PREFIX_ID if prefix is None else prefix
    if not isinstance(name, str) or not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    if not (rest.isascii() and rest.isdigit()) or rest != str(int(rest)):
        return None
    return int(rest)


class VirtualMachineMetadata(models.Model):
    vm = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE, related_name="metadata")
    meta_key = models.CharField(max_length=50)
    meta_value = models.CharField(max_length=500)

    class Meta:
        db_table = "db_vmmetadata"
        unique_together = [("vm", "meta_key")]


class KeyPair(models.Model):
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="keypairs")
    name = models.CharField(max_length=255)
    public_key = models.TextField()
    fingerprint = models.CharField(max_length=128)
    key_type = models.CharField(max_length=16, default="ssh")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "db_keypair"
        unique_together = [("owner", "name")]


class Network(models.Model):
    TYPES = [(s, s) for s in ("PUBLIC_ROUTED", "PRIVATE_BRIDGED", "PRIVATE_MAC_FILTERED")]
    STATES = [(s, s) for s in ("PENDING", "ACTIVE", "ERROR", "DELETED")]

    name = models.CharField(max_length=255)
    owner = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="networks")  # NULL: public network
    public = models.BooleanField(default=False)
    type = models.CharField(max_length=32, choices=TYPES, default="PRIVATE_MAC_FILTERED")
    state = models.CharField(max_length=16, choices=STATES, default="PENDING")
    link = models.CharField(max_length=64, blank=True, default="")  # Ganeti NIC link/bridge
    mac_prefix = models.CharField(max_length=17, blank=True, default="")
    subnet = models.CharField(max_length=43, blank=True, default="")  # CIDR
    gateway = models.CharField(max_length=39, blank=True, default="")
    subnet6 = models.CharField(max_length=43, blank=True, default="")
    gateway6 = models.CharField(max_length=39, blank=True, default="")
    # Names the user gave the IPv4 / IPv6 subnets (the Neutron-shaped API's subnets).
    subnet_name = models.CharField(max_length=255, blank=True, default="")
    subnet6_name = models.CharField(max_length=255, blank=True, default="")
    dhcp = models.BooleanField(default=True)
    deleted = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "db_network"
        indexes = [models.Index(fields=["deleted", "owner", "updated"]),
                   models.Index(fields=["public", "deleted"])]

    @property
    def backend_id(self):
        """The Ganeti network name: BACKEND_PREFIX_ID + "net-" + id."""
        return "%snet-%d" % (settings.BACKEND_PREFIX_ID, self.id)

    def __str__(self):
        return self.name


class NetworkInterface(models.Model):
    FIREWALL_PROFILES = [(s, s) for s in protocol.FIREWALL_PROFILES]
    STATES = [(s, s) for s in ("BUILD", "ACTIVE", "DOWN", "ERROR")]

    machine = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE, related_name="nics")
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="nics")
    index = models.IntegerField(null=True, blank=True)  # Ganeti NIC index
    mac = models.CharField(max_length=17, blank=True, default="")
    ipv4 = models.CharField(max_length=15, blank=True, default="")
    ipv6 = models.CharField(max_length=39, blank=True, default="")
    firewall_profile = models.CharField(max_length=16, choices=FIREWALL_PROFILES, blank=True,
                                        default="")
    state = models.CharField(max_length=16, choices=STATES, default="BUILD")
    name = models.CharField(max_length=255, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "db_networkinterface"
        indexes = [models.Index(fields=["state", "network"]), models.Index(fields=["mac"])]

    def __str__(self):
        return "nic %s of %s" % (self.index, self.machine_id)


class BackendNetwork(models.Model):
    """The state of one network on one Ganeti cluster (a Ganeti network object there)."""

    OPER_STATES = [(s, s) for s in ("PENDING", "ACTIVE", "ERROR", "DELETED")]

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="backend_networks")
    backend = models.ForeignKey(Backend, on_delete=models.PROTECT, related_name="networks")
    operstate = models.CharField(max_length=16, choices=OPER_STATES, default="PENDING")
    backendjobid = models.BigIntegerField(null=True, blank=True)
    backendopcode = models.CharField(max_length=64, blank=True, default="")
    backendjobstatus = models.CharField(max_length=16, blank=True, default="")
    backendlogmsg = models.TextField(blank=True, default="")
    backendtime = models.DateTimeField(null=True, blank=True)
    # First job of the latest submission (add + connects, or disconnects + remove):
    # a failure of an earlier job is superseded by a resubmission and changes nothing.
    batchjobid = models.BigIntegerField(null=True, blank=True)
    # Resubmissions of the current operation after transient Ganeti failures.
    retries = models.IntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "db_backendnetwork"
        unique_together = [("network", "backend")]


class AuditEntry(models.Model):
    """One administrator action (web admin or admin API): who, what, on what, when, from
    where. Kept when the acting user goes (the name is copied)."""

    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    user_name = models.CharField(max_length=100)
    action = models.CharField(max_length=64)        # e.g. "server.stop"
    target = models.CharField(max_length=255, blank=True, default="")  # e.g. "server 12"
    details = models.TextField(blank=True, default="")  # JSON of the parameters
    address = models.CharField(max_length=45, blank=True, default="")  # client IP
    via = models.CharField(max_length=8, default="web")  # web | api
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "db_auditentry"
        ordering = ["-created", "-id"]
