"""The real snf-vncauthproxy daemon against a fake node VNC server (and our RFB client):
forwarding, passwords, one-shot ports, timeouts, limits, the control socket, restarts."""

import concurrent.futures
import os
import signal
import socket
import stat
import struct

import pytest
from support.fakevnc import FakeVNCServer
from support.proxyd import ProxyDaemon, free_tcp_port, wait_until
from support.vncclient import AuthFailed, VNCClient, listening, recv_exactly

from synnefo.vncauthproxy.users import hash_password


def drain(sock):
    """Read until the peer closes; True then (a timeout raises).

    A reset counts as closed: a killed peer that still had unread bytes from us
    makes the kernel answer with RST instead of FIN."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def login(port, password="s3cret"):
    return VNCClient("127.0.0.1", port, password)


def test_client_with_the_password_reaches_the_node(proxyd, node):
    proxy = proxyd()
    port = proxy.forward(node.port)
    client = login(port)
    assert client.server_version == b"RFB 003.008\n" and client.security_types == [2]
    assert client.init(set_format=False) == (4, 2, "fake-node")  # relayed ServerInit
    client.sock.sendall(b"hello through the proxy")
    assert recv_exactly(client.sock, 23) == b"hello through the proxy"
    client.close()
    assert node.connections == 1 and node.client_inits == 1


def test_wrong_password_gets_the_reason_and_never_reaches_the_node(proxyd, node):
    proxy = proxyd()
    port = proxy.forward(node.port)
    with pytest.raises(AuthFailed, match="Authentication failed"):
        login(port, "wrong")
    assert node.connections == 0
    assert not listening(port)  # the one attempt is used up


def test_port_takes_exactly_one_client(proxyd, node):
    proxy = proxyd()
    port = proxy.forward(node.port)
    client = login(port)
    client.init()
    assert not listening(port)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), 5)
    client.close()


def test_port_closes_when_no_client_comes(proxyd, node):
    proxy = proxyd(VNCAUTHPROXY_CONNECT_TIMEOUT=1)
    port = proxy.forward(node.port)
    assert listening(port)
    wait_until(lambda: not listening(port), "closed after the connect timeout")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), 5)


def test_silent_client_is_dropped_after_the_timeout(proxyd, node):
    proxy = proxyd(VNCAUTHPROXY_CONNECT_TIMEOUT=1)
    port = proxy.forward(node.port)
    with socket.create_connection(("127.0.0.1", port), 30) as s:
        assert recv_exactly(s, 12) == b"RFB 003.008\n"
        # say nothing: the proxy closes the connection
        assert s.recv(100) == b""
    assert node.connections == 0


def test_node_demanding_a_password_is_refused(proxyd):
    locked = FakeVNCServer(security=2)
    try:
        proxy = proxyd()
        client = login(proxy.forward(locked.port))
        # our side of the handshake succeeded; the proxy closes when the node refuses
        client.sock.sendall(b"\x01")
        assert client.sock.recv(100) == b""
    finally:
        locked.close()
    assert "not None" in proxy.log()


def test_fifty_concurrent_forwardings(proxyd, node):
    proxy = proxyd(VNCAUTHPROXY_SOURCE_RATE=(1000, 60))
    ports = [proxy.forward(node.port, password="pw%d" % i) for i in range(50)]
    assert len(set(ports)) == 50 and all(listening(p) for p in ports)

    def session(i):
        client = login(ports[i], "pw%d" % i)
        client.init(set_format=False)
        message = b"session %02d" % i
        client.sock.sendall(message)
        echoed = recv_exactly(client.sock, len(message))
        return client, echoed == message

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(session, range(50)))
    assert all(ok for _, ok in results)
    assert node.client_inits == 50  # all 50 relayed at the same time
    for client, _ in results:
        client.close()


def test_forwarding_limit(proxyd, node):
    proxy = proxyd(VNCAUTHPROXY_MAX_FORWARDINGS=3)
    for _ in range(3):
        proxy.forward(node.port)
    reply = proxy.request(source_port=0, destination_address="127.0.0.1",
                          destination_port=node.port, password="x")
    assert reply["status"] == "FAILED" and "too many forwardings" in reply["reason"]


def test_source_over_its_rate_does_not_use_up_the_forwarding(proxyd, node):
    proxy = proxyd(VNCAUTHPROXY_SOURCE_RATE=(2, 3600))
    for _ in range(2):
        login(proxy.forward(node.port)).close()
    port = proxy.forward(node.port)
    with socket.create_connection(("127.0.0.1", port), 30) as s:
        assert s.recv(12) == b""  # closed at once, no RFB banner
    assert listening(port)  # still waiting for its client
    assert "over the connection rate" in proxy.log()


def test_given_source_port_and_port_in_use(proxyd, node):
    proxy = proxyd()
    low, high = proxy.settings["VNCAUTHPROXY_PORT_RANGE"]
    port = proxy.forward(node.port, source_port=low + 7)
    assert port == low + 7
    reply = proxy.request(source_port=low + 7, destination_address="127.0.0.1",
                          destination_port=node.port, password="x")
    assert reply["status"] == "FAILED"
    reply = proxy.request(source_port=high + 1, destination_address="127.0.0.1",
                          destination_port=node.port, password="x")
    assert reply["status"] == "FAILED" and "source_port" in reply["reason"]


def test_unix_control_socket_mode(proxyd):
    proxy = proxyd()
    assert stat.S_IMODE(os.stat(proxy.control).st_mode) == 0o660
    proxy2 = proxyd(VNCAUTHPROXY_CONTROL_MODE=0o600)
    assert stat.S_IMODE(os.stat(proxy2.control).st_mode) == 0o600


@pytest.mark.parametrize("data,reason", [
    (b"this is not json\n", "malformed request"),
    (b"[1, 2]\n", "JSON object"),
    (b'{"destination_address": "h", "destination_port": 5900}\n', "password"),
    (b"", "malformed request"),
])
def test_malformed_requests_get_a_clear_status(proxyd, data, reason):
    reply = proxyd().raw(data)
    assert reply["status"] == "FAILED" and reason in reply["reason"]


def test_tcp_control_needs_a_user_of_the_users_file(proxyd, node, tmp_path):
    users = tmp_path / "users"
    users.write_text("# the API\napi:%s\n" % hash_password("apipass"))
    proxy = proxyd(VNCAUTHPROXY_CONTROL="tcp:127.0.0.1:%d" % free_tcp_port(),
                   VNCAUTHPROXY_USERS_FILE=str(users))
    base = {"destination_address": "127.0.0.1", "destination_port": node.port,
            "password": "s3cret", "source_port": 0}
    reply = proxy.request(**base)
    assert reply == {"status": "FAILED",
                     "reason": "authentication required (auth_user, auth_password)"}
    reply = proxy.request(auth_user="api", auth_password="nope", **base)
    assert reply == {"status": "FAILED", "reason": "authentication failed"}
    reply = proxy.request(auth_user="intruder", auth_password="apipass", **base)
    assert reply["status"] == "FAILED"
    reply = proxy.request(auth_user="api", auth_password="apipass", **base)
    assert reply["status"] == "OK"
    login(reply["source_port"]).init()
    # reload (SIGHUP) picks up a new user; forwardings are not disturbed
    users.write_text("api2:%s\n" % hash_password("second"))
    proxy.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "reloaded" in proxy.log(), "reloaded")
    assert proxy.request(auth_user="api2", auth_password="second", **base)["status"] == "OK"
    assert proxy.request(auth_user="api", auth_password="apipass", **base)["status"] == "FAILED"


def test_tcp_control_without_users_file_does_not_start(tmp_path):
    daemon = ProxyDaemon(tmp_path, VNCAUTHPROXY_CONTROL="tcp:127.0.0.1:%d" % free_tcp_port(),
                         VNCAUTHPROXY_USERS_FILE=str(tmp_path / "missing"))
    with pytest.raises(AssertionError, match="cannot read users file"):
        daemon.start("-d")


def test_killed_and_restarted_proxy_leaves_no_ports_bound(tmp_path, node):
    daemon = ProxyDaemon(tmp_path).start("-d")
    ports = [daemon.forward(node.port) for _ in range(5)]
    busy = login(ports[0])
    busy.init()
    assert all(listening(p) for p in ports[1:])
    daemon.stop(signal.SIGKILL)
    assert not any(listening(p) for p in ports)
    assert drain(busy.sock)  # the relayed client is cut off (after the echoes)
    # the stale control socket and pid file do not block a restart
    daemon.start("-d")
    try:
        assert not any(listening(p) for p in ports)
        port = daemon.forward(node.port, source_port=ports[1])  # the same port again
        login(port).init()
    finally:
        daemon.stop()
    assert not any(listening(p) for p in ports)
    assert not os.path.exists(daemon.control)  # a clean stop removes its socket


def test_sigterm_closes_every_listening_port(proxyd, node):
    proxy = proxyd()
    ports = [proxy.forward(node.port) for _ in range(3)]
    proxy.stop()
    assert proxy.proc.returncode == 0
    assert not any(listening(p) for p in ports)


@pytest.mark.integration  # needs real root (not fakeroot), as in `make test`
def test_drops_privileges_and_hands_over_the_socket(proxyd):
    proxy = proxyd(VNCAUTHPROXY_USER="nobody", VNCAUTHPROXY_GROUP="nogroup")
    wait_until(lambda: "running as nobody" in proxy.log(), "running as nobody")
    with open("/proc/%d/status" % proxy.proc.pid) as f:
        uids = [line.split()[1:] for line in f if line.startswith(("Uid:", "Gid:"))]
    import grp
    import pwd
    assert uids[0] == [str(pwd.getpwnam("nobody").pw_uid)] * 4
    assert uids[1] == [str(grp.getgrnam("nogroup").gr_gid)] * 4
    assert os.getuid() == 0, "run as root"
    for owned in (proxy.control, proxy.settings["VNCAUTHPROXY_PID_FILE"]):
        assert os.stat(owned).st_uid == pwd.getpwnam("nobody").pw_uid, owned


def test_3_3_client_is_answered_in_its_dialect(proxyd, node):
    proxy = proxyd()
    port = proxy.forward(node.port)
    from synnefo.vncauthproxy.rfb import vnc_response
    with socket.create_connection(("127.0.0.1", port), 30) as s:
        assert recv_exactly(s, 12) == b"RFB 003.008\n"
        s.sendall(b"RFB 003.003\n")
        assert struct.unpack("!I", recv_exactly(s, 4)) == (2,)
        s.sendall(vnc_response("s3cret", recv_exactly(s, 16)))
        assert struct.unpack("!I", recv_exactly(s, 4)) == (0,)
        s.sendall(b"\x01")
        assert recv_exactly(s, 4) == struct.pack("!HH", 4, 2)
