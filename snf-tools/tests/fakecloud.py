"""A stand-in of the cloud's HTTP APIs for the unit tests (the real one is in the
integration test, snf-asterias-app/tests/test_burnin_e2e.py): identity, compute lists,
keypairs, networks, server deletion; server creation fails with 500. ``broken_auth`` makes it answer
an unauthorised request, as a misconfigured deployment would."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "tok-123"


class FakeCloud:
    def __init__(self, broken_auth=False, images=(), servers=(), builds_forever=False):
        self.broken_auth = broken_auth
        self.builds_forever = builds_forever  # created servers stay in BUILD
        self.images = list(images)
        self.servers = list(servers)
        self.requests = []
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, code, body=None, headers=()):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                cloud.requests.append((self.command, self.path, body))
                return cloud.answer(self, self.command, self.path, body)

            do_GET = do_POST = do_DELETE = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def catalog(self):
        return {"token": {"catalog": [
            {"type": t, "endpoints": [{"interface": "public", "url": self.base + path}]}
            for t, path in (("compute", "/compute/v2.1"), ("network", "/network"),
                            ("identity", "/identity/v3"))]}}

    def answer(self, h, method, path, body):
        authed = h.headers.get("X-Auth-Token") == TOKEN
        if path == "/identity/v3/auth/tokens":
            if method == "POST":
                user = body["auth"]["identity"]["password"]["user"]
                if user["password"] != "pw":
                    return h.reply(401, {"error": {"code": 401}})
                return h.reply(201, self.catalog(), [("X-Subject-Token", TOKEN)])
            return h.reply(200 if authed else 401, self.catalog() if authed else None)
        if not authed and not self.broken_auth:
            return h.reply(401, {"unauthorized": {"code": 401}})
        c = "/compute/v2.1"
        lists = {"servers": self.servers, "images": self.images,
                 "flavors": [{"id": "1", "name": "C1R512D2", "vcpus": 1, "ram": 512,
                              "disk": 2}]}
        for what, items in lists.items():
            if path in ("%s/%s" % (c, what), "%s/%s/detail" % (c, what)) and method == "GET":
                return h.reply(200, {what: items})
        if path == c + "/servers" and method == "POST":
            if not self.builds_forever:
                return h.reply(500, {"computeFault": {"code": 500, "message": "boom"}})
            server = {"id": str(42 + len(self.servers)), "name": body["server"]["name"],
                      "status": "BUILD", "image": {"id": body["server"]["imageRef"]},
                      "flavor": {"id": body["server"]["flavorRef"]}, "metadata": {}}
            self.servers.append(server)
            return h.reply(202, {"server": server})
        for server in self.servers:
            one = "%s/servers/%s" % (c, server["id"])
            if path == one and method == "GET":
                return h.reply(200, {"server": server})
            if path == one + "/metadata":
                server["metadata"].update((body or {}).get("metadata", {}))
                return h.reply(200, {"metadata": server["metadata"]})
        if path.startswith(c + "/servers/") and method == "DELETE":
            self.servers = [x for x in self.servers if x["id"] != path.rsplit("/", 1)[1]]
            return h.reply(204)
        if path == c + "/os-keypairs" and method == "POST":
            return h.reply(200, {"keypair": body["keypair"]})
        if path.startswith(c + "/os-keypairs/") and method == "DELETE":
            return h.reply(202)
        if path == "/network/v2.0/networks":
            return h.reply(200, {"networks": []})
        return h.reply(404, {"itemNotFound": {"code": 404}})
