"""Logs an administrator can find, on live processes started as the packages start them.

* gunicorn with the shipped /etc/synnefo/gunicorn.conf.py (contrib/gunicorn), --daemon as
  the snf-gunicorn init script runs it, and the default LOGGING: a real internal error
  (a table gone from under the running service) answers 500 with a request id, and
  gunicorn-error.log holds that id with the traceback.
* snf-dispatcher detached, as its init script runs it, with a worker that crashes: the
  traceback is in LOG_DIR/dispatcher.log and the supervisor restarts the worker.
* Both keep logging after the shipped logrotate file (debian/snf-common.logrotate, run by
  the real logrotate) rotated their files.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from support.live import REPO, free_port, live_settings, snf_manage, tail, wait_for

from synnefo.common.daemon import pid_alive, read_pid

pytestmark = pytest.mark.integration

GUNICORN_CONF = os.path.join(REPO, "contrib", "gunicorn", "gunicorn.conf.py")
LOGROTATE_CONF = os.path.join(REPO, "debian", "snf-common.logrotate")
LOGROTATE = "/usr/sbin/logrotate"


def stop_daemon(pid_file):
    """SIGTERM the daemon of ``pid_file`` and wait until it is gone."""
    pid = read_pid(pid_file)
    if pid is None or not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    try:
        wait_for("pid %d to stop" % pid, lambda: not pid_alive(pid))
    except AssertionError:
        os.kill(pid, signal.SIGKILL)
        raise


def logrotate(log_dir, tmp):
    """Force one rotation of ``log_dir`` with the shipped logrotate file."""
    assert os.access(LOGROTATE, os.X_OK), "logrotate is missing (ci/packages/base.txt)"
    with open(LOGROTATE_CONF) as f:
        conf = f.read()
    assert conf.startswith("/var/log/synnefo/*.log ")
    path = tmp / "logrotate.conf"
    path.write_text(conf.replace("/var/log/synnefo/", str(log_dir) + "/"))
    proc = subprocess.run([LOGROTATE, "--force", "--state", str(tmp / "logrotate.state"),
                           str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def internal_error(base, token):
    """GET the flavor list, which must now fail inside the service: (request id, body)."""
    request = urllib.request.Request(base + "/compute/v2.1/flavors",
                                     headers={"X-Auth-Token": token})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=30)
    assert exc.value.code == 500
    return exc.value.headers["X-Openstack-Request-Id"], exc.value.read().decode()


def logged_traceback(path, marker, detail):
    """The text of ``path`` from the line with ``marker`` on, once a traceback that
    mentions ``detail`` follows it; else None."""
    text = path.read_text() if path.exists() else ""
    if marker not in text:
        return None
    after = text[text.index(marker):]
    ok = "Traceback (most recent call last)" in after and detail in after
    return text if ok else None


def test_a_500_of_the_packaged_gunicorn_is_in_its_error_log_with_the_request_id(tmp_path):
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    env = live_settings(tmp_path)
    snf_manage(env, "migrate", "-v0")
    snf_manage(env, "user-create", "alice", "--password-stdin", stdin="alice-pw-1\n")
    token = snf_manage(env, "token-create", "alice").strip()
    error_log, pid_file = log_dir / "gunicorn-error.log", str(tmp_path / "gunicorn.pid")
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    # As /etc/init.d/snf-gunicorn starts it; only the paths and the port are the test's.
    proc = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", GUNICORN_CONF, "--pid", pid_file,
         "--daemon", "--bind", "127.0.0.1:%d" % port, "--workers", "1",
         "--access-logfile", str(log_dir / "gunicorn-access.log"),
         "--error-logfile", str(error_log), "synnefo.webproject.wsgi:application"],
        env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    try:
        def answers():
            try:
                return urllib.request.urlopen(base + "/", timeout=2).status == 200
            except OSError:
                return False
        wait_for("gunicorn to answer", answers, logs=lambda: tail(str(error_log)))
        # The failure: the flavor table vanishes under the running service.
        with sqlite3.connect(tmp_path / "db.sqlite3") as db:  # live_settings()' database
            db.execute("DROP TABLE db_flavor")

        request_id, body = internal_error(base, token)
        assert request_id.startswith("req-")
        assert request_id in json.loads(body)["computeFault"]["message"]
        assert "Traceback" not in body and "db_flavor" not in body
        text = wait_for("the 500 in %s" % error_log,
                        lambda: logged_traceback(error_log, request_id, "db_flavor"),
                        logs=lambda: tail(str(error_log)))
        assert "ERROR synnefo.api [%s]" % request_id in text

        # Rotation (copytruncate): the old entry moves to .1, the next one still lands
        # in gunicorn-error.log, from its start.
        logrotate(log_dir, tmp_path)
        assert request_id in (log_dir / "gunicorn-error.log.1").read_text()
        second_id, _ = internal_error(base, token)
        wait_for("the second 500 after the rotation",
                 lambda: logged_traceback(error_log, second_id, "db_flavor"),
                 logs=lambda: tail(str(error_log)))
        rotated = error_log.read_text()
        assert request_id not in rotated and not rotated.startswith("\0")
    finally:
        stop_daemon(pid_file)


# Fault injection in the real daemon process: the worker's main raises.
CRASHING_DISPATCHER = """
import sys
import synnefo.dispatcher.main as dispatcher
def crash(stop):
    raise RuntimeError("injected worker crash")
dispatcher._worker_main = crash
sys.exit(dispatcher.main(sys.argv[1:]))
"""


def test_a_crashing_dispatcher_worker_leaves_its_traceback_in_dispatcher_log(tmp_path):
    log_dir = tmp_path / "log"
    pid_file = str(tmp_path / "dispatcher.pid")
    env = live_settings(tmp_path, LOG_DIR=str(log_dir), DISPATCHER_PID_FILE=pid_file,
                        BACKEND_PREFIX_ID="snflogs%d-" % os.getpid())
    log = log_dir / "dispatcher.log"
    # Detached (no --debug), as /etc/init.d/snf-dispatcher starts it.
    proc = subprocess.run([sys.executable, "-c", CRASHING_DISPATCHER, "-w", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    try:
        text = wait_for("the worker's crash in %s" % log,
                        lambda: logged_traceback(log, "failed", "injected worker crash"),
                        logs=lambda: tail(str(log)))
        assert "ERROR: dispatcher worker" in text
        assert "RuntimeError: injected worker crash" in text
        parent = read_pid(pid_file)
        assert parent and pid_alive(parent)   # the supervisor survives its worker

        # After a rotation the restarted worker's crash is in the new dispatcher.log.
        logrotate(log_dir, tmp_path)
        assert "injected worker crash" in (log_dir / "dispatcher.log.1").read_text()
        wait_for("a crash of the restarted worker after the rotation",
                 lambda: logged_traceback(log, "restarting", "injected worker crash"),
                 logs=lambda: tail(str(log)))
    finally:
        stop_daemon(pid_file)
