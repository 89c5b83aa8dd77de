"""A fake node VNC server for the tests: RFB 3.8, security type None (or a demand for
VNC authentication), a 4x2 ServerInit named "fake-node", then it echoes every byte."""

import socket
import struct
import threading


class FakeVNCServer:
    def __init__(self, security=1):
        self.security = security
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.client_inits = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            try:
                conn.sendall(b"RFB 003.008\n")
                if conn.recv(12) != b"RFB 003.008\n":
                    return
                conn.sendall(bytes([1, self.security]))
                if conn.recv(1) != bytes([self.security]) or self.security != 1:
                    return
                conn.sendall(struct.pack("!I", 0))
                if conn.recv(1) != b"\x01":
                    return
                with self.lock:
                    self.client_inits += 1
                conn.sendall(struct.pack("!HH", 4, 2) + bytes(16) + struct.pack("!I", 9)
                             + b"fake-node")
                while True:
                    data = conn.recv(65536)
                    if not data:
                        return
                    conn.sendall(data)
            except OSError:
                return

    def close(self):
        self.sock.close()
