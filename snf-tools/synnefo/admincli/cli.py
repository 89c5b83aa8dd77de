"""snf-admin: every operation of the web admin from any machine, through the admin API.

Credentials as snf-burnin takes them (clouds.yaml's --os-cloud, or --auth-url and
--token): an administrator's. The admin API lives at the site root of the identity
URL (https://cloud.example.org/identity/v3 -> https://cloud.example.org/admin/api/).
"""

import argparse
import getpass
import re
import sys

import requests

from synnefo.burnin.cli import add_credential_options, connect
from synnefo.burnin.client import TIMEOUT, ApiError, AuthError

from . import output

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2

# read command -> (path, answer key, table columns)
READS = {
    "dashboard": ("dashboard", None, None),
    "user-list": ("users", "users", ["id", "name", "email", "admin", "state", "servers"]),
    "user-show": ("users/{user}", "user", None),
    "server-list": ("servers", "servers", ["id", "name", "owner", "status", "task", "flavor",
                                           "image", "backend"]),
    "server-show": ("servers/{server}", "server", None),
    "flavor-list": ("flavors", "flavors", ["id", "name", "cpu", "ram", "disk",
                                           "disk_template", "deleted", "servers"]),
    "image-list": ("images", "images", ["id", "name", "backend_id", "owner", "public",
                                        "state"]),
    "image-files": ("images", "unregistered_files", None),
    "network-list": ("networks", "networks", ["id", "name", "type", "public", "owner",
                                              "state", "subnet", "ports"]),
    "invitation-list": ("invitations", "invitations", ["id", "inviter", "email", "sent",
                                                        "send_count", "accepted", "user"]),
    "backend-list": ("backends", "backends", ["id", "clustername", "port", "username",
                                              "pinned", "drained", "offline", "servers"]),
    "deadletter-list": ("deadletters", "queues", ["queue", "messages", "dead_letters"]),
    "deadletter-show": ("deadletters/{queue}", "dead_letters",
                        ["position", "death", "retried", "body"]),
    "audit": ("audit", "audit", ["when", "user", "address", "via", "action", "target"]),
}
AUDIT_COLUMNS = READS["audit"][2]
QUOTAS = ("max_servers", "max_cores", "max_ram", "max_disk", "max_networks",
          "max_image_space", "max_invitations")
YES_NO = ("yes", "no")


class UsageError(Exception):
    """What the command line asks for cannot be sent (e.g. an unreadable file)."""


CERTIFICATE_HELP = ("the cluster's RAPI certificate to pin, read here and sent "
                    "(a copy of /var/lib/ganeti/rapi.pem; its key is not sent)")


def _commands(sub):
    """The sub-commands: {name: (parser, operation or None)}."""
    out = {}

    def add(name, help, operation=None):
        # no abbreviations: "--password x" must not become --password-stdin
        p = sub.add_parser(name, help=help, description=help, allow_abbrev=False)
        out[name] = (p, operation)
        # --json after the command too (the global option's default stays False)
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print the API's JSON answer")
        return p.add_argument

    add("dashboard", "users, servers by state, images, flavors, networks, backends' live "
                     "state, dead letters")
    a = add("user-list", "users, optionally matching --search (name or e-mail)")
    a("--search", default="")
    add("user-show", "a user with quotas, usage, servers and networks")("user")
    a = add("user-create", "create a user", "user.create")
    a("name")
    a("--email", default="")
    a("--admin", action="store_true", help="with the admin flag")
    a("--password-stdin", action="store_true", help="read the password from stdin")
    add("user-suspend", "suspend a user and stop their servers", "user.suspend")("user")
    add("user-unsuspend", "let a suspended user in again", "user.unsuspend")("user")
    a = add("user-quotas", "set a user's quotas (-1: back to the default)", "user.quotas")
    a("user")
    for q in QUOTAS:
        a("--" + q.replace("_", "-"), dest=q, type=int)
    a = add("server-list", "servers of every user")
    for f in ("state", "user", "backend", "image", "flavor", "name"):
        a("--" + f)
    add("server-show", "a server with its last job, fault and admin history")("server")
    for action in ("start", "stop", "delete", "suspend", "unsuspend"):
        add("server-" + action, "%s a server" % action, "server." + action)("server")
    a = add("server-reboot", "reboot a server", "server.reboot")
    a("server")
    a("--hard", action="store_true")
    add("flavor-list", "flavors")
    a = add("flavor-create", "create a flavor", "flavor.create")
    a("--cpu", required=True, type=int)
    a("--ram", required=True, type=int, help="MiB")
    a("--disk", required=True, type=int, help="GiB")
    a("--disk-template", dest="disk_template")
    add("flavor-disable", "offer a flavor no more", "flavor.disable")("flavor")
    add("flavor-enable", "offer a flavor again", "flavor.enable")("flavor")
    add("image-list", "images")
    add("image-files", "files of the image store no image uses")
    a = add("image-register", "register a file of the image store", "image.register")
    a("file")
    a("--name")
    a("--private", action="store_true")
    add("image-public", "make an image public", "image.visibility")("image")
    add("image-private", "make an image private", "image.visibility")("image")
    a = add("network-list", "networks")
    a("--public", action="store_true", help="public networks only")
    add("invitation-list", "invitations of every user")
    add("invitation-resend", "send a pending invitation again (a new link)",
        "invitation.resend")("invitation")
    add("backend-list", "Ganeti backends")
    a = add("backend-add", "add a Ganeti cluster", "backend.add")
    a("clustername")
    a("--port", type=int, default=5080)
    a("--username", default="")
    a("--password-stdin", action="store_true", help="read the RAPI password from stdin")
    a("--certificate", metavar="PEM_FILE", help=CERTIFICATE_HELP)
    a("--no-check", action="store_true", help="do not contact the cluster first")
    a = add("backend-modify", "drain, offline, RAPI credentials and certificate",
            "backend.modify")
    a("backend")
    a("--drained", choices=YES_NO)
    a("--offline", choices=YES_NO)
    a("--port", type=int)
    a("--username")
    a("--password-stdin", action="store_true", help="read the RAPI password from stdin")
    pin = out["backend-modify"][0].add_mutually_exclusive_group()
    pin.add_argument("--certificate", metavar="PEM_FILE", help=CERTIFICATE_HELP)
    pin.add_argument("--unpin", action="store_true",
                     help="pin no certificate (the server's GANETI_RAPI_VERIFY decides)")
    add("deadletter-list", "event queues and their dead letters")
    add("deadletter-show", "the first dead letters of a queue")("queue")
    add("deadletter-retry", "send a queue's dead letters back", "deadletters.retry")("queue")
    add("deadletter-drop", "discard a queue's dead letters", "deadletters.drop")("queue")
    a = add("audit", "the audit log of administrator actions")
    a("--limit", type=int, default=50)
    a("--user", help="only this administrator's")
    return out


def parser():
    p = argparse.ArgumentParser(prog="snf-admin", description=(
        "Administer a Synnefo asterias deployment through its admin API."))
    add_credential_options(p, "an administrator's")
    p.add_argument("--json", action="store_true", help="print the API's JSON answer")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    return p, _commands(sub)


def _secret(opts, prompt):
    if not getattr(opts, "password_stdin", False):
        return None
    line = sys.stdin.readline() if not sys.stdin.isatty() else getpass.getpass(prompt)
    return line.rstrip("\n")


def _certificate(path):
    """The certificate blocks of a PEM file (a private key beside them stays here)."""
    try:
        with open(path, encoding="ascii") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError("cannot read the certificate file %s: %s" % (path, exc)) from None
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text,
                        re.DOTALL)
    if not blocks:
        raise UsageError("%s holds no PEM certificate" % path)
    return "\n".join(blocks) + "\n"


def params_of(opts):
    """The admin API parameters of an action command's options."""
    c = opts.command
    if c == "user-create":
        return {"name": opts.name, "email": opts.email, "admin": opts.admin,
                "password": _secret(opts, "Password: ")}
    if c == "user-quotas":
        return dict({q: getattr(opts, q) for q in QUOTAS if getattr(opts, q) is not None},
                    user=opts.user)
    if c == "server-reboot":
        return {"server": opts.server, "type": "HARD" if opts.hard else "SOFT"}
    if c == "flavor-create":
        return {"cpu": opts.cpu, "ram": opts.ram, "disk": opts.disk,
                "disk_template": opts.disk_template}
    if c == "image-register":
        return {"file": opts.file, "name": opts.name, "public": not opts.private}
    if c in ("image-public", "image-private"):
        return {"image": opts.image, "public": c == "image-public"}
    if c in ("backend-add", "backend-modify"):
        out = {k: getattr(opts, k, None) for k in ("clustername", "backend", "port",
                                                    "username", "drained", "offline")}
        out["password"] = _secret(opts, "RAPI password: ")
        if opts.certificate:
            out["certificate"] = _certificate(opts.certificate)
        if getattr(opts, "unpin", False):
            out["unpin"] = True
        if c == "backend-add":
            out["check"] = not opts.no_check
        return {k: v for k, v in out.items() if v is not None}
    for key in ("user", "server", "flavor", "queue", "invitation"):
        if hasattr(opts, key):
            return {key: getattr(opts, key)}
    return {}


def admin_root(auth_url):
    """The admin API's URL beside the identity API's."""
    base = auth_url.rstrip("/")
    cut = base.find("/identity")
    return (base[:cut] if cut >= 0 else base) + "/admin/api/"


def _error_text(response):
    try:
        body = response.json()
        fault = next(iter(body.values()))
        return fault.get("message") or response.text[:300]
    except (ValueError, StopIteration, AttributeError):
        return response.text[:300]


def _read_query(opts):
    c = opts.command
    if c == "user-list":
        return {"search": opts.search}
    if c == "server-list":
        return {f: getattr(opts, f) for f in ("state", "user", "backend", "image", "flavor",
                                              "name") if getattr(opts, f)}
    if c == "network-list":
        return {"public": "1"} if opts.public else {}
    if c == "audit":
        return {"limit": opts.limit, "user": opts.user}
    return {}


def show(opts, data):
    if opts.json:
        return output.as_json(data)
    if opts.command in READS:
        _path, key, columns = READS[opts.command]
        item = data[key] if key else data
        if columns:
            return output.table(item, columns)
        if isinstance(item, list):
            return "\n".join(item) or "(none)"
        text = output.record(item, skip=("server_list", "network_list", "history",
                                         "backends", "nics", "metadata"))
        return text + _nested(item)
    entry = data["audit"]
    return "%s %s: done (%s)" % (entry["action"], entry["target"],
                                 output.cell(entry["details"].get("result")))


def _nested(item):
    parts = []
    for key, columns in (("server_list", READS["server-list"][2]),
                         ("network_list", READS["network-list"][2]),
                         ("history", AUDIT_COLUMNS),
                         ("backends", ["clustername", "reachable", "drained", "instances",
                                       "nodes", "running_jobs", "mfree", "dfree", "error"])):
        if item.get(key) is not None:
            parts.append("\n\n%s:\n%s" % (key.replace("_list", "s"),
                                          output.table(item[key], columns)))
    return "".join(parts)


def run(opts, cloud):
    """Send the command's request; (exit status, text to print)."""
    root = admin_root(cloud.auth_url)
    if opts.command in READS:
        path = READS[opts.command][0].format(**vars(opts))
        response = cloud.http.get(root + path, params=_read_query(opts), timeout=TIMEOUT)
    else:
        operation = COMMANDS[opts.command]
        response = cloud.http.post(root + "actions/" + operation, json=params_of(opts),
                                   timeout=TIMEOUT)
    if response.status_code == 403:
        return EXIT_REFUSED, "refused: the token is not an administrator's"
    if response.status_code >= 300:
        return EXIT_REFUSED, "refused (HTTP %d): %s" % (response.status_code,
                                                        _error_text(response))
    return EXIT_OK, show(opts, response.json())


COMMANDS = {name: op for name, (_p, op) in parser()[1].items() if op}


def main(argv=None):
    p, _ = parser()
    opts = p.parse_args(argv)
    try:
        cloud = connect(opts)
        status, text = run(opts, cloud)
    except (AuthError, UsageError) as exc:
        print("snf-admin: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    except (ApiError, requests.RequestException, ValueError) as exc:
        # a refused token, no connection, TLS, an answer that is not JSON
        print("snf-admin: %s" % exc, file=sys.stderr)
        return EXIT_REFUSED
    print(text, file=sys.stdout if status == EXIT_OK else sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
