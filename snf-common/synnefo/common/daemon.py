"""Helpers every Synnefo daemon shares: pid lock files, process names, logging, detaching,
stopping on SIGTERM/SIGINT.

A pid file left by a dead process never blocks a start (a known trap of the original:
stale lock files kept the dispatcher and nfdhcpd from starting). Logs go to a file
under LOG_DIR (reopened when logrotate moves it), or to stderr in --debug mode, and are
set up before detaching so nothing is written to a closed stdout.
"""

import contextlib
import logging
import logging.handlers
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import daemon
from daemon.pidfile import TimeoutPIDLockFile

try:
    import prctl  # python3-prctl is recommended, not required: names are cosmetic
except ImportError:
    prctl = None

log = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(name)s[%(process)d] %(levelname)s: %(message)s"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stop(BaseException):
    """Raised by StopRequest's handler to unwind a daemon from wherever it waits.

    A BaseException, so that the ``except Exception`` of a retry loop cannot swallow it.
    """


class StopRequest:
    """SIGTERM/SIGINT stop the process at once, or at the end of a critical section.

    A flag that the main loop polls is not enough: a daemon blocked connecting to a
    stalled broker, waiting for a confirm or for a database notices it only when that
    call times out, if it ever does. So the handler raises Stop wherever the main
    thread is (Python retries an interrupted system call only when the handler
    returns), except inside ``with stop.deferred():``, the work that must not be cut in
    half (apply a message, then acknowledge it): there the request is noted and Stop is
    raised when the block ends. ``requested`` tells a loop that a stop was asked for.
    """

    def __init__(self) -> None:
        self.requested = False
        self._deferring = 0

    def install(self) -> "StopRequest":
        for signum in STOP_SIGNALS:
            signal.signal(signum, self.handle)
        return self

    def handle(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        self.requested = True
        if not self._deferring:
            raise Stop(signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        if self.requested:
            raise Stop()
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if self.requested and not self._deferring:
            raise Stop()


@contextlib.contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """Hold SIGTERM/SIGINT back (they are delivered when the block ends): around a fork,
    so that a child never runs its parent's handler; around taking or releasing a pid
    file, so that a Stop never leaves it half done."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class AlreadyRunning(Exception):
    """Another live process holds the pid file."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def read_pid(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def pid_lock(path: str) -> Any:
    """A lockfile PIDLockFile for ``path``; a stale file (dead pid) is removed first."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    pid = read_pid(path)
    if pid and pid != os.getpid() and pid_alive(pid):
        raise AlreadyRunning("%s: process %d is running (pid file %s)"
                             % (os.path.basename(sys.argv[0]), pid, path))
    if os.path.exists(path):
        log.info("removing stale pid file %s (process %s is gone)", path, pid)
        os.unlink(path)
    return TimeoutPIDLockFile(path, acquire_timeout=0)


def set_process_name(name: str) -> None:
    """Name the process (ps, top) when python3-prctl is there; harmless otherwise."""
    if prctl is None:
        return
    try:
        prctl.set_name(name[:15])
        prctl.set_proctitle(" ".join([name] + sys.argv[1:]))
    except Exception:  # e.g. no room for the title: naming is cosmetic
        pass


def setup_logging(name: str, debug: bool = False, log_dir: str = "/var/log/synnefo",
                  level: int | None = None) -> logging.Handler:
    """Log to ``log_dir``/``name``.log, or to stderr when ``debug``; -> the handler."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    if debug:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    else:
        os.makedirs(log_dir, exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(os.path.join(log_dir, name + ".log"))
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level if level is not None else (logging.DEBUG if debug else logging.INFO))
    return handler


def logged_crash(main: Callable[[], int | None], name: str) -> Callable[[], int | None]:
    """``main`` whose exception is logged with its traceback (-> exit status 1): a
    detached daemon's stderr is /dev/null, so an unlogged crash would leave no trace."""
    def wrapper() -> int | None:
        try:
            return main()
        except Exception:
            log.exception("%s crashed", name)
            return 1
    return wrapper


class _OneLine(logging.Formatter):
    """``name: message`` without the traceback (that goes to the log file)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.prefix = name

    def format(self, record: logging.LogRecord) -> str:
        return "%s: %s" % (self.prefix, record.getMessage())


def setup_tool_logging(name: str, log_dir: str | None,
                       stderr_level: int = logging.WARNING) -> logging.Handler | None:
    """Logging of a short-lived tool Ganeti runs (the hook, the progress monitor).

    stderr, which Ganeti keeps with the job or OS log, gets one line per message of at
    least ``stderr_level``; ``log_dir``/``name``.log gets everything from INFO on, with
    tracebacks. ``log_dir`` None (settings not loaded) or unwritable: stderr only, with a
    note -- a tool must never fail Ganeti's operation over its log.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.INFO)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(_OneLine(name))
    stderr.setLevel(stderr_level)
    root.addHandler(stderr)
    if log_dir is None:
        return None
    try:
        os.makedirs(log_dir, exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(os.path.join(log_dir, name + ".log"))
    except OSError as exc:
        log.warning("cannot write %s: %s", os.path.join(log_dir, name + ".log"), exc)
        return None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    return handler


def run(main: Callable[[], int | None], name: str, pid_file: str | None, debug: bool = False,
        log_handler: logging.Handler | None = None, on_term: Callable[[], None] | None = None,
        stop: StopRequest | None = None) -> int:
    """Run ``main()`` as daemon ``name``: detached with a pid lock, or in the foreground.

    On SIGTERM/SIGINT ``on_term()`` is called when given (it must make ``main`` return
    soon, and must not block: it runs in a signal handler); otherwise ``stop`` (a
    StopRequest, a new one by default) raises Stop inside ``main``, which ends it with
    status 0. Before this installs its handler a signal kills the process (SIG_DFL),
    which is right during start-up: nothing is held yet. A crash of ``main`` is logged
    with its traceback.
    """
    main = logged_crash(main, name)
    set_process_name(name)
    try:
        lock = pid_lock(pid_file) if pid_file else None
    except AlreadyRunning as exc:
        sys.stderr.write("%s\n" % exc)
        return 1

    if on_term is not None:
        def terminate(signum: int, frame: FrameType | None) -> None:
            on_term()  # no logging here: the main code may be inside a write to the log
    else:
        terminate = (stop or StopRequest()).handle

    # Taking and releasing the pid file happen with the stop signals held back: a Stop
    # raised in the middle of either would leave the file behind.
    try:
        if debug:
            for signum in STOP_SIGNALS:
                signal.signal(signum, terminate)
            try:
                with stop_signals_blocked():
                    if lock is not None:
                        lock.acquire()
                return main() or 0
            finally:
                with stop_signals_blocked():
                    if lock is not None and lock.i_am_locking():
                        lock.release()

        keep = []
        stream = getattr(log_handler, "stream", None)
        if stream is not None:
            keep.append(stream)
        context = daemon.DaemonContext(pidfile=lock, files_preserve=keep, umask=0o022,
                                       signal_map={signal.SIGTERM: terminate,
                                                   signal.SIGINT: terminate,
                                                   signal.SIGTSTP: None,
                                                   signal.SIGTTIN: None,
                                                   signal.SIGTTOU: None})
        with stop_signals_blocked():  # detaches: only the daemon returns from here
            context.open()
        try:
            log.info("%s started (pid %d)", name, os.getpid())
            return main() or 0
        finally:
            with stop_signals_blocked():
                context.close()
    except Stop:
        log.info("%s: stopped by a signal", name)
        return 0
