"""Where the image bytes come from: a file under IMAGE_DIR, or an http(s) URL.

A URL is the API's short-lived signed link to an image's data
(/image/node/ID/EXPIRES/SIGNATURE), so nodes need no disk shared with the API. It is
never logged whole: shown() drops credentials, query and signature.
"""

import os
import re
import urllib.parse

from synnefo.snf_image.disk import CHUNK
from synnefo.snf_image.errors import ImageError


def shown(url):
    """The URL without query, credentials and signatures (long hex path segments, as in
    the image service's /image/node/ID/EXPIRES/SIGNATURE), for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += ":%d" % parts.port
    path = re.sub(r"/[0-9a-fA-F]{32,}(?=/|$)", "/<signature>", parts.path)
    return "%s://%s%s" % (parts.scheme, host, path)


def image_path(image_dir, name):
    path = os.path.join(image_dir, name)
    # name has no "/" (params); a symlink in IMAGE_DIR is the administrator's choice.
    if not os.path.isfile(path):
        raise ImageError("image %r not found on the node" % name, 404)
    return path


def from_file(path, sink):
    try:
        f = open(path, "rb")
    except OSError as e:
        raise ImageError("cannot read image %s: %s" % (os.path.basename(path), e.strerror),
                         500) from None
    with f:
        sink.start(os.fstat(f.fileno()).st_size)
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            sink.write(chunk)
    sink.finish()


def from_url(url, sink, config):
    import pycurl
    curl = pycurl.Curl()
    state = {"started": False, "error": None, "length": None}

    def header(line):
        # (getinfo cannot run inside perform: the size comes from the headers; a
        # redirect's response starts a new set)
        if line.startswith(b"HTTP/"):
            state["length"] = None
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            state["length"] = int(value.strip())

    def write(data):
        try:
            if not state["started"]:
                state["started"] = True
                sink.start(state["length"])
            sink.write(data)
        except Exception as e:  # noqa: BLE001 - pycurl swallows it; raised after perform
            state["error"] = e
            return -1  # abort the transfer
        return None

    curl.setopt(pycurl.URL, url)
    curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
    curl.setopt(pycurl.REDIR_PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
    curl.setopt(pycurl.FOLLOWLOCATION, True)
    curl.setopt(pycurl.MAXREDIRS, 3)
    curl.setopt(pycurl.FAILONERROR, True)
    curl.setopt(pycurl.NOSIGNAL, True)
    curl.setopt(pycurl.CONNECTTIMEOUT, int(config.number("DOWNLOAD_CONNECT_TIMEOUT")))
    curl.setopt(pycurl.TIMEOUT, int(config.number("DOWNLOAD_TIMEOUT")))
    if config.get("DOWNLOAD_CAFILE"):
        curl.setopt(pycurl.CAINFO, config["DOWNLOAD_CAFILE"])
    curl.setopt(pycurl.HEADERFUNCTION, header)
    curl.setopt(pycurl.WRITEFUNCTION, write)
    try:
        curl.perform()
    except pycurl.error as e:
        if state["error"] is not None:
            raise state["error"] from None
        code = curl.getinfo(pycurl.RESPONSE_CODE)
        if code == 404:
            raise ImageError("image not found at %s" % shown(url), 404) from None
        if code in (401, 403):
            raise ImageError("the image service refused the image link (HTTP %d; "
                             "expired or invalid signature)" % code, 500) from None
        raise ImageError("could not fetch the image from %s: %s"
                         % (shown(url), e.args[-1] if e.args else e), 500) from None
    finally:
        curl.close()
    if not state["started"]:
        sink.start(0)
    sink.finish()


def copy(params, sink, config):
    if params.is_url:
        from_url(params.image, sink, config)
    else:
        from_file(image_path(config["IMAGE_DIR"], params.image), sink)
