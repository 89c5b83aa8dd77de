"""The cloud's APIs over HTTP, as a user sees them: Keystone v3 auth, then the catalog's
compute, image and network endpoints. No database, no Django: only what any client has."""

import os

import requests
import yaml

TIMEOUT = 60  # seconds for one HTTP request


class ApiError(Exception):
    """An answer with an unexpected status; the message names the request."""


class AuthError(Exception):
    """Credentials missing or refused."""


def load_cloud(name, path=None):
    """The ``auth`` settings of cloud ``name`` from clouds.yaml, searched where the
    openstack CLI searches (OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack/, /etc/openstack/)."""
    paths = [path] if path else [
        os.environ.get("OS_CLIENT_CONFIG_FILE"), "clouds.yaml",
        os.path.expanduser("~/.config/openstack/clouds.yaml"), "/etc/openstack/clouds.yaml"]
    for p in paths:
        if p and os.path.exists(p):
            with open(p) as f:
                clouds = (yaml.safe_load(f) or {}).get("clouds") or {}
            if name not in clouds:
                raise AuthError("cloud %r is not in %s" % (name, p))
            cloud = clouds[name]
            return dict(cloud.get("auth") or {}, verify=cloud.get("verify", True))
    raise AuthError("no clouds.yaml found (looked in %s)" % ", ".join(p for p in paths if p))


class Cloud:
    """A session with a token and the catalog's endpoints (compute, image, network)."""

    def __init__(self, auth_url, token=None, username=None, password=None, project=None,
                 user_domain="Default", project_domain="Default", verify=True):
        self.auth_url = auth_url.rstrip("/")
        self.http = requests.Session()
        self.http.verify = verify
        if token:
            self.token = token
            # Keystone's token validation answers with the token's catalog.
            body = self._json("GET", self.auth_url + "/auth/tokens", 200,
                              headers={"X-Subject-Token": token, "X-Auth-Token": token})
        elif username and password:
            scope = {"project": {"name": project or username,
                                 "domain": {"name": project_domain}}}
            r = self.http.post(self.auth_url + "/auth/tokens", timeout=TIMEOUT, json={"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": username, "password": password, "domain": {"name": user_domain}}}},
                "scope": scope}})
            if r.status_code != 201:
                raise AuthError("password login as %s: HTTP %d" % (username, r.status_code))
            self.token = r.headers["X-Subject-Token"]
            body = r.json()
        else:
            raise AuthError("give a token, or a username and password")
        self.http.headers["X-Auth-Token"] = self.token
        self.endpoints = {}
        for service in body["token"].get("catalog", []):
            for ep in service.get("endpoints", []):
                if ep.get("interface") == "public":
                    self.endpoints[service["type"]] = ep["url"].rstrip("/")

    def endpoint(self, service_type):
        try:
            return self.endpoints[service_type]
        except KeyError:
            raise ApiError("the catalog has no %s endpoint" % service_type) from None

    def request(self, method, url, expect, auth=True, **kw):
        """The response to METHOD url; ApiError unless its status is in ``expect``."""
        headers = kw.pop("headers", {})
        if not auth:
            headers["X-Auth-Token"] = None  # requests drops a None session header
        r = self.http.request(method, url, headers=headers, timeout=TIMEOUT, **kw)
        expect = (expect,) if isinstance(expect, int) else expect
        if r.status_code not in expect:
            raise ApiError("%s %s: HTTP %d, expected %s: %s" % (
                method, url, r.status_code, "/".join(map(str, expect)), r.text[:300]))
        return r

    def _json(self, method, url, expect, **kw):
        r = self.request(method, url, expect, **kw)
        return r.json() if r.content else None

    # -- compute -------------------------------------------------------------------
    def compute(self, method, path, expect=200, **kw):
        return self._json(method, self.endpoint("compute") + path, expect, **kw)

    def server(self, server_id):
        """The server, or None once it is gone (404)."""
        r = self.request("GET", "%s/servers/%s" % (self.endpoint("compute"), server_id),
                         (200, 404))
        return r.json()["server"] if r.status_code == 200 else None

    def action(self, server_id, body, expect=(200, 202)):
        return self.compute("POST", "/servers/%s/action" % server_id, expect, json=body)

    # -- network -------------------------------------------------------------------
    def network(self, method, path, expect=200, **kw):
        """The Neutron-shaped API: ``path`` below /v2.0."""
        return self._json(method, self.endpoint("network") + "/v2.0" + path, expect, **kw)

    def ports_of(self, server_id):
        return self.network("GET", "/ports", params={"device_id": str(server_id)})["ports"]

    def has_ipv6(self, network_id):
        """Whether the network has an IPv6 subnet."""
        subnets = self.network("GET", "/subnets", params={"network_id": str(network_id)})
        return any(s.get("ip_version") == 6 and str(s.get("network_id")) == str(network_id)
                   for s in subnets["subnets"])
