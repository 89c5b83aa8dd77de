"""What the SIGTERM tests of the daemons share (the dispatcher's, eventd's, the progress
monitor's, nfdhcpd's): loopback ports of the test's own that refuse or stall, and "send
SIGTERM, then the process must be gone".

STOP_BOUND is a liveness bound, not a performance threshold: a daemon that honours
SIGTERM exits in well under a second or two here (it waits for nothing but itself);
one that missed the signal never exits at all.
"""

import os
import signal
import socket
import subprocess
import threading
import time

STOP_BOUND = 10


class StallingPort:
    """A loopback port that accepts TCP connections and never sends a byte: a broker
    (or anything) that hangs after accept. Use as a context manager."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.accepted = []
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self.server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self._closed = True
        self._thread.join()
        self.server.close()
        for conn in self.accepted:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RefusingPort:
    """A loopback port bound by us but not listening: every connection is refused, and
    no other program can take the port meanwhile. Use as a context manager."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def amqp_url(port):
    return "amqp://guest:guest@127.0.0.1:%d/" % port


def group_members(pgid):
    """Pids of the live processes of process group ``pgid`` (zombies do not count: an
    orphan's exit status may wait for an init that never collects it)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(name))
    return pids


def stop(proc, logs=lambda: "", group=False, signum=signal.SIGTERM):
    """Send ``signum`` to ``proc`` (a Popen started with start_new_session=True when
    ``group``), require it to exit within STOP_BOUND s, and with ``group`` every other
    process of its group too (a daemon's workers). Returns proc's exit status; on a
    failure everything is SIGKILLed and the AssertionError carries ``logs()``."""
    proc.send_signal(signum)
    try:
        code = proc.wait(STOP_BOUND)
    except subprocess.TimeoutExpired:
        _kill(proc, group)
        raise AssertionError("pid %d still running %d s after signal %d\n%s"
                             % (proc.pid, STOP_BOUND, signum, logs()))
    deadline = time.monotonic() + STOP_BOUND
    while group and group_members(proc.pid):
        if time.monotonic() > deadline:
            _kill(proc, group)
            raise AssertionError("processes %s of group %d still running %d s after signal "
                                 "%d\n%s" % (group_members(proc.pid), proc.pid, STOP_BOUND,
                                              signum, logs()))
        time.sleep(0.05)
    return code


def pid_gone(pid):
    """True once ``pid`` has exited (a zombie counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def live_pid(path):
    """The pid in pid file ``path`` if that process runs, else None."""
    try:
        with open(path) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return None if pid_gone(pid) else pid


def detached_pid(launcher, pid_file, logs=lambda: "", timeout=60):
    """The pid of a daemon that ``launcher`` (its Popen) started and that detached:
    the launcher must exit 0 and the pid file name a live process."""
    assert launcher.wait(timeout) == 0, logs()
    deadline = time.monotonic() + timeout
    while not live_pid(pid_file) and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = live_pid(pid_file)
    assert pid, "no live pid in %s\n%s" % (pid_file, logs())
    return pid


def stop_detached(pid, logs=lambda: "", signum=signal.SIGTERM):
    """stop() for a daemon that detached (not our child): ``pid`` and every other
    process of its process group (its workers) must be gone within STOP_BOUND s."""
    pgid = os.getpgid(pid)
    os.kill(pid, signum)
    deadline = time.monotonic() + STOP_BOUND
    while not pid_gone(pid) or group_members(pgid):
        if time.monotonic() > deadline:
            left = group_members(pgid) or [pid]
            for other in left:
                try:
                    os.kill(other, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            raise AssertionError("processes %s still running %d s after signal %d\n%s"
                                 % (left, STOP_BOUND, signum, logs()))
        time.sleep(0.05)


def _kill(proc, group):
    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass
    proc.wait()


def wait_for_text(path, text, proc, count=1, timeout=60):
    """Wait until ``path`` holds ``text`` ``count`` times (while ``proc`` runs)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path, errors="replace") as f:
                content = f.read()
        except FileNotFoundError:
            content = ""
        if content.count(text) >= count:
            return content
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("no %r (x%d) in %s (exit status %s):\n%s"
                                 % (text, count, path, proc.poll(), content[-3000:]))
        time.sleep(0.05)
