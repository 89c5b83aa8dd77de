"""snf-dispatcher: the logic daemon that applies Ganeti's events to the database.

A parent process starts --workers N children; each has its own broker and DB
connections and consumes every event queue. A child that dies is restarted; SIGTERM
to the parent stops the children.
"""

import argparse
import logging
import os
import signal
import sys
import time

NAME = "snf-dispatcher"
log = logging.getLogger(NAME)


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.webproject.settings")
    import django
    django.setup()


def _worker_main():
    from synnefo.dispatcher.consumer import Worker, use_persistent_db_connections
    use_persistent_db_connections()
    worker = Worker()

    def stop(signum, frame):
        worker.stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return worker.run()


class Supervisor:
    def __init__(self, workers):
        self.workers = workers
        self.children = {}
        self.stopping = False

    def _spawn(self):
        pid = os.fork()
        if pid == 0:
            # The parent's SIGTERM handler must not run in a child that has not installed
            # its own yet: it would swallow the signal and the child would never stop.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 1
            try:
                code = _worker_main()
            except BaseException:
                log.exception("dispatcher worker %d failed", os.getpid())
            finally:
                os._exit(code or 0)
        self.children[pid] = time.monotonic()
        log.info("started worker %d", pid)

    def run(self):
        for _ in range(self.workers):
            self._spawn()
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            started = self.children.pop(pid, None)
            if self.stopping:
                continue
            log.warning("worker %d exited (status %d); restarting", pid, status)
            if started is not None and time.monotonic() - started < 5:
                time.sleep(5)  # do not spin on a worker that dies at once
            self._spawn()
        return 0

    def stop(self):
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
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
    from synnefo.common import daemon
    from synnefo.common.settings import SettingsError
    try:
        _setup_django()
        from django.conf import settings
        workers = args.workers if args.workers is not None else settings.DISPATCHER_WORKERS
        log_dir = getattr(settings, "LOG_DIR", "/var/log/synnefo")
        pid_file = args.pid_file or settings.DISPATCHER_PID_FILE
    except SettingsError as exc:
        sys.stderr.write("%s: %s\n" % (NAME, exc))
        return 1
    if not 1 <= workers <= 64:
        sys.stderr.write("%s: --workers must be between 1 and 64, not %d\n" % (NAME, workers))
        return 1
    handler = daemon.setup_logging("dispatcher", debug=args.debug, log_dir=log_dir)
    from django.db import connections
    connections.close_all()  # children open their own
    supervisor = Supervisor(workers)
    return daemon.run(supervisor.run, NAME, pid_file, debug=args.debug, log_handler=handler,
                      on_term=supervisor.stop)


if __name__ == "__main__":
    sys.exit(main())
