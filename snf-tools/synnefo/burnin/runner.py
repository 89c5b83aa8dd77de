"""The burnin sequence (after the original's, synnefo-facts §6.6): unauthorised request,
images/flavors/servers sane, then per image one server through its whole life.

Each step records passed/failed/skipped in Results. Within an image, the first failure
makes the later steps "skipped" naming it; the server is deleted in any case."""

import concurrent.futures
import io
import logging
import re
import shutil
import subprocess
import threading
import time

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from synnefo.burnin import rfb
from synnefo.burnin.client import ApiError
from synnefo.burnin.report import FAILED, PASSED, SKIPPED

PREFIX = "snf-burnin-"  # every server and keypair a run makes is named so (--show-stale)

# paramiko logs every refused attempt of the SSH wait; the step reports the last one.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)


# Set on SIGINT/SIGTERM (cli.py): waits end, later steps are skipped, but each server
# made so far is still deleted, so an interrupted run leaves nothing behind.
STOPPING = threading.Event()


class StepFailed(Exception):
    pass


class Skip(Exception):
    """The step cannot run here; the message says why."""


def check(cond, message):
    if not cond:
        raise StepFailed(message)


class Group:
    """The steps of one group; after a failure the rest are skipped, naming it."""

    def __init__(self, results, name, log):
        self.results, self.name, self.log = results, name, log
        self.broken = None

    def step(self, name, fn, *args, always=False):
        if STOPPING.is_set() and not always:
            self.results.add(self.name, name, SKIPPED, 0, "not run: interrupted")
            return None
        if self.broken and not always:
            reason = self.broken if self.broken.startswith("--") else "%s failed" % self.broken
            self.results.add(self.name, name, SKIPPED, 0, "not run: %s" % reason)
            return None
        t0 = time.monotonic()
        try:
            value = fn(*args)
        except Skip as e:
            self.results.add(self.name, name, SKIPPED, time.monotonic() - t0, str(e))
            self.log("%s: %s: skipped (%s)" % (self.name, name, e))
            return None
        except Exception as e:  # any error of a step is its failure, reported by name
            msg = "%s: %s" % (type(e).__name__, e) if not isinstance(e, StepFailed) else str(e)
            self.results.add(self.name, name, FAILED, time.monotonic() - t0, msg)
            self.log("%s: %s: FAILED: %s" % (self.name, name, msg))
            self.broken = self.broken or name
            return None
        self.results.add(self.name, name, PASSED, time.monotonic() - t0)
        self.log("%s: %s: ok (%.1f s)" % (self.name, name, time.monotonic() - t0))
        return value if value is not None else True


def wait(what, fn, timeout, interval):
    """fn()'s first true value within ``timeout`` s, else StepFailed."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise StepFailed("%s: not within %d s" % (what, timeout))
        if STOPPING.wait(interval):
            raise StepFailed("%s: interrupted" % what)


def ids(items):
    return sorted(str(i["id"]) for i in items)


# -- sanity ----------------------------------------------------------------------------

def unauthorized(cloud):
    r = cloud.request("GET", cloud.endpoint("compute") + "/servers", (401,), auth=False)
    check(r.status_code == 401, "no token: HTTP %d" % r.status_code)


def list_and_detail(cloud, what):
    short = cloud.compute("GET", "/%s" % what)[what]
    detail = cloud.compute("GET", "/%s/detail" % what)[what]
    check(ids(short) == ids(detail), "%s: list %s and detail %s differ"
          % (what, ids(short), ids(detail)))
    return detail


def images_sane(cloud):
    images = list_and_detail(cloud, "images")
    names = [i["name"] for i in images]
    check(len(names) == len(set(names)), "image names are not unique: %s" % names)
    for i in images:
        keys = {k.upper() for k in (i.get("metadata") or {})}
        check(keys & {"OS", "OSFAMILY"}, "image %s (%s) has no OS/OSFAMILY metadata"
              % (i["id"], i["name"]))
    return images


def flavors_sane(cloud):
    flavors = list_and_detail(cloud, "flavors")
    check(flavors, "no flavors")
    names = [f["name"] for f in flavors]
    check(len(names) == len(set(names)), "flavor names are not unique: %s" % names)
    for f in flavors:
        check(f["vcpus"] > 0 and f["ram"] > 0 and f["disk"] > 0, "flavor %s: %s" % (f["id"], f))
    return flavors


def servers_sane(cloud):
    list_and_detail(cloud, "servers")


def networks_sane(cloud):
    r = cloud.request("GET", cloud.endpoint("network") + "/v2.0/networks", 200)
    check(isinstance(r.json().get("networks"), list), "no network list: %s" % r.text[:200])


# -- one image's server ---------------------------------------------------------------

class ServerRun:
    """One server of one image through create, console, network, SSH, stop/start, delete."""

    def __init__(self, cloud, opts, run_id, image, flavor, keypair, log, name=None,
                 networks=None):
        self.cloud, self.opts, self.image, self.flavor = cloud, opts, image, flavor
        self.key_name, self.pkey = keypair
        self.name = name or "%s%s for %s" % (PREFIX, run_id, image["name"])
        self.networks = networks  # None: the API's default (every public network)
        self.log = log
        self.id = None
        self.server = None
        self.ipv4 = self.ipv6 = None

    def poll(self):
        self.server = self.cloud.server(self.id)
        return self.server

    def create(self):
        body = {"name": self.name, "imageRef": str(self.image["id"]),
                "flavorRef": str(self.flavor["id"]), "key_name": self.key_name}
        if self.networks is not None:
            body["networks"] = [{"uuid": str(n)} for n in self.networks]
        s = self.cloud.compute("POST", "/servers", 202, json={"server": body})["server"]
        self.id = s["id"]
        self.password = s.get("adminPass")
        check(s.get("name", self.name) == self.name, "created with name %r" % s.get("name"))

    def build_seen(self):
        s = self.poll()
        check(s["name"] == self.name, "name %r" % s["name"])
        check(str(s["image"]["id"]) == str(self.image["id"]), "image %s" % s["image"])
        check(str(s["flavor"]["id"]) == str(self.flavor["id"]), "flavor %s" % s["flavor"])
        # A fast cluster may have finished already; anything else is wrong.
        check(s["status"] in ("BUILD", "ACTIVE"), "status %s, expected BUILD" % s["status"])
        listed = [x for x in self.cloud.compute("GET", "/servers")["servers"]
                  if str(x["id"]) == str(self.id)]
        check(listed, "server %s is not in the server list" % self.id)

    def metadata(self):
        """A key set through the API reads back, in the metadata view and the server."""
        item = {"snf-burnin": self.name}
        self.cloud.compute("POST", "/servers/%s/metadata" % self.id, 200,
                           json={"metadata": item})
        got = self.cloud.compute("GET", "/servers/%s/metadata" % self.id)["metadata"]
        check(got.get("snf-burnin") == self.name, "metadata read back: %s" % got)
        check((self.poll().get("metadata") or {}).get("snf-burnin") == self.name,
              "the server's metadata lacks the key: %s" % self.server.get("metadata"))

    def active(self):
        t0 = time.monotonic()

        def built():
            s = self.poll()
            check(s is not None, "server %s disappeared while building" % self.id)
            if s["status"] == "ERROR":
                raise StepFailed("server %s: ERROR, fault %s" % (self.id, s.get("fault")))
            return s["status"] != "BUILD" and s
        s = wait("server %s ACTIVE" % self.id, built, self.opts.build_timeout,
                 self.opts.query_interval)
        check(s["status"] == "ACTIVE", "status %s after BUILD" % s["status"])
        took = time.monotonic() - t0
        if took > self.opts.build_warning:
            self.log("warning: server %s took %.0f s to build (over %d s)"
                     % (self.id, took, self.opts.build_warning))

    def console(self):
        c = self.cloud.action(self.id, {"console": {"type": "vnc"}}, 200)["console"]
        check(c.get("type") == "vnc" and c.get("password"), "console answer %s" % c)
        rfb.handshake(c["host"], c["port"], c["password"], timeout=self.opts.action_timeout)

    def addresses(self):
        addrs = [a for net in (self.server.get("addresses") or {}).values() for a in net]
        v4 = [a["addr"] for a in addrs if a.get("version") == 4]
        v6 = [a["addr"] for a in addrs if a.get("version") == 6]
        check(len(v4) == 1, "expected one IPv4 address, the server has %s" % (v4 or "none"))
        self.ipv4 = v4[0]
        self.ipv6 = v6[0] if v6 else None

    def _address(self, version):
        """The server's public address of that IP version. Without an IPv6 address:
        a failure if one of its networks has an IPv6 subnet (it should have one),
        else a skip naming the networks."""
        if version == 4 or self.ipv6:
            check(self.ipv4, "no IPv4 address (an earlier step failed)")
            return self.ipv4 if version == 4 else self.ipv6
        networks = sorted({str(p["network_id"]) for p in self.cloud.ports_of(self.id)})
        with_v6 = [n for n in networks if self.cloud.has_ipv6(n)]
        check(not with_v6, "network %s has an IPv6 subnet, but the server has no IPv6 "
              "address" % ", ".join(with_v6))
        raise Skip("no IPv6: the server's network%s %s ha%s no IPv6 subnet"
                   % ("s" if len(networks) > 1 else "", ", ".join(networks) or "(none)",
                      "ve" if len(networks) > 1 else "s"))

    def ping(self, version):
        addr = self._address(version)
        if self.opts.no_ping:
            raise Skip("--no-ping")
        if not shutil.which("ping"):
            raise Skip("no ping command on this machine")

        def answered():
            return subprocess.run(["ping", "-%d" % version, "-c", "1", "-W", "2", addr],
                                  capture_output=True).returncode == 0
        wait("a ping answer from %s" % addr, answered, self.opts.action_timeout, 1)

    def connect(self, address):
        """An SSH client logged in with the run's key (waits for sshd to answer)."""
        if self.pkey is None:
            raise Skip("no keypair: its upload failed")
        last = ["no attempt"]

        def attempt():
            c = paramiko.SSHClient()
            # a brand-new server: its host key cannot be known yet
            c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            try:
                c.connect(address, 22, self.opts.ssh_user, pkey=self.pkey, timeout=5,
                          banner_timeout=10, auth_timeout=10, allow_agent=False,
                          look_for_keys=False)
                return c
            except (OSError, paramiko.SSHException) as e:
                c.close()
                last[0] = "%s: %s" % (type(e).__name__, e)
                return None
        try:
            return wait("SSH with the injected key to %s" % address, attempt,
                        self.opts.ssh_timeout, 2)
        except StepFailed as e:
            raise StepFailed("%s (last attempt: %s)" % (e, last[0])) from None

    def run_command(self, command, address=None):
        """(exit status, output) of ``command`` on the server over SSH."""
        client = self.connect(address or self.ipv4)
        try:
            _, out, _ = client.exec_command(command, timeout=self.opts.action_timeout)
            text = out.read().decode(errors="replace")
            return out.channel.recv_exit_status(), text
        finally:
            client.close()

    def ssh(self, version=4):
        address = self._address(version)
        _status, hostname = self.run_command("hostname", address)
        hostname = hostname.strip()
        # Ganeti names the instance <prefix><id>; snf-image makes that the hostname.
        check(re.search(r"(^|\D)%s$" % re.escape(str(self.id)), hostname),
              "hostname %r does not end with the server id %s" % (hostname, self.id))

    def _to(self, action, status):
        self.cloud.action(self.id, {action: None}, 202)
        wait("server %s %s" % (self.id, status),
             lambda: (self.poll() or {}).get("status") == status, self.opts.action_timeout,
             self.opts.query_interval)

    def shutdown(self):
        self._to("os-stop", "SHUTOFF")

    def start(self):
        self._to("os-start", "ACTIVE")

    def delete(self):
        if self.id is None:
            raise Skip("no server was created")
        self.cloud.compute("DELETE", "/servers/%s" % self.id, 204)

    def gone(self):
        if self.id is None:
            raise Skip("no server was created")
        if STOPPING.is_set():
            raise Skip("interrupted: the delete was sent, not waited for")

        def vanished():
            s = self.cloud.server(self.id)
            return s is None or s["status"] == "DELETED"
        wait("server %s gone" % self.id, vanished, self.opts.action_timeout,
             self.opts.query_interval)
        listed = ids(self.cloud.compute("GET", "/servers")["servers"])
        check(str(self.id) not in listed, "server %s still listed" % self.id)


def run_image(cloud, opts, results, run_id, image, flavor, keypair, log):
    g = Group(results, "image %s" % image["name"], log)
    r = ServerRun(cloud, opts, run_id, image, flavor, keypair, log)
    g.step("create", r.create)
    g.step("BUILD seen", r.build_seen)
    g.step("metadata set and read", r.metadata)
    g.step("ACTIVE", r.active)
    g.step("console (RFB 3.8, VNC auth)", r.console)
    g.step("one public IPv4", r.addresses)
    g.step("ping IPv4", r.ping, 4)
    g.step("ping IPv6", r.ping, 6)
    g.step("SSH with the key, hostname", r.ssh)
    g.step("SSH over IPv6", r.ssh, 6)
    g.step("shutdown", r.shutdown)
    g.step("start", r.start)
    g.step("delete", r.delete, always=True)
    g.step("gone", r.gone, always=True)


# -- two servers on a private network --------------------------------------------------

# Run on server A: is B's private address reachable? ping where the image has it, else
# B's SSH banner through bash's /dev/tcp (a Debian image has bash, not always ping).
REACH = ("for i in $(seq %(tries)d); do "
         "if command -v ping >/dev/null; then ping -c 1 -W 2 %(ip)s >/dev/null && exit 0; "
         "else timeout 3 bash -c 'exec 3<>/dev/tcp/%(ip)s/22 && head -c 4 <&3' 2>/dev/null "
         "| grep -q SSH- && exit 0; fi; sleep 1; done; exit 1")
# Run on each server: bring up the NIC with the port's MAC with the port's address
# (the private network has no DHCP server; its addresses come from the API).
CONFIGURE = ("for d in /sys/class/net/*; do [ \"$(cat $d/address)\" = %(mac)s ] && "
             "dev=${d##*/}; done; [ -n \"$dev\" ] || { echo no NIC with MAC %(mac)s; exit 1; }; "
             "ip link set \"$dev\" up && ip addr replace %(ip)s/%(plen)s dev \"$dev\"")


class PrivateRun:
    """Two servers of one image on a public network and a private network of this run:
    the private addresses come from the API, each server's private NIC is brought up
    with its address over SSH, and A must reach B over the private network."""

    def __init__(self, cloud, opts, run_id, image, flavor, keypair, log):
        self.cloud, self.opts, self.log = cloud, opts, log
        self.name = "%s%s private" % (PREFIX, run_id)
        self.net_id = None
        self.args = (cloud, opts, run_id, image, flavor, keypair, log)
        self.servers = []
        self.private = {}  # server id -> (ip, mac)

    def network(self):
        public = [n["id"] for n in self.cloud.network("GET", "/networks")["networks"]
                  if n.get("router:external")]
        check(public, "no public network to reach the servers through")
        net = self.cloud.network("POST", "/networks", 201,
                                 json={"network": {"name": self.name}})["network"]
        self.net_id = net["id"]
        self.cloud.network("POST", "/subnets", 201, json={"subnet": {
            "network_id": self.net_id, "ip_version": 4, "cidr": self.opts.private_cidr,
            "name": self.name}})
        wait("network %s ACTIVE" % self.net_id,
             lambda: self.cloud.network("GET", "/networks/%s" % self.net_id)["network"]
             ["status"] == "ACTIVE", self.opts.action_timeout, self.opts.query_interval)
        for label in ("A", "B"):
            self.servers.append(ServerRun(*self.args, name="%s %s" % (self.name, label),
                                          networks=public[:1] + [self.net_id]))

    def create(self):
        for server in self.servers:
            server.create()
        for server in self.servers:
            server.active()

    def addresses(self):
        for server in self.servers:
            ports = self.cloud.ports_of(server.id)
            mine = [p for p in ports if str(p["network_id"]) == str(self.net_id)]
            check(len(mine) == 1, "server %s: %d ports on the private network"
                  % (server.id, len(mine)))
            v4 = [f["ip_address"] for f in mine[0]["fixed_ips"] if ":" not in f["ip_address"]]
            check(v4 and mine[0].get("mac_address"), "server %s: private port without an "
                  "IPv4 address or MAC: %s" % (server.id, mine[0]))
            self.private[server.id] = (v4[0], mine[0]["mac_address"].lower())
            public = [f["ip_address"] for p in ports if p not in mine
                      for f in p["fixed_ips"] if ":" not in f["ip_address"]]
            check(len(public) == 1, "server %s: public IPv4 %s" % (server.id, public))
            server.ipv4 = public[0]

    def configure(self):
        plen = self.opts.private_cidr.rsplit("/", 1)[1]
        for server in self.servers:
            ip, mac = self.private[server.id]
            status, out = server.run_command(CONFIGURE % {"mac": mac, "ip": ip, "plen": plen})
            check(status == 0, "server %s: private NIC not configured: %s"
                  % (server.id, out.strip()[-300:]))

    def reach(self):
        a, b = self.servers
        ip = self.private[b.id][0]
        tries = max(1, int(self.opts.action_timeout) // 4)  # an attempt takes 1-4 s
        status, out = a.run_command(REACH % {"ip": ip, "tries": tries})
        check(status == 0, "server %s did not reach %s (server %s) over the private network"
              % (a.id, ip, b.id))

    def delete(self):
        made = [s for s in self.servers if s.id is not None]
        if not made and self.net_id is None:
            raise Skip("nothing was created")
        if STOPPING.is_set():   # an interrupted run still deletes what it made
            for server in made:
                server.delete()
            raise Skip("interrupted: the deletes were sent, not waited for")
        for server in made:
            server.delete()
        for server in made:
            server.gone()
        if self.net_id is not None:
            # ports go with their servers' removal; until then the network is in use (409)
            wait("network %s deleted" % self.net_id,
                 lambda: self.cloud.request(
                     "DELETE", "%s/v2.0/networks/%s" % (self.cloud.endpoint("network"),
                                                         self.net_id),
                     (204, 404, 409)).status_code in (204, 404),
                 self.opts.action_timeout, self.opts.query_interval)


def run_private(cloud, opts, results, run_id, image, flavor, keypair, log):
    g = Group(results, "private network", log)
    r = PrivateRun(cloud, opts, run_id, image, flavor, keypair, log)
    if opts.no_private_network:
        g.broken = "--no-private-network"   # every step skipped, naming the option
    g.step("network and subnet", r.network)
    g.step("two servers on it ACTIVE", r.create)
    g.step("private addresses", r.addresses)
    g.step("private NICs up (over SSH)", r.configure)
    g.step("A reaches B over the private network", r.reach)
    g.step("servers and network deleted", r.delete, always=True)


def pick_flavor(flavors, image, forced):
    if forced:
        match = [f for f in flavors if str(f["id"]) == str(forced) or f["name"] == forced]
        check(match, "flavor %s does not exist" % forced)
        return match[0]
    fit = [f for f in flavors if f["disk"] >= (image.get("minDisk") or 0)
           and f["ram"] >= (image.get("minRam") or 0)]
    check(fit, "no flavor fits image %s" % image["name"])
    return min(fit, key=lambda f: (f["ram"], f["vcpus"], f["disk"]))


def make_keypair(cloud, run_id):
    """A new Ed25519 key of ours (what OpenSSH prefers); its public half uploaded as
    keypair snf-burnin-<run>."""
    private = ed25519.Ed25519PrivateKey.generate()
    text = private.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.OpenSSH,
                                 serialization.NoEncryption()).decode()
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(text))
    name = PREFIX + run_id
    cloud.compute("POST", "/os-keypairs", (200, 201), json={"keypair": {
        "name": name, "public_key": "%s %s" % (key.get_name(), key.get_base64())}})
    return name, key


def stale(cloud):
    return [s for s in cloud.compute("GET", "/servers")["servers"]
            if s["name"].startswith(PREFIX)]


def run(cloud, opts, results, log):
    run_id = opts.run_id or time.strftime("%Y%m%d%H%M%S", time.gmtime())
    sanity = Group(results, "sanity", log)
    sanity.step("unauthorized request gets 401", unauthorized, cloud)
    images = sanity.step("images: list, detail, names, OS", images_sane, cloud)
    flavors = sanity.step("flavors: list, detail, names", flavors_sane, cloud)
    sanity.step("servers: list, detail", servers_sane, cloud)
    sanity.step("networks: list", networks_sane, cloud)
    if not images or not flavors:
        results.add("image servers", "per-image sequence", SKIPPED, 0,
                    "not run: %s failed" % sanity.broken)
        return
    if opts.image_id != "all":
        images = [i for i in images if str(i["id"]) in opts.image_id.split(",")
                  or i["name"] in opts.image_id.split(",")]
        if not images:
            results.add("sanity", "images to test", FAILED, 0,
                        "no image matches --image-id %s" % opts.image_id)
            return
    keypair = sanity.step("keypair upload", make_keypair, cloud, run_id)
    if not keypair:
        keypair = (None, None)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.fanout)) as pool:
            futures = []
            for image in images:
                try:
                    flavor = pick_flavor(flavors, image, opts.flavor)
                except StepFailed as e:
                    results.add("image %s" % image["name"], "flavor", FAILED, 0, str(e))
                    continue
                futures.append(pool.submit(run_image, cloud, opts, results, run_id, image,
                                           flavor, keypair, log))
            for f in futures:
                f.result()
        # after the images' servers, so that at most --fanout servers (or two) run at once
        first = images[0]
        try:
            flavor = pick_flavor(flavors, first, opts.flavor)
        except StepFailed as e:
            results.add("private network", "flavor", FAILED, 0, str(e))
        else:
            run_private(cloud, opts, results, run_id, first, flavor, keypair, log)
    finally:
        if keypair[0]:
            try:
                cloud.compute("DELETE", "/os-keypairs/%s" % keypair[0], (202, 204))
            except ApiError as e:
                log("warning: keypair %s not deleted: %s" % (keypair[0], e))

