"""Netlink/nfqueue message encoding and decoding (no kernel involved)."""
import socket
import struct

import pytest

from nfdhcpd import nfqueue as nq


def attr(t, payload):
    return nq.pack_attr(t, payload)


def test_attr_padding_and_roundtrip():
    a = attr(7, b"abcde")
    assert len(a) == 12  # 4 header + 5 payload, padded to 12
    assert struct.unpack_from("=HH", a) == (9, 7)
    assert list(nq.iter_attrs(a + attr(3, b""))) == [(7, b"abcde"), (3, b"")]


def test_attr_flags_are_stripped():
    raw = struct.pack("=HH", 8, 0x8000 | 0x4000 | 5) + b"\0\0\0\x07"
    assert list(nq.iter_attrs(raw)) == [(5, b"\0\0\0\x07")]


def test_truncated_attr_raises():
    with pytest.raises(ValueError):
        list(nq.iter_attrs(struct.pack("=HH", 40, 1) + b"xx"))


def test_config_cmd_bind_message_layout():
    msg = nq.config_cmd_msg(42, nq.NFQNL_CFG_CMD_BIND, seq=7)
    length, mtype, flags, seq, pid = struct.unpack_from("=IHHII", msg)
    assert length == len(msg) == 16 + 4 + 8
    assert mtype == (3 << 8) | 2
    assert flags == nq.NLM_F_REQUEST | nq.NLM_F_ACK
    assert (seq, pid) == (7, 0)
    family, version, res_id = struct.unpack_from("!BBH", msg, 16)
    assert (family, version, res_id) == (socket.AF_UNSPEC, 0, 42)
    (t, payload), = nq.iter_attrs(msg[20:])
    assert t == nq.NFQA_CFG_CMD
    assert payload == bytes([1, 0, 0, 0])


def test_config_params_copy_packet_and_fail_open():
    msg = nq.config_params_msg(43, seq=1, copy_range=1500)
    attrs = dict(nq.iter_attrs(msg[20:]))
    assert attrs[nq.NFQA_CFG_PARAMS] == struct.pack("!IB", 1500, nq.NFQNL_COPY_PACKET)
    assert attrs[nq.NFQA_CFG_MASK] == attrs[nq.NFQA_CFG_FLAGS] == struct.pack("!I", 1)
    assert struct.unpack_from("!H", msg, 18)[0] == 43


def test_verdict_message():
    msg = nq.verdict_msg(44, packet_id=0x01020304, verdict=nq.NF_DROP)
    _l, mtype, flags, _s, _p = struct.unpack_from("=IHHII", msg)
    assert mtype == (3 << 8) | 1 and flags == nq.NLM_F_REQUEST
    (t, payload), = nq.iter_attrs(msg[20:])
    assert t == nq.NFQA_VERDICT_HDR
    assert payload == struct.pack("!II", 0, 0x01020304)


def packet_body(queue=42, pid=9, indev=3, physindev=None, hw=b"\xaa\0\0\x11\x22\x33",
                payload=b"\x45" + b"\0" * 19):
    body = struct.pack("!BBH", socket.AF_INET, 0, queue)
    body += attr(nq.NFQA_PACKET_HDR, struct.pack("!IHB", pid, 0x0800, 0))
    body += attr(nq.NFQA_IFINDEX_INDEV, struct.pack("!I", indev))
    if physindev:
        body += attr(nq.NFQA_IFINDEX_PHYSINDEV, struct.pack("!I", physindev))
    body += attr(nq.NFQA_HWADDR, struct.pack("!Hxx", len(hw)) + hw + b"\0\0")
    body += attr(nq.NFQA_PAYLOAD, payload)
    return body


def test_parse_packet():
    pkt = nq.parse_packet(packet_body())
    assert (pkt.queue_num, pkt.packet_id, pkt.hw_protocol, pkt.indev) == (42, 9, 0x0800, 3)
    assert pkt.ingress_ifindex == 3
    assert pkt.hwaddr == b"\xaa\0\0\x11\x22\x33"
    assert pkt.payload.startswith(b"\x45")


def test_physindev_wins_for_bridged_taps():
    pkt = nq.parse_packet(packet_body(indev=5, physindev=8))
    assert pkt.ingress_ifindex == 8


def test_packet_without_header_is_rejected():
    body = struct.pack("!BBH", 2, 0, 1) + attr(nq.NFQA_PAYLOAD, b"x")
    with pytest.raises(ValueError):
        nq.parse_packet(body)


def test_iter_nlmsgs_several_messages_in_one_datagram():
    m1 = nq.pack_nlmsg((3 << 8), 0, 1, packet_body(pid=1))
    m2 = nq.pack_nlmsg((3 << 8), 0, 2, packet_body(pid=2, payload=b"\x60" + b"\0" * 40))
    msgs = list(nq.iter_nlmsgs(m1 + m2))
    assert [nq.parse_packet(m[4]).packet_id for m in msgs] == [1, 2]


def test_error_ack_raises_with_errno():
    with pytest.raises(nq.NetlinkError) as exc:
        nq._check_ack(struct.pack("=i", -16) + b"\0" * 16, 3)
    assert exc.value.errno == 16
    nq._check_ack(struct.pack("=i", 0) + b"\0" * 16, 3)  # 0 = success


def test_truncated_nlmsg_raises():
    with pytest.raises(ValueError):
        list(nq.iter_nlmsgs(struct.pack("=IHHII", 100, 0, 0, 0, 0)))
