"""snf-dispatcher: the logic daemon that applies Ganeti's events to the database.

A parent process starts --workers N children; each has its own broker and DB
connections and consumes every event queue. A child that dies is restarted; SIGTERM
to the parent stops the children (SIGKILL for one still there DISPATCHER_STOP_TIMEOUT s
later: a worker stuck in a database call cannot keep the service from stopping), and the
parent exits once they are gone.
"""

import argparse
import logging
import os
import signal
import sys
import time

import django
from django.conf import settings
from django.db import connections

from synnefo.common import daemon
from synnefo.common.settings import SettingsError

try:
    import prctl  # optional (python3-prctl): without it a worker outlives a killed parent
except ImportError:
    prctl = None

NAME = "snf-dispatcher"
log = logging.getLogger(NAME)

# A dead worker is replaced this many seconds after its own start at the earliest (no
# spinning on a worker that fails at once).
RESTART_DELAY = 5


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.webproject.settings")
    django.setup()


def _worker_main(stop):
    # Imported after django.setup() (a true app-loading constraint): the consumer
    # imports the models through logic, which Django allows only once set up.
    from synnefo.dispatcher.consumer import Worker, use_persistent_db_connections
    use_persistent_db_connections()
    return Worker(stop=stop).run()


def _die_with_parent(parent):
    """A worker whose supervisor was killed (SIGKILL) gets SIGTERM instead of living on."""
    if prctl is None:
        return
    try:
        prctl.set_pdeathsig(signal.SIGTERM)
    except (AttributeError, OSError):
        return
    if os.getppid() != parent:  # it died before we asked
        raise daemon.Stop()


class Supervisor:
    """Starts the workers, restarts one that dies, stops them all on stop().

    stop() runs in the SIGTERM handler, so at any point of run(): every fork happens
    with the stop signals blocked, after a last look at ``stopping``, and the child is
    recorded before they are delivered again; so stop() sees every child there is, and
    no child is started after it.
    """

    def __init__(self, workers, stop_timeout=20):
        self.workers = workers
        self.stop_timeout = stop_timeout
        self.children = {}  # pid -> monotonic start time
        self.stopping = False
        self.kill_at = None

    def _spawn(self):
        with daemon.stop_signals_blocked():
            if self.stopping:
                return
            parent = os.getpid()
            pid = os.fork()
            if pid == 0:
                self._child(parent)  # never returns
            self.children[pid] = time.monotonic()
        log.info("started worker %d", pid)

    @staticmethod
    def _child(parent):
        # Still with the signals blocked: the parent's handler must never run here.
        stop = daemon.StopRequest().install()
        code = 1
        try:
            _die_with_parent(parent)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, daemon.STOP_SIGNALS)
            code = _worker_main(stop)
        except daemon.Stop:
            code = 0
        except BaseException:
            log.exception("dispatcher worker %d failed", os.getpid())
        finally:
            os._exit(code or 0)

    def run(self):
        for _ in range(self.workers):
            self._spawn()
        due = []  # when each dead worker's replacement may start
        while self.children or (due and not self.stopping):
            pid, status = os.waitpid(-1, os.WNOHANG) if self.children else (0, 0)
            if pid == 0:
                self._idle(due)
                continue
            started = self.children.pop(pid, None)
            if started is None or self.stopping:
                continue
            log.warning("worker %d exited (status %d); restarting", pid, status)
            due.append(started + RESTART_DELAY)
        return 0

    def _idle(self, due):
        """Nothing exited: start the replacements that are due, or SIGKILL the workers
        that outlived the stop timeout; then wait a little."""
        now = time.monotonic()
        for when in [w for w in due if w <= now]:
            due.remove(when)
            self._spawn()  # does nothing once stopping
        if self.stopping and now >= self.kill_at:
            for pid in list(self.children):
                log.error("worker %d still running %s s after SIGTERM: SIGKILL",
                          pid, self.stop_timeout)
                self._kill(pid, signal.SIGKILL)
            self.kill_at = now + self.stop_timeout
        time.sleep(0.25)

    def stop(self):
        if not self.stopping:
            self.stopping = True
            self.kill_at = time.monotonic() + self.stop_timeout
        for pid in list(self.children):
            self._kill(pid, signal.SIGTERM)

    @staticmethod
    def _kill(pid, signum):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def main(argv=None):
    parser = argparse.ArgumentParser(prog=NAME, description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--debug", action="store_true",
                        help="stay in the foreground and log to stderr")
    parser.add_argument("-w", "--workers", type=int, default=None,
                        help="worker processes (default: DISPATCHER_WORKERS)")
    parser.add_argument("-p", "--pid-file", help="pid file (default: DISPATCHER_PID_FILE)")
    args = parser.parse_args(argv)
    try:
        _setup_django()
        workers = args.workers if args.workers is not None else settings.DISPATCHER_WORKERS
        log_dir = settings.LOG_DIR
        pid_file = args.pid_file or settings.DISPATCHER_PID_FILE
        stop_timeout = settings.DISPATCHER_STOP_TIMEOUT
    except SettingsError as exc:
        sys.stderr.write("%s: %s\n" % (NAME, exc))
        return 1
    if not 1 <= workers <= 64:
        sys.stderr.write("%s: --workers must be between 1 and 64, not %d\n" % (NAME, workers))
        return 1
    handler = daemon.setup_logging("dispatcher", debug=args.debug, log_dir=log_dir)
    connections.close_all()  # children open their own
    supervisor = Supervisor(workers, stop_timeout)
    return daemon.run(supervisor.run, NAME, pid_file, debug=args.debug, log_handler=handler,
                      on_term=supervisor.stop)


if __name__ == "__main__":
    sys.exit(main())
