"""A multi-node cloud from the packages, set up by the admin guide's own commands
(ci/multinode.py), survives losing an APISERVER, a LOGIC node and a RabbitMQ node.

Nothing here touches the host: every node is a clean root in its own namespaces.
"""

import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ci"))
import multinode  # noqa: E402

# Runs in the client netns under Debian's python3 (python3-openstacksdk); prints JSON.
CLIENT = r"""
import json, sys, openstack
cmd, cacert, name = sys.argv[1], sys.argv[2], sys.argv[3]
conn = openstack.connect(auth_url="https://%s/identity/v3" % name, username=sys.argv[4],
                         password=sys.stdin.readline().strip(), project_name=sys.argv[4],
                         user_domain_name="Default", project_domain_name="Default",
                         region_name="RegionOne", cacert=cacert,
                         load_yaml_config=False, load_envvars=False)
if cmd == "create":
    flavor = [f for f in conn.compute.flavors() if f.vcpus == 1 and f.ram == 512
              and f.disk == 1][0]
    image = conn.image.find_image("debian-12")
    server = conn.compute.create_server(name=sys.argv[5], image_id=image.id,
                                        flavor_id=flavor.id)
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=300, interval=1)
    print(json.dumps({"id": server.id, "status": server.status}))
elif cmd == "stop":                  # returns once the API accepted it (202)
    conn.compute.stop_server(conn.compute.get_server(sys.argv[5]))
    print(json.dumps({"id": sys.argv[5]}))
elif cmd == "wait":
    server = conn.compute.wait_for_server(conn.compute.get_server(sys.argv[5]),
                                          status=sys.argv[6], wait=300, interval=1)
    print(json.dumps({"id": server.id, "status": server.status}))
elif cmd == "list":
    print(json.dumps({s.id: s.status for s in conn.compute.servers()}))
"""


def client(cloud, cacert, *args):
    site = multinode.SITE
    res = cloud.client(["/usr/bin/python3", "-c", CLIENT, args[0], cacert, site["api_name"],
                        site["admin_user"]] + list(args[1:]),
                       input=site["admin_password"] + "\n")
    assert res.returncode == 0, "client %s failed\n%s\n%s" % (args, res.stderr[-4000:],
                                                              cloud.logs())
    return json.loads(res.stdout.strip().splitlines()[-1])


def curl(cloud, cacert, path, via=None, args=(), input=None):
    """curl https://<api_name><path> from the client netns; via: a node name to send it to
    instead of the LB (as if the name resolved to that node)."""
    site = multinode.SITE
    cmd = ["curl", "-sS", "--fail", "--cacert", cacert]
    if via:
        cmd += ["--resolve", "%s:443:%s.%d" % (site["api_name"], multinode.NET,
                                                multinode.NODES[via][1])]
    res = cloud.client(cmd + list(args) + ["https://%s%s" % (site["api_name"], path)],
                       input=input)
    assert res.returncode == 0, "%s via %s: %s\n%s" % (path, via or "lb", res.stderr,
                                                       cloud.logs([via or "api1"]))
    return res.stdout


def token_and_servers(cloud, cacert, via=None):
    """A token (identity v3), then the server list with it."""
    site = multinode.SITE
    body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": site["admin_user"], "domain": {"id": "default"},
        "password": site["admin_password"]}}}}})
    headers = curl(cloud, cacert, "/identity/v3/auth/tokens", via, input=body, args=[
        "-D", "-", "-o", "/dev/null", "-H", "Content-Type: application/json",
        "--data-binary", "@-"])
    token = [line.split(":", 1)[1].strip() for line in headers.splitlines()
             if line.lower().startswith("x-subject-token:")]
    assert token, headers
    servers = json.loads(curl(cloud, cacert, "/compute/v2.1/servers", via,
                              args=["-H", "X-Auth-Token: " + token[0]]))
    assert "servers" in servers, servers
    return token[0]


# Run as the API's user on an APISERVER: one forwarding request on the proxy's control
# socket (to a node port nothing listens on: no client authenticates, so it is never used).
PROXY_REQUEST = r"""
import json, socket
s = socket.socket(socket.AF_UNIX)
s.connect("/run/synnefo/vncauthproxy.sock")
s.sendall(json.dumps({"source_port": 0, "destination_address": "gnt1.snfmn.test",
                      "destination_port": 11000, "password": "mnconsol",
                      "type": "vnc"}).encode() + b"\n")
print(s.makefile().readline())
"""

# In the client netns: the first bytes a forwarding port sends (the RFB version).
RFB_GREETING = r"""
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30) as s:
    print(s.recv(12).decode())
"""


def check_console_proxies(cloud, cacert, server_id):
    """On each APISERVER the proxy runs and its control socket opens a forwarding port the
    client reaches; the console action of an ACTIVE server is an honest 503 here, as the
    fake hypervisor gives instances no VNC port (the API logs why)."""
    seen = []
    for name in ("api1", "api2"):
        node = cloud.node(name)
        node.run(["service", "snf-vncauthproxy", "status"])
        reply = json.loads(node.run(["runuser", "-u", "synnefo", "--", "/usr/bin/python3",
                                     "-c", PROXY_REQUEST]).stdout)
        assert reply["status"] == "OK" and 25000 <= reply["source_port"] <= 30000, reply
        host = "%s.%s" % (name, multinode.DOMAIN)
        res = cloud.client(["/usr/bin/python3", "-c", RFB_GREETING, host,
                            str(reply["source_port"])])
        assert res.returncode == 0 and res.stdout.strip() == "RFB 003.008", res
        seen.append("%s: proxy port %d answers RFB" % (name, reply["source_port"]))
    action = json.dumps({"console": {"type": "vnc"}})
    for via in ("api2", None):
        token = token_and_servers(cloud, cacert[via or "lb"], via)
        cmd = ["curl", "-sS", "--cacert", cacert[via or "lb"], "-w", "\n%{http_code}",
               "-H", "X-Auth-Token: " + token, "-H", "Content-Type: application/json",
               "--data-binary", action]
        if via:
            cmd += ["--resolve", "%s:443:%s.%d" % (multinode.SITE["api_name"], multinode.NET,
                                                    multinode.NODES[via][1])]
        res = cloud.client(cmd + ["https://%s/compute/v2.1/servers/%s/action"
                                  % (multinode.SITE["api_name"], server_id)])
        body, status = res.stdout.rsplit("\n", 1)
        assert status == "503" and "console of server" in body, (via, res)
    logs = "".join(p.read_text(errors="replace") for name in ("api1", "api2")
                   for p in cloud.node(name).path("/var/log/synnefo").glob("*.log"))
    assert "Ganeti reports no console port" in logs, cloud.logs(["api1", "api2"])
    seen.append("console action of an ACTIVE server: 503 (fake hypervisor: no VNC port)")
    return seen


STATIC = "/static/webproject/base.css"
STATIC_SOURCE = (Path(__file__).resolve().parents[2] / "snf-webproject/synnefo/webproject"
                 / STATIC.lstrip("/"))


def server_row(cloud, server_id):
    out = cloud.node("logic2").run(["snf-manage", "server-show", str(server_id), "--json"])
    row = json.loads(out.stdout)
    return row[0] if isinstance(row, list) else row


def ganeti_jobs(cloud, instance):
    """[(job id, status, summary)] of the Ganeti jobs that name instance."""
    out = cloud.node("gnt1").run(["gnt-job", "list", "--no-headers", "--separator=|",
                                  "-o", "id,status,summary"]).stdout
    jobs = []
    for line in out.splitlines():
        job, status, summary = line.split("|", 2)
        if "(%s)" % instance in summary:
            jobs.append((int(job), status, summary))
    return jobs


def queues_settled(cloud, node):
    """{queue: messages} on the cloud's vhost, from a live RabbitMQ node."""
    out = cloud.node(node).run(["rabbitmqctl", "-q", "list_queues", "-p", "synnefo",
                                "--no-table-headers", "name", "messages"]).stdout
    return {q: int(n) for q, n in (line.split() for line in out.splitlines() if line.strip())}


def wait_for(what, check, timeout=120):
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < end, "%s: not reached in %d s" % (what, timeout)
        time.sleep(1)


def test_multinode_cloud_from_the_guide_survives_node_kills(debs, capsys):
    t0 = time.monotonic()
    seen = []
    with multinode.Cloud(debs.dirs["current"]) as cloud, \
            tempfile.TemporaryDirectory(prefix="snfmn-client-") as tmp:
        cloud.bring_up()
        site = multinode.SITE
        certs = {}
        for node in ("lb", "api2"):
            certs[node] = str(Path(tmp) / (node + ".pem"))
            Path(certs[node]).write_bytes(
                cloud.node(node).path("/etc/ssl/certs/%s.pem" % site["api_name"]).read_bytes())

        # Each sample site passed its config test (nginx -t, apache2ctl configtest: in the
        # guide's blocks); API requests and a static file through Apache on api2 and
        # through the LB's nginx.
        for cert, via in ((certs["api2"], "api2"), (certs["lb"], None)):
            token_and_servers(cloud, cert, via)
            assert curl(cloud, cert, STATIC, via) == STATIC_SOURCE.read_text()
        first = client(cloud, certs["lb"], "create", "mn-first")
        assert first["status"] == "ACTIVE"
        seen += check_console_proxies(cloud, certs, first["id"])

        # The LB spread the requests over both APISERVERs' gunicorns.
        for name in ("api1", "api2"):
            assert site["lb_address"] + " " in cloud.node(name).path(
                "/var/log/synnefo/gunicorn-access.log").read_text(), name

        # The first server's stop is under way (its Ganeti job and events in flight) when
        # an APISERVER, a LOGIC node and the first RabbitMQ node die.
        client(cloud, certs["lb"], "stop", first["id"])
        for name in ("api1", "logic1", "mq1"):
            cloud.kill(name)
        killed = time.monotonic()
        second = client(cloud, certs["lb"], "create", "mn-second")
        assert second["status"] == "ACTIVE"
        stopped = client(cloud, certs["lb"], "wait", first["id"], "SHUTOFF")
        assert stopped["status"] == "SHUTOFF"
        seen.append("after the kills: second server ACTIVE and the first SHUTOFF in %.1f s"
                    % (time.monotonic() - killed))

        # Nothing lost, nothing wrong: every Ganeti job of each server has been applied
        # (the row shows the newest job, succeeded), no event waits or was dead-lettered.
        queues = wait_for("event queues empty",
                          lambda: (lambda q: q if not any(q.values()) else None)(
                              queues_settled(cloud, "mq2")))
        assert any(q.endswith("-dl") for q in queues), queues
        for server, opcode, operstate in ((first, "OP_INSTANCE_SHUTDOWN", "STOPPED"),
                                          (second, "OP_INSTANCE_CREATE", "STARTED")):
            row = server_row(cloud, server["id"])
            jobs = ganeti_jobs(cloud, row["instance"])
            assert jobs and all(status == "success" for _j, status, _s in jobs), jobs
            assert row["backendjobid"] == max(j for j, _s, _m in jobs), (row, jobs)
            assert (row["backendopcode"], row["backendjobstatus"], row["operstate"]) == \
                (opcode, "success", operstate), row
            assert row["task"] == "" and row["buildpercentage"] == 100, row
            seen.append("server %s (%s): %d Ganeti jobs, the last (%s) applied: %s"
                        % (server["id"], row["instance"], len(jobs), row["backendjobid"],
                           row["operstate"]))
        # The survivors really failed over: both were on mq1, the first of AMQP_HOSTS.
        for name in ("logic2", "gnt1"):
            logs = sorted(cloud.node(name).path("/var/log/synnefo").glob("*.log"))
            text = "".join(p.read_text(errors="replace") for p in logs)
            assert re.search(r"connected to AMQP broker \S*@mq[23]:", text), \
                (name, [p.name for p in logs], text[-3000:])
        listed = client(cloud, certs["lb"], "list")
        assert listed == {first["id"]: "SHUTOFF", second["id"]: "ACTIVE"}, listed
        seen.append("multi-node cloud: bring-up %.1f s (role tarballs %.1f s), whole test "
                    "%.1f s" % (cloud.timings["bring-up"], cloud.timings["tarballs"],
                                time.monotonic() - t0))
        with capsys.disabled():      # the figures belong in the make test log
            print("\n" + "\n".join(seen))


def test_guide_mariadb_setup_gives_read_committed_innodb(debs):
    """The guide's MariaDB block on a clean DB root; an APISERVER root with our packages and
    python3-mysqldb migrates over the network and runs READ COMMITTED on InnoDB."""
    import guide_blocks
    import noderoot

    block = [s for s in guide_blocks.steps() if "(MariaDB)" in s.header]
    assert len(block) == 1, "the guide's MariaDB block is gone"
    # Its apt-get line: the packages are in the role tarball (nodes have no network).
    script = "\n".join(line for line in block[0].body.splitlines()
                       if not line.startswith("apt-get install"))
    ours = multinode.ours_in(debs.dirs["current"])
    site = {"db_password": multinode.SITE["db_password"]}
    with noderoot.Run("mariadb") as run:
        net = run.net("10.249.2", multinode.DOMAIN)
        db = run.node("db", noderoot.tarball("mn-mariadb", ["init-system-helpers",
                                                            "mariadb-server"]), net)
        # The multi-node cloud's APISERVER tarball (it holds python3-mysqldb for this test).
        app_packages = multinode.Cloud(debs.dirs["current"]).role_packages("app")
        app = run.node("app", noderoot.tarball("mn-app", app_packages), net)
        multinode.install_debs(app, [ours[p] for p in multinode.closure(
            ours, ["snf-asterias-app"])], ["python3-mysqldb"])
        db.start()
        app.start()
        db.run(["bash", "-eu", "-c", script], env=site)
        app.write("/etc/synnefo/99-local.conf",
                  'SECRET_KEY = "mariadb-test"\n'
                  'DATABASES = {"default": {"ENGINE": "django.db.backends.mysql", '
                  '"NAME": "synnefo", "USER": "synnefo", "PASSWORD": %r, "HOST": "db.%s", '
                  '"PORT": "3306"}}\n' % (site["db_password"], multinode.DOMAIN), 0o640)
        app.run(["chgrp", "synnefo", "/etc/synnefo/99-local.conf"])
        app.run(["snf-manage", "migrate", "--noinput", "-v0"], timeout=600)
        out = app.run(["snf-manage", "shell", "-c",
                       "from django.db import connection\n"
                       "c = connection.cursor()\n"
                       "c.execute('SELECT @@session.tx_isolation, @@global.tx_isolation')\n"
                       "print(*c.fetchone())\n"
                       "c.execute(\"SELECT DISTINCT engine FROM information_schema.tables "
                       "WHERE table_schema = 'synnefo'\")\n"
                       "print(*[r[0] for r in c.fetchall()])\n"]).stdout.split("\n")
        assert out[0].split() == ["READ-COMMITTED", "READ-COMMITTED"], out
        assert out[1].split() == ["InnoDB"], out
