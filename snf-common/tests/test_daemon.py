"""synnefo.common.daemon: pid files, logging."""

import os
import subprocess
import sys

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
