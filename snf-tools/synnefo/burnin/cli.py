"""snf-burnin: command line, credentials, reports, exit status.

SIGINT/SIGTERM end the run early: waits stop, the servers made so far are deleted, the
reports are written, exit status 1.

Exit status: 0 when no step failed (skipped steps are named in the reports), 1 when
one did, 2 when the run could not start (bad options, no credentials, login refused)."""

import argparse
import os
import signal
import sys
import time

from synnefo.burnin import runner
from synnefo.burnin.client import ApiError, AuthError, Cloud, load_cloud
from synnefo.burnin.report import FAILED, Results


def add_credential_options(parser, whose="a user's"):
    """The options ``connect`` reads (snf-admin takes the same)."""
    a = parser.add_argument
    a("--os-cloud", default=os.environ.get("OS_CLOUD"),
      help="cloud of clouds.yaml to use (as the openstack CLI; default $OS_CLOUD)")
    a("--clouds-yaml", help="clouds.yaml file (default: where the openstack CLI looks)")
    a("--auth-url", default=os.environ.get("OS_AUTH_URL"),
      help="identity v3 URL, e.g. https://cloud.example.org/identity/v3")
    a("--token", default=os.environ.get("OS_TOKEN"), help="%s token (default $OS_TOKEN)" % whose)


def parse(argv):
    p = argparse.ArgumentParser(prog="snf-burnin", description=(
        "Self-test of a Synnefo asterias deployment through its public APIs: creates a "
        "server per image and checks it through its whole life."))
    add_credential_options(p)
    a = p.add_argument
    a("--image-id", default="all", help="image ids or names, comma-separated, or 'all'")
    a("--flavor", help="flavor id or name (default: the smallest that fits each image)")
    a("--fanout", type=int, default=1, help="images tested in parallel (default 1)")
    a("--build-timeout", type=int, default=600, help="seconds for BUILD to end (600)")
    a("--build-warning", type=int, default=300, help="warn if a build takes longer (300)")
    a("--action-timeout", type=int, default=300,
      help="seconds for shutdown, start, delete, ping, console (300)")
    a("--ssh-timeout", type=int, default=300, help="seconds for SSH to answer (300)")
    a("--ssh-user", default="root", help="user the keypair is injected for (root)")
    a("--query-interval", type=float, default=3, help="seconds between polls (3)")
    a("--no-ping", action="store_true", help="skip the ping steps (ICMP filtered)")
    a("--no-private-network", action="store_true",
      help="skip the two-server private-network case")
    a("--private-cidr", default="192.168.222.0/24",
      help="IPv4 subnet of the run's private network (192.168.222.0/24)")
    a("--run-id", help="name part of this run's servers (default: the UTC time)")
    a("--show-stale", action="store_true", help="list servers of earlier runs, then exit")
    a("--delete-stale", action="store_true", help="delete servers of earlier runs, then exit")
    a("--junit", metavar="FILE", help="write a JUnit XML report")
    a("--json", metavar="FILE", help="write a JSON report")
    a("-q", "--quiet", action="store_true", help="print the summary only")
    return p.parse_args(argv)


def connect(opts):
    if opts.token:
        if not opts.auth_url:
            raise AuthError("--token needs --auth-url (or OS_AUTH_URL)")
        return Cloud(opts.auth_url, token=opts.token)
    if not opts.os_cloud:
        raise AuthError("give --os-cloud (clouds.yaml) or --auth-url and --token")
    auth = load_cloud(opts.os_cloud, opts.clouds_yaml)
    return Cloud(auth["auth_url"], token=auth.get("token"), username=auth.get("username"),
                 password=auth.get("password"), project=auth.get("project_name"),
                 user_domain=auth.get("user_domain_name", "Default"),
                 project_domain=auth.get("project_domain_name", "Default"),
                 verify=auth["verify"])


def stale(cloud, opts, log):
    servers = runner.stale(cloud)
    for s in servers:
        print("%s\t%s\t%s" % (s["id"], s["name"], s.get("status", "")))
    if opts.delete_stale:
        for s in servers:
            cloud.compute("DELETE", "/servers/%s" % s["id"], 204)
        deadline = time.monotonic() + opts.action_timeout
        while runner.stale(cloud):
            if time.monotonic() > deadline:
                log("stale servers still there after %d s" % opts.action_timeout)
                return 1
            time.sleep(opts.query_interval)
        log("deleted %d stale server(s)" % len(servers))
    return 0


def main(argv=None):
    opts = parse(sys.argv[1:] if argv is None else argv)

    def log(msg):
        if not opts.quiet:
            print(time.strftime("%H:%M:%S ") + msg, file=sys.stderr, flush=True)
    try:
        cloud = connect(opts)
    except (AuthError, ApiError, OSError) as e:
        print("snf-burnin: %s" % e, file=sys.stderr)
        return 2
    if opts.show_stale or opts.delete_stale:
        return stale(cloud, opts, log)
    results = Results()
    runner.STOPPING.clear()  # (main may run more than once in a process: the tests)

    def interrupted(signum, frame):
        log("interrupted (signal %d): deleting this run's servers" % signum)
        runner.STOPPING.set()
    old = {sig: signal.signal(sig, interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        runner.run(cloud, opts, results, log)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    if runner.STOPPING.is_set():
        results.add("sanity", "run completed", FAILED, 0, "interrupted by a signal")
    if opts.junit:
        with open(opts.junit, "w") as f:
            f.write(results.to_junit())
    if opts.json:
        with open(opts.json, "w") as f:
            f.write(results.to_json())
    print("snf-burnin: %s" % results.summary())
    return 1 if results.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
