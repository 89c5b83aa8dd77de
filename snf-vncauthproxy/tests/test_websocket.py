"""vnc-ws and vnc-wss forwardings (what noVNC connects to), through the real daemon."""

import socket
import ssl
import subprocess

import pytest
from support.vncclient import AuthFailed, VNCClient, listening, recv_exactly


def test_websocket_forwarding_relays_rfb(proxyd, node):
    proxy = proxyd()
    port = proxy.forward(node.port, type="vnc-ws")
    client = VNCClient("127.0.0.1", port, "s3cret", websocket=True)
    assert "Sec-WebSocket-Protocol: binary" in client.sock.response
    assert client.init(set_format=False) == (4, 2, "fake-node")
    message = b"x" * 70000  # more than one 16-bit-length frame
    client.sock.sendall(message)
    assert recv_exactly(client.sock, len(message)) == message
    client.close()
    assert not listening(port)


def test_websocket_wrong_password(proxyd, node):
    proxy = proxyd()
    port = proxy.forward(node.port, type="vnc-ws")
    with pytest.raises(AuthFailed, match="Authentication failed"):
        VNCClient("127.0.0.1", port, "wrong", websocket=True)
    assert node.connections == 0


def test_plain_http_on_a_websocket_port_is_400(proxyd, node):
    proxy = proxyd()
    port = proxy.forward(node.port, type="vnc-ws")
    with socket.create_connection(("127.0.0.1", port), 30) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400")
    assert node.connections == 0


@pytest.fixture
def certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=120)
    return cert, key


def test_wss_needs_a_certificate(proxyd, node):
    reply = proxyd().request(source_port=0, destination_address="127.0.0.1",
                             destination_port=node.port, password="x", type="vnc-wss")
    assert reply["status"] == "FAILED" and "VNCAUTHPROXY_CERT_FILE" in reply["reason"]


def test_wss_forwarding(proxyd, node, certificate):
    cert, key = certificate
    proxy = proxyd(VNCAUTHPROXY_CERT_FILE=str(cert), VNCAUTHPROXY_KEY_FILE=str(key))
    port = proxy.forward(node.port, type="vnc-wss")
    tls = ssl.create_default_context(cafile=str(cert))
    client = VNCClient("127.0.0.1", port, "s3cret", websocket=True, tls=tls)
    assert client.init(set_format=False) == (4, 2, "fake-node")
    client.close()
