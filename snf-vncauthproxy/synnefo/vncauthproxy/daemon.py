"""snf-vncauthproxy: one-shot, password-checked VNC forwardings for the API's consoles.

Started as root (by the init script or systemd): it opens its log and the control
socket, gives the socket to VNCAUTHPROXY_USER/GROUP, then drops to that user before
accepting anything. SIGHUP re-reads the users file and the certificate (forwardings
go on); SIGTERM closes the control socket and every listening port and exits.
"""

import argparse
import asyncio
import grp
import logging
import os
import pwd
import signal
import sys

from synnefo.common import daemon
from synnefo.common.settings import load_or_exit
from synnefo.vncauthproxy.proxy import ConfigError, Proxy
from synnefo.vncauthproxy.users import UsersFileError

NAME = "snf-vncauthproxy"
log = logging.getLogger(NAME)


def user_ids(user, group):
    """(uid, gid) of VNCAUTHPROXY_USER/GROUP (None: keep the starting user); KeyError
    names what is missing."""
    if not user:
        return None
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise KeyError("no user %r (VNCAUTHPROXY_USER)" % user) from None
    try:
        gid = grp.getgrnam(group).gr_gid if group else pw.pw_gid
    except KeyError:
        raise KeyError("no group %r (VNCAUTHPROXY_GROUP)" % group) from None
    return pw.pw_uid, gid


def drop_privileges(user, group, paths=()):
    """As root: give the files ``paths`` to user:group, then become that user. Else
    nothing."""
    ids = user_ids(user, group)
    if os.getuid() != 0 or ids is None:
        return
    uid, gid = ids
    for path in paths:
        if path and os.path.exists(path):
            os.chown(path, uid, gid)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    log.info("running as %s:%s", user, group or gid)


async def serve(proxy, settings, paths):
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    if proxy.control[0] == "unix":
        os.makedirs(os.path.dirname(proxy.control[1]), exist_ok=True)
    await proxy.start()
    control_path = proxy.control[1] if proxy.control[0] == "unix" else None
    drop_privileges(settings["VNCAUTHPROXY_USER"], settings["VNCAUTHPROXY_GROUP"],
                    list(paths) + [control_path])

    def reload():
        try:
            proxy.reload()
            log.info("reloaded the users file and certificate")
        except (UsersFileError, OSError, ValueError) as exc:
            log.error("reload failed, keeping the old configuration: %s", exc)

    loop.add_signal_handler(signal.SIGHUP, reload)
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    await stopping.wait()
    log.info("stopping: closing the control socket and %d forwardings",
             len(proxy.forwardings))
    await proxy.stop()
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog=NAME, description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--debug", action="store_true",
                        help="stay in the foreground and log to stderr")
    parser.add_argument("-p", "--pid-file", help="pid file (default: VNCAUTHPROXY_PID_FILE)")
    args = parser.parse_args(argv)
    settings = load_or_exit()
    try:
        proxy = Proxy(settings)
        user_ids(settings["VNCAUTHPROXY_USER"], settings["VNCAUTHPROXY_GROUP"])
    except (ConfigError, UsersFileError, OSError, ValueError, KeyError) as exc:
        sys.stderr.write("%s: %s\n" % (NAME, exc.args[0] if isinstance(exc, KeyError) else exc))
        return 1
    pid_file = args.pid_file or settings["VNCAUTHPROXY_PID_FILE"]
    log_dir = settings["LOG_DIR"]
    handler = daemon.setup_logging(NAME, debug=args.debug, log_dir=log_dir)
    # Files the unprivileged daemon must still write or remove: its log (reopened after
    # a rotation) and its pid file; their directories stay as they are.
    own = [pid_file] + ([] if args.debug else [os.path.join(log_dir, NAME + ".log")])
    return daemon.run(lambda: asyncio.run(serve(proxy, settings, own)),
                      NAME, pid_file, debug=args.debug, log_handler=handler)


if __name__ == "__main__":
    sys.exit(main())
