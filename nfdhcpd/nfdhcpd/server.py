"""The daemon's core: queues + bindings + replies, in one select() loop.

Periodic router advertisements run in their own thread so a slow send never
delays DHCP answers.
"""
import ipaddress
import logging
import os
import select
import socket
import threading
import time

from . import inotify
from .binding import BindingError, load_binding
from .decision import TapInfo
from .eui64 import link_local
from .nfqueue import NF_ACCEPT, NFQueue
from .packets import HANDLERS, build_ra

log = logging.getLogger("nfdhcpd")

TAP_CACHE_SECONDS = 5.0

WATCH_MASK = (inotify.IN_CLOSE_WRITE | inotify.IN_MOVED_TO | inotify.IN_DELETE |
              inotify.IN_MOVED_FROM | inotify.IN_ONLYDIR)


def is_binding_name(name):
    """Temporary files of atomic writers (.x, x.tmp, x~) are not bindings."""
    return bool(name) and not name.startswith(".") and not name.endswith((".tmp", "~"))


def read_tap_mac(name):
    """The tap's MAC (sysfs), or None if the tap is gone."""
    try:
        with open("/sys/class/net/%s/address" % name) as f:
            return f.read().strip().lower()
    except OSError:
        return None


def read_link_local(name):
    """The tap's link-local address (procfs), or None."""
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                fields = line.split()
                if len(fields) == 6 and fields[5] == name and fields[3] == "20":
                    return ipaddress.IPv6Address(int(fields[0], 16))
    except OSError:
        pass
    return None


def read_tap_info(name):
    """The tap's MAC and link-local address, or None if the tap is gone."""
    mac = read_tap_mac(name)
    if mac is None:
        return None
    return TapInfo(name=name, mac=mac, ll=read_link_local(name))


def _mac_str(raw):
    if raw is None or len(raw) < 6:
        return None
    return raw[:6].hex(":")


class Server:
    def __init__(self, cfg):
        self.cfg = cfg
        self.bindings = {}
        self.lock = threading.Lock()
        self.queues = {}
        self.kinds = {}
        self.packet_socks = {}
        self.inotify = None
        self.stopping = threading.Event()
        self.ra_thread = None
        # Set by the signal handlers, acted on by serve_forever(). A handler runs in the
        # main thread between two bytecodes, maybe while that thread holds self.lock
        # or the Event's lock: taking a lock there would deadlock, so a plain flag.
        self.stop_requested = False
        self.reload_requested = False
        # ifindex -> (expiry, TapInfo without link-local): spares each DHCP packet an
        # if_indextoname() and a sysfs read. Emptied whenever a binding changes (the
        # ifup script rewrites it when a tap is recreated); the expiry bounds the rest.
        self.tap_cache = {}

    # -- bindings -------------------------------------------------------
    def load_binding_file(self, name):
        path = os.path.join(self.cfg.datapath, name)
        try:
            binding = load_binding(path, name)
        except FileNotFoundError:
            self.forget_binding(name)
            return
        except (OSError, BindingError, UnicodeError) as exc:
            log.error("ignoring binding file %s: %s", path, exc)
            self.forget_binding(name)
            return
        with self.lock:
            self.bindings[name] = binding
        self.tap_cache.clear()
        log.info("binding %s: MAC %s IP %s SUBNET %s GATEWAY %s SUBNET6 %s", name,
                 binding.mac, binding.ip, binding.subnet, binding.gateway, binding.subnet6)

    def forget_binding(self, name):
        with self.lock:
            gone = self.bindings.pop(name, None)
            sock = self.packet_socks.pop(name, None)
        self.tap_cache.clear()
        if sock is not None:
            sock.close()
        if gone is not None:
            log.info("binding %s removed", name)

    def load_all(self):
        for name in sorted(os.listdir(self.cfg.datapath)):
            if is_binding_name(name) and os.path.isfile(os.path.join(self.cfg.datapath, name)):
                self.load_binding_file(name)

    def on_inotify(self):
        for _wd, mask, _cookie, name in self.inotify.read():
            if mask & inotify.IN_Q_OVERFLOW:
                log.warning("inotify queue overflowed; rereading %s", self.cfg.datapath)
                with self.lock:
                    names = list(self.bindings)
                for n in names:
                    self.forget_binding(n)
                self.load_all()
            elif mask & (inotify.IN_DELETE_SELF | inotify.IN_IGNORED):
                log.error("state directory %s went away", self.cfg.datapath)
            elif not is_binding_name(name):
                continue
            elif mask & (inotify.IN_CLOSE_WRITE | inotify.IN_MOVED_TO):
                self.load_binding_file(name)
            elif mask & (inotify.IN_DELETE | inotify.IN_MOVED_FROM):
                self.forget_binding(name)

    # -- sending --------------------------------------------------------
    def send(self, tap, frame):
        data = bytes(frame)
        for attempt in (1, 2):
            with self.lock:
                sock = self.packet_socks.get(tap)
            if sock is None:
                sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                try:
                    sock.bind((tap, 0))
                except OSError:
                    sock.close()
                    raise
                with self.lock:
                    self.packet_socks[tap] = sock
            try:
                sock.send(data)
                return
            except OSError:
                # The tap may have been recreated under the same name: the
                # old socket points at a dead ifindex.  Reopen once.
                with self.lock:
                    self.packet_socks.pop(tap, None)
                sock.close()
                if attempt == 2:
                    raise

    # -- queued packets -------------------------------------------------
    def tap_of(self, ifindex):
        """The TapInfo (name, MAC; no link-local) of an interface index, or None."""
        now = time.monotonic()
        cached = self.tap_cache.get(ifindex)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            name = socket.if_indextoname(ifindex)
        except OSError:
            return None
        mac = read_tap_mac(name)
        tap = TapInfo(name=name, mac=mac) if mac is not None else None
        if tap is not None:
            self.tap_cache[ifindex] = (now + TAP_CACHE_SECONDS, tap)
        return tap

    def decide(self, kind, pkt):
        """Return (verdict, frame, tap name, log line) for one queued packet."""
        ifindex = pkt.ingress_ifindex
        tap = self.tap_of(ifindex) if ifindex else None
        name = tap.name if tap is not None else None
        with self.lock:
            binding = self.bindings.get(name) if name else None
        if binding is None:
            return NF_ACCEPT, None, name, None
        if kind != "dhcp":
            # IPv6 replies come from the link-local address, which may appear late (DAD)
            tap = TapInfo(name=name, mac=tap.mac, ll=read_link_local(name) or link_local(tap.mac))
        decision = HANDLERS[kind](pkt.payload, binding, self.cfg, tap, _mac_str(pkt.hwaddr))
        return decision.verdict, decision.frame, name, decision.log

    def handle(self, nfq, kind, pkt, lines):
        """Answer one packet; return its verdict (the caller sends verdicts in batches)
        and append its log line, if any, to ``lines`` as (verdict, line)."""
        verdict = NF_ACCEPT
        try:
            verdict, frame, tap, line = self.decide(kind, pkt)
            if line:
                lines.append((verdict, line))
            if frame is not None:
                self.send(tap, frame)
        except Exception as exc:
            # One bad packet must never take the daemon down.
            log.error("error handling %s packet on queue %d: %s: %s", kind, nfq.queue_num,
                      type(exc).__name__, exc)
        return verdict

    def handle_batch(self, nfq, kind, packets):
        """Answer the packets of one receive, give all their verdicts in one send, and
        only then log them: a log line costs as much as a reply, and no client waits
        for it."""
        lines = []
        verdicts = [(pkt.packet_id, self.handle(nfq, kind, pkt, lines)) for pkt in packets]
        try:
            nfq.verdicts(verdicts)
        except OSError as exc:
            log.error("cannot send verdicts on queue %d: %s", nfq.queue_num, exc)
        for verdict, line in lines:
            # Packets we answered or dropped are worth a line; ones we
            # pass on untouched only when debugging.
            log.log(logging.INFO if verdict != NF_ACCEPT else logging.DEBUG, "%s", line)

    # -- periodic RAs ---------------------------------------------------
    def send_periodic_ras(self):
        with self.lock:
            bindings = [b for b in self.bindings.values() if b.ipv6_enabled]
        for b in bindings:
            tap = read_tap_info(b.tap)
            if tap is None:
                continue
            if tap.ll is None:
                tap.ll = link_local(tap.mac)
            try:
                self.send(b.tap, build_ra(b, self.cfg, tap))
            except Exception as exc:
                log.warning("periodic RA on %s failed: %s", b.tap, exc)

    def _ra_loop(self):
        while not self.stopping.wait(self.cfg.ra_period):
            self.send_periodic_ras()

    # -- lifecycle ------------------------------------------------------
    def open_queues(self):
        """Bind the queues (needs CAP_NET_ADMIN; done before dropping root)."""
        for num, kind in self.cfg.queues.items():
            nfq = NFQueue(num)
            nfq.bind()
            self.queues[nfq.fileno()] = nfq
            self.kinds[nfq.fileno()] = kind
            log.info("listening on NFQUEUE %d for %s", num, kind)

    def start_watching(self):
        self.inotify = inotify.Inotify()
        self.inotify.add_watch(self.cfg.datapath, WATCH_MASK)
        self.load_all()

    def serve_forever(self):
        if self.cfg.enable_ipv6:
            self.ra_thread = threading.Thread(target=self._ra_loop, name="periodic-ra",
                                              daemon=True)
            self.ra_thread.start()
        fds = list(self.queues) + [self.inotify.fileno()]
        while not (self.stop_requested or self.stopping.is_set()):
            if self.reload_requested:
                self.reload_requested = False
                log.info("SIGHUP: rereading %s", self.cfg.datapath)
                self.load_all()
            ready = [fd for fd, q in self.queues.items() if q.has_pending]
            if not ready:
                try:
                    ready, _, _ = select.select(fds, [], [], 1.0)
                except InterruptedError:
                    continue
            for fd in ready:
                if fd == self.inotify.fileno():
                    self.on_inotify()
                    continue
                nfq = self.queues[fd]
                try:
                    packets = nfq.receive()
                except (OSError, ValueError) as exc:
                    log.error("bad netlink message on queue %d: %s", nfq.queue_num, exc)
                    continue
                if packets:
                    self.handle_batch(nfq, self.kinds[fd], packets)

    def stop(self):
        self.stopping.set()

    # signal handlers: flags only (see __init__)
    def request_stop(self, signum=None, frame=None):
        self.stop_requested = True

    def request_reload(self, signum=None, frame=None):
        self.reload_requested = True

    def close(self):
        self.stopping.set()
        for nfq in self.queues.values():
            nfq.close()
        self.queues.clear()
        for sock in self.packet_socks.values():
            sock.close()
        self.packet_socks.clear()
        if self.inotify is not None:
            self.inotify.close()
            self.inotify = None
