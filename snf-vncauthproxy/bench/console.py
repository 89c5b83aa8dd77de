"""bench/console: relay throughput and added latency of snf-vncauthproxy against Debian's
websockify, on the same RFB stream, in one run. Prints figures, asserts nothing.

A fake node VNC server (security None) streams bulk data on request ("B" + u32 size)
and answers pings ("P" -> "p"). The same client (snf-vncauthproxy/tests/support/vncclient.py)
measures it directly, through the proxy's vnc forwarding (TCP, VNC authentication),
through its vnc-ws forwarding (WebSocket, what noVNC uses) and through websockify
(WebSocket, no authentication: websockify only relays). Everything on loopback.
"""

import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from support.proxyd import ProxyDaemon, free_tcp_port  # noqa: E402
from support.vncclient import VNCClient, recv_exactly  # noqa: E402

# amounts: set by bench/console
BULK = int(os.environ.get("BENCH_CONSOLE_BYTES", 256 * 1024 * 1024))
PINGS = int(os.environ.get("BENCH_CONSOLE_PINGS", 2000))
CHUNK = 64 * 1024


def node_server():
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)

    def serve(conn):
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sendall(b"RFB 003.008\n")
            recv_exactly(conn, 12)
            conn.sendall(b"\x01\x01")
            recv_exactly(conn, 1)
            conn.sendall(struct.pack("!I", 0))
            recv_exactly(conn, 1)
            conn.sendall(struct.pack("!HH", 720, 400) + bytes(16) + struct.pack("!I", 5)
                         + b"bench")
            block = bytes(CHUNK)
            while True:
                kind = conn.recv(1)
                if not kind:
                    return
                if kind == b"P":
                    conn.sendall(b"p")
                elif kind == b"B":
                    (size,) = struct.unpack("!I", recv_exactly(conn, 4))
                    while size:
                        n = min(size, CHUNK)
                        conn.sendall(block[:n])
                        size -= n

    def accept():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    return sock, sock.getsockname()[1]


def measure(client):
    client.init(set_format=False)
    s = client.sock
    if hasattr(s, "setsockopt"):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    else:
        s.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = []
    for _ in range(PINGS):
        t0 = time.perf_counter()
        s.sendall(b"P")
        recv_exactly(s, 1)
        rtts.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    s.sendall(b"B" + struct.pack("!I", BULK))
    got = 0
    while got < BULK:
        data = s.recv(min(BULK - got, 1 << 20))
        if not data:
            raise ConnectionError("closed after %d bytes" % got)
        got += len(data)
    seconds = time.perf_counter() - t0
    client.close()
    rtts.sort()
    return {"MB/s": BULK / seconds / 1e6, "p50": rtts[len(rtts) // 2] * 1e3,
            "p99": rtts[int(len(rtts) * 0.99)] * 1e3}


def main():
    node, node_port = node_server()
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    proxy = ProxyDaemon(tmp, VNCAUTHPROXY_SOURCE_RATE=(1000, 60)).start("-d")
    ws_port = free_tcp_port()
    websockify = subprocess.Popen(["websockify", "127.0.0.1:%d" % ws_port,
                                   "127.0.0.1:%d" % node_port],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", ws_port), 1).close()
                break
            except OSError:
                time.sleep(0.1)
        version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "websockify"],
                                 capture_output=True, text=True).stdout
        rows = [
            ("direct to the node (reference)",
             lambda: VNCClient("127.0.0.1", node_port, None)),
            ("snf-vncauthproxy, vnc (TCP)",
             lambda: VNCClient("127.0.0.1", proxy.forward(node_port), "s3cret")),
            ("snf-vncauthproxy, vnc-ws (WebSocket)",
             lambda: VNCClient("127.0.0.1", proxy.forward(node_port, type="vnc-ws"),
                               "s3cret", websocket=True)),
            ("websockify %s (WebSocket)" % version,
             lambda: VNCClient("127.0.0.1", ws_port, None, websocket=True)),
        ]
        print("bulk %d MiB, %d pings; load average %s" % (
            BULK >> 20, PINGS, " ".join(open("/proc/loadavg").read().split()[:3])))
        print("| path | MB/s | ping p50 | ping p99 |")
        print("|---|---:|---:|---:|")
        results = {}
        for name, connect in rows:
            r = results[name] = measure(connect())
            print("| %s | %.0f | %.3f ms | %.3f ms |" % (name, r["MB/s"], r["p50"], r["p99"]))
        ours, ref = results[rows[2][0]], results[rows[3][0]]
        print("SUMMARY|console vnc-ws, MB/s (ping p50)|%.0f (%.3f ms)|websockify %.0f (%.3f ms)|"
              "%.0f%%" % (ours["MB/s"], ours["p50"], ref["MB/s"], ref["p50"],
                          100 * ours["MB/s"] / ref["MB/s"]))
    finally:
        websockify.terminate()
        websockify.wait(30)
        proxy.stop()
        node.close()


if __name__ == "__main__":
    main()
