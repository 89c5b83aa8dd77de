"""A small NFQUEUE binding over the stdlib netlink socket.

Debian has no packaged libnetfilter_queue binding, and the protocol is small:
nfnetlink messages (nlmsghdr + nfgenmsg + attributes) on a NETLINK_NETFILTER
socket.  Only what nfdhcpd needs is implemented: bind a queue in copy-packet
mode, receive packets, and send verdicts.

Byte order: the netlink headers (nlmsghdr, nlattr) are in host order; the
nfgenmsg resource id and every nfqueue attribute payload are big-endian.
"""
import errno
import os
import socket
import struct

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFNETLINK_V0 = 0

NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE = 1, 2, 3
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLA_TYPE_MASK = ~0xC000  # strip NLA_F_NESTED / NLA_F_NET_BYTEORDER

NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2

NFQNL_CFG_CMD_BIND, NFQNL_CFG_CMD_UNBIND = 1, 2
NFQNL_COPY_PACKET = 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQA_CFG_MASK, NFQA_CFG_FLAGS = 4, 5
NFQA_CFG_F_FAIL_OPEN = 0x1

NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_MARK = 1, 2, 3
NFQA_IFINDEX_INDEV, NFQA_IFINDEX_OUTDEV = 5, 6
NFQA_IFINDEX_PHYSINDEV, NFQA_IFINDEX_PHYSOUTDEV = 7, 8
NFQA_HWADDR, NFQA_PAYLOAD = 9, 10

NF_DROP, NF_ACCEPT = 0, 1

_NLMSGHDR = struct.Struct("=IHHII")
_NLATTR = struct.Struct("=HH")
_NFGENMSG = struct.Struct("!BBH")


class NetlinkError(OSError):
    """The kernel refused a request (carries the errno it returned)."""


def _align(n):
    return (n + 3) & ~3


def pack_attr(atype, payload):
    """One netlink attribute, padded to 4 bytes."""
    length = _NLATTR.size + len(payload)
    return _NLATTR.pack(length, atype) + payload + b"\0" * (_align(length) - length)


def iter_attrs(buf):
    """Yield (type, payload) for each attribute in buf; stops at a truncated one."""
    off = 0
    while off + _NLATTR.size <= len(buf):
        length, atype = _NLATTR.unpack_from(buf, off)
        if length < _NLATTR.size or off + length > len(buf):
            raise ValueError("truncated netlink attribute at offset %d" % off)
        yield atype & NLA_TYPE_MASK, bytes(buf[off + _NLATTR.size:off + length])
        off += _align(length)


def pack_nlmsg(msg_type, flags, seq, payload, pid=0):
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(payload), msg_type, flags, seq, pid) + payload


def iter_nlmsgs(buf):
    """Yield (type, flags, seq, pid, payload) for each message in a datagram."""
    off = 0
    while off + _NLMSGHDR.size <= len(buf):
        length, mtype, flags, seq, pid = _NLMSGHDR.unpack_from(buf, off)
        if length < _NLMSGHDR.size or off + length > len(buf):
            raise ValueError("truncated netlink message at offset %d" % off)
        yield mtype, flags, seq, pid, bytes(buf[off + _NLMSGHDR.size:off + length])
        off += _align(length)


def _queue_msg(msg, queue_num, flags, seq, attrs, family=socket.AF_UNSPEC):
    body = _NFGENMSG.pack(family, NFNETLINK_V0, queue_num) + b"".join(attrs)
    return pack_nlmsg((NFNL_SUBSYS_QUEUE << 8) | msg, flags, seq, body)


def config_cmd_msg(queue_num, cmd, seq, pf=socket.AF_UNSPEC):
    attr = pack_attr(NFQA_CFG_CMD, struct.pack("!BxH", cmd, pf))
    return _queue_msg(NFQNL_MSG_CONFIG, queue_num, NLM_F_REQUEST | NLM_F_ACK, seq, [attr])


def config_params_msg(queue_num, seq, copy_range=0xFFFF, fail_open=True):
    attrs = [pack_attr(NFQA_CFG_PARAMS, struct.pack("!IB", copy_range, NFQNL_COPY_PACKET))]
    if fail_open:
        # Better to let a DHCP packet through unanswered than to drop it when
        # the queue is full: the guest just retries.
        attrs.append(pack_attr(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN)))
        attrs.append(pack_attr(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN)))
    return _queue_msg(NFQNL_MSG_CONFIG, queue_num, NLM_F_REQUEST | NLM_F_ACK, seq, attrs)


def verdict_msg(queue_num, packet_id, verdict, seq=0):
    attr = pack_attr(NFQA_VERDICT_HDR, struct.pack("!II", verdict, packet_id))
    return _queue_msg(NFQNL_MSG_VERDICT, queue_num, NLM_F_REQUEST, seq, [attr])


class QueuedPacket:
    """One packet handed to userspace; payload starts at the network header."""

    __slots__ = ("queue_num", "packet_id", "hw_protocol", "hook", "indev", "outdev",
                 "physindev", "physoutdev", "hwaddr", "mark", "payload")

    def __init__(self, queue_num):
        self.queue_num = queue_num
        self.packet_id = None
        self.hw_protocol = self.hook = None
        self.indev = self.outdev = self.physindev = self.physoutdev = None
        self.hwaddr = None
        self.mark = 0
        self.payload = b""

    @property
    def ingress_ifindex(self):
        """The port the packet entered on: the tap even when it sits in a bridge."""
        return self.physindev or self.indev

    def __repr__(self):
        return "<QueuedPacket q=%s id=%s in=%s phys=%s len=%d>" % (
            self.queue_num, self.packet_id, self.indev, self.physindev, len(self.payload))


def parse_packet(body):
    """Decode the body (nfgenmsg + attributes) of an NFQNL_MSG_PACKET."""
    if len(body) < _NFGENMSG.size:
        raise ValueError("nfqueue message too short")
    _family, _version, queue_num = _NFGENMSG.unpack_from(body)
    pkt = QueuedPacket(queue_num)
    u32 = struct.Struct("!I")
    for atype, data in iter_attrs(body[_NFGENMSG.size:]):
        if atype == NFQA_PACKET_HDR and len(data) >= 7:
            pkt.packet_id, pkt.hw_protocol, pkt.hook = struct.unpack_from("!IHB", data)
        elif atype == NFQA_IFINDEX_INDEV and len(data) >= 4:
            pkt.indev = u32.unpack_from(data)[0]
        elif atype == NFQA_IFINDEX_OUTDEV and len(data) >= 4:
            pkt.outdev = u32.unpack_from(data)[0]
        elif atype == NFQA_IFINDEX_PHYSINDEV and len(data) >= 4:
            pkt.physindev = u32.unpack_from(data)[0]
        elif atype == NFQA_IFINDEX_PHYSOUTDEV and len(data) >= 4:
            pkt.physoutdev = u32.unpack_from(data)[0]
        elif atype == NFQA_MARK and len(data) >= 4:
            pkt.mark = u32.unpack_from(data)[0]
        elif atype == NFQA_HWADDR and len(data) >= 4:
            hwlen = struct.unpack_from("!H", data)[0]
            pkt.hwaddr = data[4:4 + min(hwlen, 8)]
        elif atype == NFQA_PAYLOAD:
            pkt.payload = data
    if pkt.packet_id is None:
        raise ValueError("nfqueue packet without a packet header")
    return pkt


def _check_ack(body, seq):
    """Raise NetlinkError if an NLMSG_ERROR body carries a non-zero error."""
    err = struct.unpack_from("=i", body)[0]
    if err:
        raise NetlinkError(-err, "%s (netlink request %d)" % (os.strerror(-err), seq))


class NFQueue:
    """One bound queue on its own netlink socket (select()able via fileno())."""

    RCVBUF = 4 * 1024 * 1024

    def __init__(self, queue_num):
        self.queue_num = queue_num
        self._seq = 0
        self._pending = []  # packets that arrived while we waited for an ack
        self._error = None  # a bad datagram met after others in one receive()
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.RCVBUF)
        except OSError:
            pass
        self.sock.bind((0, 0))

    def fileno(self):
        return self.sock.fileno()

    @property
    def has_pending(self):
        return bool(self._pending) or self._error is not None

    def _request(self, msg_builder):
        self._seq += 1
        seq = self._seq
        self.sock.send(msg_builder(seq))
        while True:
            data = self.sock.recv(65536)
            for mtype, _flags, rseq, _pid, body in iter_nlmsgs(data):
                if mtype == NLMSG_ERROR and rseq == seq:
                    _check_ack(body, seq)
                    return
                if mtype == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                    # Never lose a queued packet: it would wait for a verdict forever.
                    self._pending.append(parse_packet(body))

    def bind(self):
        try:
            self._request(lambda seq: config_cmd_msg(self.queue_num, NFQNL_CFG_CMD_BIND, seq))
        except NetlinkError as exc:
            # The kernel says EPERM (older ones EBUSY) when another socket owns the queue.
            if exc.errno in (errno.EBUSY, errno.EPERM):
                raise NetlinkError(exc.errno, "NFQUEUE %d is already bound by another process "
                                   "(or this one lacks CAP_NET_ADMIN)" % self.queue_num) from None
            raise
        self._request(lambda seq: config_params_msg(self.queue_num, seq))

    def unbind(self):
        try:
            self._request(lambda seq: config_cmd_msg(self.queue_num, NFQNL_CFG_CMD_UNBIND, seq))
        except OSError:
            pass

    BATCH = 64  # datagrams read per receive(): a boot storm is answered in batches

    def receive(self):
        """Read what is queued (up to BATCH datagrams, without blocking); return its
        packets (may be empty)."""
        if self._pending:
            packets, self._pending = self._pending, []
            return packets
        if self._error is not None:
            exc, self._error = self._error, None
            raise exc
        packets = []
        for _ in range(self.BATCH):
            try:
                data = self.sock.recv(262144, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    # The kernel dropped messages because we were slow; with
                    # fail-open those packets were accepted.  Keep going.
                    break
                raise
            try:
                packets += self._parse_datagram(data)
            except (OSError, ValueError) as exc:
                if not packets:
                    raise
                # The packets read before the bad datagram still need their verdicts:
                # return them now, report the error on the next call.
                self._error = exc
                break
        return packets

    @staticmethod
    def _parse_datagram(data):
        packets = []
        for mtype, _flags, seq, _pid, body in iter_nlmsgs(data):
            if mtype == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                packets.append(parse_packet(body))
            elif mtype == NLMSG_ERROR:
                _check_ack(body, seq)
        return packets

    def verdict(self, packet, verdict):
        self.sock.send(verdict_msg(self.queue_num, packet.packet_id, verdict))

    def verdicts(self, decided):
        """Send the verdicts for [(packet_id, verdict), ...] as one datagram (netlink
        takes several messages per send): one system call for a whole batch."""
        if decided:
            self.sock.send(b"".join(verdict_msg(self.queue_num, packet_id, verdict)
                                    for packet_id, verdict in decided))

    def close(self):
        self.unbind()
        self.sock.close()
