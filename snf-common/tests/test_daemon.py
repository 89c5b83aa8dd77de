"""synnefo.common.daemon: pid files, logging."""

import os
import subprocess
import sys
import time

import pytest

import daemon_stop
from synnefo.common import daemon


def test_stale_pid_file_never_blocks(tmp_path):
    path = tmp_path / "d.pid"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path.write_text("%d\n" % dead.pid)
    lock = daemon.pid_lock(str(path))
    lock.acquire()
    assert daemon.read_pid(str(path)) == os.getpid()
    lock.release()
    assert not path.exists()


def test_garbage_pid_file_never_blocks(tmp_path):
    path = tmp_path / "d.pid"
    path.write_text("not a pid")
    lock = daemon.pid_lock(str(path))
    lock.acquire()
    assert daemon.read_pid(str(path)) == os.getpid()
    lock.release()
    assert not path.exists()


def test_live_pid_file_blocks_with_a_clear_message(tmp_path):
    path = tmp_path / "d.pid"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        path.write_text("%d\n" % live.pid)
        with pytest.raises(daemon.AlreadyRunning) as exc:
            daemon.pid_lock(str(path))
        assert str(live.pid) in str(exc.value)
    finally:
        live.kill()
        live.wait()


def test_logging_to_file(tmp_path):
    import logging
    handler = daemon.setup_logging("snf-test", log_dir=str(tmp_path))
    logging.getLogger("x").info("hello")
    handler.flush()
    assert "hello" in (tmp_path / "snf-test.log").read_text()
    logging.getLogger().removeHandler(handler)


CRASHING_DAEMON = """
import sys
from synnefo.common import daemon
handler = daemon.setup_logging("snf-crash", log_dir=sys.argv[1])
def main():
    raise RuntimeError("the daemon broke")
sys.exit(daemon.run(main, "snf-crash", sys.argv[2], log_handler=handler))
"""


def test_a_detached_daemon_that_crashes_leaves_its_traceback_in_its_log(tmp_path):
    """Detached, stderr is /dev/null: the log file is the only place a crash can go."""
    pid_file = tmp_path / "crash.pid"
    proc = subprocess.run([sys.executable, "-c", CRASHING_DAEMON, str(tmp_path),
                           str(pid_file)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stderr == ""  # the detaching parent
    log = tmp_path / "snf-crash.log"

    def crashed():
        text = log.read_text() if log.exists() else ""
        return "RuntimeError: the daemon broke" in text and not pid_file.exists()
    deadline = time.monotonic() + 30
    while not crashed() and time.monotonic() < deadline:
        time.sleep(0.1)
    text = log.read_text()
    assert "ERROR: snf-crash crashed" in text, text
    assert "Traceback (most recent call last)" in text and "in main" in text
    assert not pid_file.exists()  # the lock is released after a crash too


def test_tool_logging_one_line_on_stderr_traceback_in_the_file(tmp_path, capsys):
    import logging
    handler = daemon.setup_tool_logging("snf-tool", str(tmp_path))
    try:
        try:
            raise ValueError("bad input")
        except ValueError:
            logging.getLogger("snf-tool").exception("failed")
        logging.getLogger("snf-tool").info("only in the file")
        handler.flush()
    finally:
        for h in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(h)
    assert capsys.readouterr().err == "snf-tool: failed\n"
    text = (tmp_path / "snf-tool.log").read_text()
    assert "ValueError: bad input" in text and "only in the file" in text


def test_tool_logging_without_a_writable_log_dir_keeps_stderr(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    import logging
    try:
        assert daemon.setup_tool_logging("snf-tool", str(tmp_path / "file" / "log")) is None
        logging.getLogger("snf-tool").warning("still heard")
    finally:
        for h in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(h)
    err = capsys.readouterr().err
    assert "cannot write" in err and "snf-tool: still heard" in err

# -- stopping: SIGTERM ends a daemon wherever it waits, but never inside deferred() ------

DAEMON = r"""
import os, socket, sys, time
from synnefo.common import daemon
mode, pid_file, mark = sys.argv[1:4]
stop = daemon.StopRequest()

def main():
    if mode == "deferred":
        with stop.deferred():
            open(mark, "w").write("in")
            time.sleep(1.5)  # a signal here waits for the end of the block
            open(mark, "a").write(" done")
        time.sleep(60)
    else:
        with socket.create_server(("127.0.0.1", 0)) as server:  # nobody ever connects
            open(mark, "w").write("in")
            server.accept()
    return 3

sys.exit(daemon.run(main, "snf-test", pid_file, debug=mode != "detach", stop=stop))
"""


def _start(tmp_path, mode):
    pid_file, mark = str(tmp_path / "run" / "d.pid"), str(tmp_path / "mark")
    proc = subprocess.Popen([sys.executable, "-c", DAEMON, mode, pid_file, mark],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(lambda: os.path.exists(mark) and daemon.read_pid(pid_file), proc)
    return proc, pid_file, mark


def _wait(check, proc=None, timeout=60):  # a bound for a broken build, not a measure
    deadline = time.monotonic() + timeout
    while not check():
        assert proc is None or proc.poll() is None or proc.args[3] == "detach", \
            "exited early: %s" % proc.returncode
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("mode", ["blocked", "detach"])
def test_sigterm_interrupts_a_blocking_call(tmp_path, mode):
    import signal
    proc, pid_file, _ = _start(tmp_path, mode)
    pid = daemon.read_pid(pid_file)
    os.kill(pid, signal.SIGTERM)
    _wait(lambda: daemon_stop.pid_gone(pid))
    if mode != "detach":
        assert proc.wait(60) == 0  # Stop ends main with status 0, not main's 3
    assert not os.path.exists(pid_file)


def test_sigterm_inside_deferred_waits_for_the_end_of_the_block(tmp_path):
    import signal
    proc, pid_file, mark = _start(tmp_path, "deferred")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    assert open(mark).read() == "in done"
    assert not os.path.exists(pid_file)


def test_stop_request_outside_signals():
    stop = daemon.StopRequest()
    reached = False
    with pytest.raises(daemon.Stop):
        with stop.deferred():
            stop.handle()  # noted, not raised here...
            assert stop.requested
            reached = True
    assert reached  # ... but at the end of the block
    with pytest.raises(daemon.Stop):
        with stop.deferred():  # a block that would start after a request never runs
            raise AssertionError("ran")
    with pytest.raises(daemon.Stop):
        daemon.StopRequest().handle()
