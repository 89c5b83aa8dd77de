"""Defaults of snf-vncauthproxy; conf/20-snf-vncauthproxy-proxy.conf documents them."""

# Control socket the API asks for forwardings on: "unix:/path" (access by file
# permissions) or "tcp:127.0.0.1:PORT" (requests must carry auth_user/auth_password
# found in VNCAUTHPROXY_USERS_FILE).
VNCAUTHPROXY_CONTROL = "unix:/run/synnefo/vncauthproxy.sock"
# Permission bits of the UNIX control socket (0660: the group of the daemon's user).
VNCAUTHPROXY_CONTROL_MODE = 0o660
# "user:SHA-512-crypt-hash" lines (openssl passwd -6); required with a tcp: control.
VNCAUTHPROXY_USERS_FILE = "/etc/synnefo/vncauthproxy-users"
# Addresses the one-shot forwarding ports listen on (IPv4 and IPv6 separately).
VNCAUTHPROXY_LISTEN_ADDRESSES = ["0.0.0.0", "::"]
# Inclusive range of the forwarding ports.
VNCAUTHPROXY_PORT_RANGE = (25000, 30000)
# Seconds a forwarding waits for its one client (and the client for its handshake).
VNCAUTHPROXY_CONNECT_TIMEOUT = 30
# Seconds to reach the node's VNC server (retried within that time).
VNCAUTHPROXY_BACKEND_TIMEOUT = 10
# Forwardings open at once (waiting or relaying); more requests are refused.
VNCAUTHPROXY_MAX_FORWARDINGS = 200
# (connections, seconds): at most that many client connections per source address
# within that many seconds; more are closed without using up a forwarding.
VNCAUTHPROXY_SOURCE_RATE = (20, 60)
# The daemon drops root privileges to this user and group after binding.
VNCAUTHPROXY_USER = "synnefo"
VNCAUTHPROXY_GROUP = "synnefo"
# Pid file of the daemon.
VNCAUTHPROXY_PID_FILE = "/run/synnefo/snf-vncauthproxy.pid"
# Certificate and key (PEM) of vnc-wss forwardings (None: vnc-wss is refused).
VNCAUTHPROXY_CERT_FILE = None
VNCAUTHPROXY_KEY_FILE = None
