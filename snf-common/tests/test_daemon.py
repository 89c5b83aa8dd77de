"""synnefo.common.daemon: pid files, logging."""

import os
import subprocess
import sys
import time

import pytest

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
