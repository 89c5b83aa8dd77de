"""Console forwardings: one request to snf-vncauthproxy per console the API hands out.

The proxy (on this APISERVER node) listens on its control socket (CONSOLE_PROXY_CONTROL,
the same place as its own VNCAUTHPROXY_CONTROL) and answers vncauthproxy's JSON protocol
with a one-shot port that takes one VNC client knowing ``password`` and relays it to the
node. Failures of the proxy are the service's (503), never the client's.
"""

import json
import logging
import secrets
import socket
import string
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from .errors import BackendUnavailable

log = logging.getLogger(__name__)

# VNC authentication uses the first 8 bytes of a password: 8 random letters and digits
# (about 47 bits) for a port that takes one attempt within seconds.
PASSWORD_LENGTH = 8
PASSWORD_ALPHABET = string.ascii_letters + string.digits
MAX_REPLY = 4096


def new_password():
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def _control_socket():
    spec = settings.CONSOLE_PROXY_CONTROL
    kind, _, rest = str(spec).partition(":")
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX)
        return sock, rest
    host, _, port = rest.rpartition(":")
    return socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET), \
        (host.strip("[]"), int(port))


def request_forwarding(host, port, password, kind="vnc"):
    """A one-shot proxy port to ``host``:``port`` for ``password``; BackendUnavailable
    (503) when the proxy cannot be reached or refuses."""
    request = {"source_port": 0, "destination_address": host, "destination_port": port,
               "password": password, "type": kind}
    if settings.CONSOLE_PROXY_AUTH:
        request["auth_user"], request["auth_password"] = settings.CONSOLE_PROXY_AUTH
    try:
        sock, address = _control_socket()
    except (ValueError, OSError) as exc:
        log.error("CONSOLE_PROXY_CONTROL %r: %s", settings.CONSOLE_PROXY_CONTROL, exc)
        raise _unavailable() from None
    reply = b""
    try:
        with sock:
            sock.settimeout(settings.CONSOLE_PROXY_TIMEOUT)
            sock.connect(address)
            sock.sendall(json.dumps(request).encode() + b"\n")
            while len(reply) < MAX_REPLY:
                chunk = sock.recv(MAX_REPLY)
                if not chunk:
                    break
                reply += chunk
                if b"\n" in reply:
                    break
        answer = json.loads(reply)
    except (OSError, ValueError) as exc:
        log.error("console proxy at %s: %s (reply %r)", settings.CONSOLE_PROXY_CONTROL, exc,
                  reply[:200])
        raise _unavailable() from None
    if not isinstance(answer, dict) or answer.get("status") != "OK" \
            or not isinstance(answer.get("source_port"), int):
        log.error("console proxy refused a forwarding to %s:%s: %s", host, port, answer)
        raise _unavailable()
    return answer["source_port"]


def _unavailable():
    return BackendUnavailable("The console proxy is not available right now; try again "
                              "later or ask the administrator.")


def public_host():
    """The host name clients connect to: CONSOLE_PROXY_HOST, else API_PUBLIC_BASE_URL's."""
    return settings.CONSOLE_PROXY_HOST or urlsplit(settings.API_PUBLIC_BASE_URL).hostname


def novnc_page():
    """The noVNC page of os-getVNCConsole URLs: CONSOLE_NOVNC_URL, else the API's."""
    return settings.CONSOLE_NOVNC_URL or settings.API_PUBLIC_BASE_URL.rstrip("/") \
        + "/novnc/vnc.html"


def websocket_tls():
    """Whether noVNC's forwardings are WebSockets over TLS: CONSOLE_WEBSOCKET_TLS, and
    when that is None, whether the noVNC page is https -- browsers refuse a ws:// socket
    from an https page (mixed content), so an https page needs the proxy's vnc-wss."""
    if settings.CONSOLE_WEBSOCKET_TLS is not None:
        return bool(settings.CONSOLE_WEBSOCKET_TLS)
    return urlsplit(novnc_page()).scheme == "https"


def websocket_type():
    """The proxy's forwarding type for noVNC: WebSocket, over TLS if so configured."""
    return "vnc-wss" if websocket_tls() else "vnc-ws"


def novnc_url(host, port, password):
    """The noVNC page set to connect at once to the WebSocket forwarding ``host``:``port``;
    the password is in the fragment, which browsers never send to a server, so it appears
    in no web server log."""
    params = {"host": host, "port": port, "path": "", "autoconnect": "true",
              "resize": "scale", "encrypt": "1" if websocket_tls() else "0",
              "password": password}
    return "%s#%s" % (novnc_page(), urlencode(params))
