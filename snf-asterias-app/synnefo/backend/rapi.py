"""A client for Ganeti's remote API (RAPI, version 2) over pycurl.

The only code in the project that speaks RAPI. Errors name the cluster, the call and
Ganeti's own message. Connection failures are retried (the request was never received);
other failures are not, since most RAPI calls submit jobs and must not run twice.

``curl_factory`` makes the pycurl handle; tests replace it with Ganeti's own
``ganeti.rapi.testutils`` fake so that every request meets Ganeti's real handlers.
"""

import html
import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import pycurl

from synnefo.common.protocol import FINAL_JOB_STATUSES

log = logging.getLogger(__name__)

DEFAULT_PORT = 5080
CONNECT_TIMEOUT = 10
TIMEOUT = 60
CONNECT_RETRIES = 3
RETRY_DELAY = 1.0
# curl errors that mean "the request never reached the server"
_CONNECT_ERRORS = {pycurl.E_COULDNT_CONNECT, pycurl.E_COULDNT_RESOLVE_HOST}



class RapiError(Exception):
    """A RAPI call failed: ``code`` is the HTTP status (None: no answer)."""

    def __init__(self, cluster: str, call: str, message: str, code: int | None = None) -> None:
        self.cluster, self.call, self.code, self.message = cluster, call, code, message
        where = "Ganeti cluster %s: %s" % (cluster, call)
        super().__init__("%s failed%s: %s" % (where, " (HTTP %s)" % code if code else "",
                                                message))


def user_reason(exc: BaseException) -> str:
    """The part of a RAPI error a user may read (RapiError messages carry no credentials):
    Ganeti's message, trimmed."""
    text = getattr(exc, "message", None) or str(exc)
    return text.strip()[:300] or "the cluster did not answer"


class RapiClient:
    def __init__(self, host: str, port: int | str | None = DEFAULT_PORT,
                 username: str | None = None, password: str | None = None,
                 verify: bool = False, cafile: str | None = None, timeout: float = TIMEOUT,
                 curl_factory: Callable[[], Any] = pycurl.Curl) -> None:
        self.host = host
        self.port = int(port or DEFAULT_PORT)
        self.username = username
        self.password = password
        self.verify = verify  # check the certificate chain against cafile (pinning)
        self.cafile = cafile
        self.timeout = timeout
        self.curl_factory = curl_factory
        self.base = "https://%s:%d" % (host, self.port)

    # -- transport -------------------------------------------------------------------

    def _curl(self, method: str, url: str, body: Any) -> tuple[int, bytes]:
        curl = self.curl_factory()
        buf = io.BytesIO()
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.CUSTOMREQUEST, method)
        # (Ganeti's test double hands over str, real curl bytes)
        curl.setopt(pycurl.WRITEFUNCTION,
                    lambda chunk: buf.write(chunk.encode("utf-8") if isinstance(chunk, str)
                                            else chunk))
        curl.setopt(pycurl.HTTPHEADER, ["Accept: application/json",
                                        "Content-Type: application/json"])
        curl.setopt(pycurl.CONNECTTIMEOUT, CONNECT_TIMEOUT)
        curl.setopt(pycurl.TIMEOUT, self.timeout)
        curl.setopt(pycurl.NOSIGNAL, 1)
        if self.verify and self.cafile:
            # Pinned cluster certificate: the chain must verify, the name cannot
            # (Ganeti's self-signed certificate names ganeti.example.com).
            curl.setopt(pycurl.SSL_VERIFYPEER, 1)
            curl.setopt(pycurl.CAINFO, self.cafile)
            curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        elif self.verify:
            curl.setopt(pycurl.SSL_VERIFYPEER, 1)
            curl.setopt(pycurl.SSL_VERIFYHOST, 2)
        else:
            curl.setopt(pycurl.SSL_VERIFYPEER, 0)
            curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        if self.username:
            curl.setopt(pycurl.HTTPAUTH, pycurl.HTTPAUTH_BASIC)
            curl.setopt(pycurl.USERPWD, "%s:%s" % (self.username, self.password or ""))
        # Always a body (as Ganeti's own client does): RAPI reads one on every method.
        curl.setopt(pycurl.POSTFIELDS, json.dumps(body) if body is not None else "")
        try:
            curl.perform()
            return curl.getinfo(pycurl.RESPONSE_CODE), buf.getvalue()
        finally:
            close = getattr(curl, "close", None)  # Ganeti's test double has none
            if close is not None:
                close()

    def request(self, method: str, path: str,
                query: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
                body: Any = None) -> Any:
        """Send one request; the decoded JSON answer or a RapiError."""
        url = self.base + path
        if query:
            pairs = query.items() if isinstance(query, Mapping) else query
            url += "?" + urlencode([(k, v) for k, v in pairs if v is not None])
        call = "%s %s" % (method, path)
        for attempt in range(CONNECT_RETRIES):
            try:
                code, data = self._curl(method, url, body)
                break
            except pycurl.error as exc:
                errno, msg = exc.args[0], exc.args[-1]
                if errno in _CONNECT_ERRORS and attempt + 1 < CONNECT_RETRIES:
                    log.warning("Ganeti cluster %s: %s: %s; retrying", self.host, call, msg)
                    time.sleep(RETRY_DELAY)
                    continue
                raise RapiError(self.host, call, msg) from None
        try:
            answer = json.loads(data) if data else None
        except ValueError:
            raise RapiError(self.host, call, "answer is not JSON: %r" % data[:200], code)
        if code != 200:
            message = data[:200].decode("utf-8", "replace")
            if isinstance(answer, dict):
                message = answer.get("message") or message
                if answer.get("explain"):
                    message = "%s: %s" % (message, answer["explain"])
            raise RapiError(self.host, call, html.unescape(message), code)
        return answer

    # -- calls -----------------------------------------------------------------------

    def get_info(self) -> dict[str, Any]:
        return self.request("GET", "/2/info")

    def get_features(self) -> list[str]:
        return self.request("GET", "/2/features")

    def get_operating_systems(self) -> list[str]:
        return self.request("GET", "/2/os")

    def get_instances(self, bulk: bool = True) -> list[Any]:
        return self.request("GET", "/2/instances", {"bulk": int(bool(bulk))})

    def get_instance(self, name: str) -> dict[str, Any]:
        return self.request("GET", "/2/instances/%s" % quote(name, safe=""))

    def get_nodes(self, bulk: bool = True) -> list[Any]:
        return self.request("GET", "/2/nodes", {"bulk": int(bool(bulk))})

    def query(self, resource: str, fields: list[str], qfilter: Any = None) -> list[Any]:
        """Ganeti's query interface: one row of ``fields`` values per item matching
        ``qfilter`` (cheap where the bulk lists are not: /2/jobs?bulk=1 carries every
        job's ops)."""
        answer = self.request("PUT", "/2/query/%s" % quote(resource, safe=""),
                              body={"fields": fields, "qfilter": qfilter})
        return [[value for _status, value in row] for row in answer.get("data", [])]

    def create_instance(self, spec: Mapping[str, Any], dry_run: bool = False) -> int:
        """Submit a create job; ``spec`` is the request body (version 1). -> job id"""
        body = dict(spec, __version__=1)
        return int(self.request("POST", "/2/instances", {"dry-run": int(dry_run) or None},
                                body))

    def delete_instance(self, name: str, dry_run: bool = False,
                        after_job: int | None = None,
                        shutdown_timeout: int | None = None) -> int:
        """Submit a remove job; with ``after_job``, Ganeti starts it only once that job
        has finished (whatever its end: Ganeti's job dependencies). ``shutdown_timeout``:
        seconds the remove waits for a clean shutdown of a running instance."""
        body: dict[str, Any] = {}
        if after_job is not None:
            body["depends"] = [[int(after_job), list(FINAL_JOB_STATUSES)]]
        if shutdown_timeout is not None:
            body["shutdown_timeout"] = shutdown_timeout
        return int(self.request("DELETE", "/2/instances/%s" % quote(name, safe=""),
                                {"dry-run": int(dry_run) or None}, body or None))

    def startup_instance(self, name: str) -> int:
        return int(self.request("PUT", "/2/instances/%s/startup" % quote(name, safe="")))

    def shutdown_instance(self, name: str, timeout: int | None = None) -> int:
        body = {"timeout": timeout} if timeout is not None else None
        return int(self.request("PUT", "/2/instances/%s/shutdown" % quote(name, safe=""),
                                body=body))

    def reboot_instance(self, name: str, reboot_type: str = "soft") -> int:
        return int(self.request("POST", "/2/instances/%s/reboot" % quote(name, safe=""),
                                {"type": reboot_type}))

    def modify_instance(self, name: str, **params: Any) -> int:
        return int(self.request("PUT", "/2/instances/%s/modify" % quote(name, safe=""),
                                body=params))

    def get_instance_tags(self, name: str) -> list[str]:
        return self.request("GET", "/2/instances/%s/tags" % quote(name, safe=""))

    def add_instance_tags(self, name: str, tags: Iterable[str]) -> int:
        return int(self.request("PUT", "/2/instances/%s/tags" % quote(name, safe=""),
                                [("tag", t) for t in tags]))

    def delete_instance_tags(self, name: str, tags: Iterable[str]) -> int:
        return int(self.request("DELETE", "/2/instances/%s/tags" % quote(name, safe=""),
                                [("tag", t) for t in tags]))

    def get_job_status(self, job_id: int | str) -> dict[str, Any]:
        return self.request("GET", "/2/jobs/%d" % int(job_id))

    def wait_for_job(self, job_id: int | str, timeout: float = 120,
                     interval: float = 0.2) -> dict[str, Any]:
        """Poll a job until it finishes (tools and tests only: the service never polls)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_job_status(job_id)
            if job["status"] in FINAL_JOB_STATUSES:
                return job
            if time.monotonic() > deadline:
                raise RapiError(self.host, "wait for job %s" % job_id,
                                "still %s after %d s" % (job["status"], timeout))
            time.sleep(interval)
