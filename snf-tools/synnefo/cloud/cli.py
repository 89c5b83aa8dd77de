"""snf-cloud: command line. Exit status 0 on success, 1 when the cloud refused or a
server is unknown, 2 for a usage error (argparse) or when login fails."""

import argparse
import logging
import os
import sys

from . import api, output, viewer

SERVER_FIELDS = ("id", "name", "status", "SNF:task_state", "SNF:suspended", "created",
                 "updated", "addresses", "metadata", "fault")


def build_parser():
    p = argparse.ArgumentParser(prog="snf-cloud", description=(
        "What the openstack CLI cannot do on a Synnefo asterias cloud: firewall profiles "
        "per network interface, VNC consoles, Synnefo's server fields, invitations. "
        "Credentials as for the openstack CLI: clouds.yaml (--os-cloud) or OS_* variables."))
    p.add_argument("--os-cloud", default=os.environ.get("OS_CLOUD"),
                   help="cloud of clouds.yaml (default $OS_CLOUD)")
    p.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    server = sub.add_parser("server", help="servers with Synnefo's fields")
    ssub = server.add_subparsers(dest="verb", metavar="VERB", required=True)
    ssub.add_parser("list", help="your servers, with task state and suspension")
    show = ssub.add_parser("show", help="one server, every field (SNF:* included)")
    show.add_argument("server", help="server id or name")

    fw = sub.add_parser("firewall", help="firewall profiles of a server's public NICs")
    fsub = fw.add_subparsers(dest="verb", metavar="VERB", required=True)
    fshow = fsub.add_parser("show", help="the server's NICs and their profiles")
    fshow.add_argument("server", help="server id or name")
    fset = fsub.add_parser("set", help="set the profile of one public NIC")
    fset.add_argument("server", help="server id or name")
    fset.add_argument("profile", type=str.upper, choices=api.FIREWALL_PROFILES,
                      help="ENABLED (protected), DISABLED (open) or PROTECTED (limited)")
    fset.add_argument("--nic", help="port id or attachment id (nic-SERVER-INDEX); "
                                    "default: the first public NIC")

    console = sub.add_parser("console", help="the server's VNC console")
    console.add_argument("server", help="server id or name")
    how = console.add_mutually_exclusive_group()
    how.add_argument("--vnc", action="store_true",
                     help="print host, port and password for a VNC client instead of the "
                          "noVNC URL")
    how.add_argument("--viewer", action="store_true",
                     help="start a local VNC viewer (vncviewer, remote-viewer, ...)")

    sub.add_parser("limits", help="quotas and usage, Synnefo's included")

    inv = sub.add_parser("invitation", help="invite people by e-mail (if the cloud allows)")
    isub = inv.add_subparsers(dest="verb", metavar="VERB", required=True)
    isub.add_parser("list", help="invitations you sent, and how many are left")
    send = isub.add_parser("send", help="invite an e-mail address")
    send.add_argument("email")
    resend = isub.add_parser("resend", help="send an invitation again (a fresh link)")
    resend.add_argument("id")
    return p


def parse(argv):
    return build_parser().parse_args(argv)


def _nics(server):
    return [{"nic": a.get("id"), "network": a.get("network_id"), "ipv4": a.get("ipv4"),
             "ipv6": a.get("ipv6"), "firewall": a.get("firewallProfile")}
            for a in server.get("SNF:attachments") or []]


def cmd_server(conn, opts):
    if opts.verb == "list":
        rows = api.list_servers(conn)
        if opts.json:
            return output.emit_json(rows)
        return output.table(rows, [("ID", "id"), ("NAME", "name"), ("STATUS", "status"),
                                   ("TASK", "SNF:task_state"), ("SUSPENDED", "SNF:suspended")])
    server = api.find_server(conn, opts.server)
    if opts.json:
        return output.emit_json(server)
    output.fields({k: v for k, v in server.items()
                   if k in SERVER_FIELDS or k.startswith("SNF:") and k != "SNF:attachments"})
    print()
    output.table(_nics(server), [("NIC", "nic"), ("NETWORK", "network"), ("IPV4", "ipv4"),
                                 ("IPV6", "ipv6"), ("FIREWALL", "firewall")])


def cmd_firewall(conn, opts):
    server = api.find_server(conn, opts.server)
    if opts.verb == "set":
        api.set_firewall(conn, server["id"], opts.profile, opts.nic)
        server = api.server_body(conn, server["id"])
    rows = _nics(server)
    if opts.json:
        return output.emit_json(rows)
    output.table(rows, [("NIC", "nic"), ("NETWORK", "network"), ("IPV4", "ipv4"),
                        ("FIREWALL", "firewall")])


def cmd_console(conn, opts):
    server = api.find_server(conn, opts.server)
    if not opts.vnc and not opts.viewer:
        url = api.novnc_url(conn, server["id"])
        return output.emit_json({"url": url}) if opts.json else print(url)
    found = None
    if opts.viewer:
        found = viewer.find_viewer()
        if found is None:
            raise api.CloudError("no VNC viewer found (tried %s); use the noVNC URL "
                                 "(snf-cloud console SERVER) or --vnc"
                                 % ", ".join(v for v, _t in viewer.VIEWERS))
    info = api.vnc_console(conn, server["id"])
    if opts.json and not opts.viewer:
        return output.emit_json(info)
    for key in ("host", "port", "password"):
        print("%-8s  %s" % (key, output.printable(info.get(key))))
    if found is None:
        return None
    password = info.get("password")
    title = "%s (snf-cloud console)" % (server.get("name") or server["id"])
    with viewer.prepared_command(found, info["host"], info["port"], password,
                                 title) as command:
        given = ("with the password" if viewer.gets_password(command)
                 else "without the password: give it the one above")
        print("starting %s %s (the console accepts one connection, soon)"
              % (" ".join(command), given), file=sys.stderr)
        return viewer.start_viewer(command, password)


def cmd_limits(conn, opts):
    absolute = api.limits(conn)
    return output.emit_json(absolute) if opts.json else output.fields(absolute)


def cmd_invitation(conn, opts):
    if opts.verb == "send":
        answer = api.invite(conn, opts.email)
    elif opts.verb == "resend":
        answer = api.resend_invitation(conn, opts.id)
    else:
        answer = api.invitations(conn)
    if opts.json:
        return output.emit_json(answer)
    if opts.verb == "list":
        print("%d of %d invitations left" % (answer["invitations_left"],
                                             answer["invitation_quota"]))
        return output.table(answer["invitations"], [("ID", "id"), ("EMAIL", "email"),
                                                     ("STATUS", "status"),
                                                     ("SENT", "sent_at"),
                                                     ("SENDS", "send_count")])
    invitation = answer["invitation"]
    print("invitation %s to %s sent" % (invitation["id"], output.printable(invitation["email"])))


COMMANDS = {"server": cmd_server, "firewall": cmd_firewall, "console": cmd_console,
            "limits": cmd_limits, "invitation": cmd_invitation}


def main(argv=None):
    opts = parse(sys.argv[1:] if argv is None else argv)
    # keystoneauth and openstacksdk log their retries and discovery failures as
    # warnings; the error that ends the command is reported once, below
    for name in ("keystoneauth", "openstack"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        conn = api.connect(opts.os_cloud)
    except api.CloudError as exc:
        print("snf-cloud: %s" % exc, file=sys.stderr)
        return 2
    try:
        status = COMMANDS[opts.command](conn, opts)
    except api.CloudError as exc:
        print("snf-cloud: %s" % exc, file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
