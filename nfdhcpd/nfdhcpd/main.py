"""nfdhcpd command line: nfdhcpd [-c FILE] [-f] [-d]."""
import argparse
import logging
import logging.handlers
import os
import pwd
import signal
import sys

import daemon

from .config import DEFAULT_CONFIG, ConfigError, load_config
from .privileges import drop_privileges
from .server import Server

log = logging.getLogger("nfdhcpd")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="nfdhcpd",
                                description="DHCP, IPv6 RA/NA and DHCPv6 responder for VM taps "
                                            "(packets arrive through NFQUEUE)")
    p.add_argument("-c", "--config", default=DEFAULT_CONFIG,
                   help="configuration file (default %(default)s)")
    p.add_argument("-f", "--foreground", action="store_true",
                   help="stay in the foreground and also log to stderr")
    p.add_argument("-d", "--debug", action="store_true", help="log every packet")
    return p.parse_args(argv)


def setup_logging(cfg, foreground, debug):
    root = logging.getLogger("nfdhcpd")
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handlers = []
    if cfg.logdir:
        os.makedirs(cfg.logdir, exist_ok=True)
        path = os.path.join(cfg.logdir, "nfdhcpd.log")
        fh = logging.handlers.WatchedFileHandler(path)
        fh.setFormatter(fmt)
        handlers.append(fh)
        # The daemon keeps writing (and logrotate reopening) after setuid.
        try:
            pw = pwd.getpwnam(cfg.user)
            os.chown(path, pw.pw_uid, pw.pw_gid)
        except (KeyError, OSError):
            pass
    if foreground:
        sh = logging.StreamHandler(sys.stderr)
        sh.setFormatter(fmt)
        handlers.append(sh)
    for h in handlers:
        root.addHandler(h)
    return handlers


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_pidfile(path):
    """Refuse to start if another nfdhcpd runs; remove a stale pid file."""
    try:
        with open(path) as f:
            pid = int(f.read().split()[0])
    except FileNotFoundError:
        return
    except (OSError, ValueError, IndexError):
        pid = None
    if pid and pid != os.getpid() and pid_alive(pid):
        raise RuntimeError("nfdhcpd is already running (pid %d, pid file %s)" % (pid, path))
    log.warning("removing stale pid file %s", path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_pidfile(path, user):
    piddir = os.path.dirname(path) or "."
    if not os.path.isdir(piddir):
        # A directory of our own (like /run/nfdhcpd) owned by the daemon's
        # user, so that it can remove its pid file after dropping root.
        os.makedirs(piddir, mode=0o755)
        try:
            pw = pwd.getpwnam(user)
            os.chown(piddir, pw.pw_uid, pw.pw_gid)
        except KeyError:
            pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write("%d\n" % os.getpid())


def remove_pidfile(path):
    try:
        with open(path) as f:
            if int(f.read().split()[0]) != os.getpid():
                return
        os.unlink(path)
    except (OSError, ValueError, IndexError):
        pass  # after setuid we may lack the rights; a stale file never blocks a start


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        sys.stderr.write("nfdhcpd: %s\n" % exc)
        return 2
    if os.path.isabs(cfg.datapath) is False:
        cfg.datapath = os.path.abspath(cfg.datapath)
    handlers = setup_logging(cfg, args.foreground, args.debug)
    server = Server(cfg)
    # From here on SIGTERM/SIGINT/SIGHUP only set flags; serve_forever() acts on them
    # (at once when a stop came during start-up, which never blocks).
    signals = {signal.SIGTERM: server.request_stop, signal.SIGINT: server.request_stop,
               signal.SIGHUP: server.request_reload}
    for signum, handler in signals.items():
        signal.signal(signum, handler)
    try:
        check_pidfile(cfg.pidfile)
        os.makedirs(cfg.datapath, mode=0o755, exist_ok=True)  # while still root
        server.open_queues()
    except (OSError, RuntimeError) as exc:
        log.error("cannot start: %s", exc)
        if not args.foreground:
            sys.stderr.write("nfdhcpd: cannot start: %s\n" % exc)
        server.close()
        return 1

    if not args.foreground:
        keep = [h.stream.fileno() for h in handlers if hasattr(h, "stream")]
        keep += list(server.queues)
        # Our handlers, not python-daemon's default (SIGTERM raising SystemExit wherever
        # the process is, which would skip the clean-up below).
        ctx = daemon.DaemonContext(files_preserve=keep, umask=0o022, working_directory="/",
                                   detach_process=True,
                                   signal_map={**signals, signal.SIGTSTP: None,
                                               signal.SIGTTIN: None, signal.SIGTTOU: None})
        ctx.open()
    try:
        write_pidfile(cfg.pidfile, cfg.user)
    except OSError as exc:
        log.error("cannot write pid file %s: %s", cfg.pidfile, exc)
        server.close()
        return 1
    try:
        drop_privileges(cfg.user)
        server.start_watching()
    except (OSError, RuntimeError) as exc:
        log.error("cannot start: %s", exc)
        server.close()
        remove_pidfile(cfg.pidfile)
        return 1

    log.info("nfdhcpd started (pid %d, user %s, state dir %s)", os.getpid(), cfg.user,
             cfg.datapath)
    try:
        server.serve_forever()
    except Exception:  # detached, stderr is /dev/null: the log is the only trace
        log.exception("nfdhcpd crashed")
        return 1
    finally:
        server.close()
        remove_pidfile(cfg.pidfile)
        log.info("nfdhcpd stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
