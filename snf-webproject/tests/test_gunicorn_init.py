"""debian's snf-gunicorn init script (this tree's copy) with Debian's gunicorn, on an
application that loads slowly or fails.

gunicorn detaches first and writes its pid file only after loading the application
(the shipped gunicorn.conf.py preloads it); on a busy machine that takes many seconds,
and a start that gave up after a fixed 10 s failed although gunicorn came up. Here a
stand-in synnefo.webproject.wsgi holds its import until the test opens a gate. The
script runs in a mount namespace of its own (a tmpfs over /run and /etc/default: its
pid file and defaults file), gunicorn listens on a unix socket under the test's tmp.
Root (unshare, mount): `make test` runs it.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

INIT = Path(__file__).resolve().parents[2] / "debian" / "snf-webproject.snf-gunicorn.init"

APP = """\
import os, time
open(os.environ["SNF_TEST_LOADING"], "w").close()
while os.path.exists(os.environ["SNF_TEST_GATE"]):  # the slow part of the load
    time.sleep(0.05)
if os.environ.get("SNF_TEST_BROKEN"):
    raise RuntimeError("a broken setting")


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\\n"]
"""

# In the namespace: the defaults file, then each action with its exit status.
SCRIPT = """\
mount -t tmpfs tmpfs /run && mkdir /run/synnefo && mount -t tmpfs tmpfs /etc/default || exit 9
printf 'SNF_GUNICORN_ENABLE=true\\nSNF_GUNICORN_USER=root\\nSNF_GUNICORN_CONFIG=%s\\n' \\
    "$CONFIG" > /etc/default/snf-gunicorn
for action in start status force-reload status stop status; do
    "$INIT" "$action" >/dev/null 2>&1
    echo "$action=$?"
    [ "$action" = start ] && touch "$STARTED"
done
"""


@pytest.fixture(autouse=True)
def no_gunicorn_left(tmp_path):
    """Whatever happened, no gunicorn of the test's config outlives it (a start that
    gave up leaves it running, outside the namespace's script)."""
    yield
    (tmp_path / "gate").unlink(missing_ok=True)
    config = str(tmp_path / "gunicorn.conf.py").encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                ours = config in f.read()
        except OSError:
            continue
        if ours:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


def run_init(tmp_path, broken=False):
    """Popen of the script's actions in a namespace; its stdout is 'action=status' lines.
    The application's import waits at the gate (tmp_path/gate) until the test removes it."""
    pkg = tmp_path / "app" / "synnefo" / "webproject"
    pkg.mkdir(parents=True)
    for init in (pkg.parent / "__init__.py", pkg / "__init__.py"):
        init.write_text("")
    (pkg / "wsgi.py").write_text(APP)
    (tmp_path / "gunicorn.conf.py").write_text(
        "bind = [%r]\nworkers = 1\npreload_app = True\npythonpath = %r\nerrorlog = %r\n"
        % ("unix:%s" % (tmp_path / "g.sock"), str(tmp_path / "app"),
           str(tmp_path / "error.log")))
    (tmp_path / "gate").write_text("")
    init = tmp_path / "snf-gunicorn"  # executable, as the package installs it
    init.write_text(INIT.read_text())
    init.chmod(0o755)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "INIT": str(init),
           "CONFIG": str(tmp_path / "gunicorn.conf.py"), "STARTED": str(tmp_path / "started"),
           "SNF_TEST_GATE": str(tmp_path / "gate"),
           "SNF_TEST_LOADING": str(tmp_path / "loading")}
    if broken:
        env["SNF_TEST_BROKEN"] = "1"
    return subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", SCRIPT],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def wait_for(path, proc):
    deadline = time.monotonic() + 120  # a bound for a broken build only
    while not path.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "no %s" % path
        time.sleep(0.05)


def results(proc):
    """[(action, exit status)] once the script is done."""
    out, _ = proc.communicate(timeout=600)
    return [tuple(line.split("=", 1)) for line in out.split()]


def test_a_start_waits_for_a_slow_application_load(tmp_path):
    proc = run_init(tmp_path)
    wait_for(tmp_path / "loading", proc)
    time.sleep(15)  # the slow load: longer than the 10 s the script once waited
    assert not (tmp_path / "started").exists(), "start returned while gunicorn loaded"
    (tmp_path / "gate").unlink()
    log = tmp_path / "error.log"
    assert results(proc) == [("start", "0"), ("status", "0"), ("force-reload", "0"),
                             ("status", "0"), ("stop", "0"), ("status", "3")], \
        log.read_text() if log.exists() else "no gunicorn log"


def test_a_start_fails_as_soon_as_gunicorn_exits(tmp_path):
    """An application that fails to load: the start fails when gunicorn exits (were it
    to wait for the pid file all the same, wait_for gave up first)."""
    proc = run_init(tmp_path, broken=True)
    wait_for(tmp_path / "loading", proc)
    (tmp_path / "gate").unlink()
    wait_for(tmp_path / "started", proc)
    assert results(proc)[:2] == [("start", "1"), ("status", "3")]
