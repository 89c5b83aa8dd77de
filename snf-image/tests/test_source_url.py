"""Images fetched over http with pycurl (the image service's signed links), against a
real HTTP server on loopback."""

import hashlib
import http.server
import json
import threading

import pytest

from synnefo.snf_image import config, disk, progress, source
from synnefo.snf_image.errors import ImageError

MiB = 1 << 20
IMAGE = bytearray(3 * MiB)
IMAGE[510:512] = b"\x55\xaa"
IMAGE[2 * MiB:2 * MiB + 4] = b"data"
IMAGE = bytes(IMAGE)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        path = self.path.split("?")[0]
        if path == "/image/file":
            self.send_response(200)
            self.send_header("Content-Length", str(len(IMAGE)))
            self.end_headers()
            self.wfile.write(IMAGE)
        elif path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/image/file")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/nosize":  # no Content-Length: the body ends with the connection
            self.send_response(200)
            self.end_headers()
            self.wfile.write(IMAGE)
            self.close_connection = True
        elif path == "/big":  # says 9 MiB; the provider stops before writing anything
            self.send_response(200)
            self.send_header("Content-Length", str(9 * MiB))
            self.end_headers()
            self.wfile.write(IMAGE)
        elif path == "/expired":
            self.send_error(403)
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()


def fetch(url, target, checksum="", progress_factory=None):
    t = disk.Target(str(target))
    copy = disk.Copy(t, "diskdump", checksum, progress_factory)
    try:
        source.from_url(url, copy, config.load("/nonexistent"))
    except ImageError:
        t.wipe()
        raise
    finally:
        t.close()
    return copy


@pytest.mark.parametrize("path", ["/image/file?sig=abc&expires=1", "/moved"])
def test_url_image_lands_on_the_disk(server, target, path):
    copy = fetch(server + path, target, hashlib.sha256(IMAGE).hexdigest())
    assert copy.total == copy.done == len(IMAGE)
    assert target.read_bytes()[:len(IMAGE)] == IMAGE


@pytest.mark.parametrize("path,message,code", [
    ("/nothing?sig=secret", "image not found at http://127.0.0.1:", 404),
    ("/expired?sig=secret", "refused the image link (HTTP 403", 500),
])
def test_url_errors_are_readable_and_hide_the_signature(server, target, path, message, code):
    with pytest.raises(ImageError, match=message.replace("(", r"\(")) as e:
        fetch(server + path, target)
    assert e.value.code == code and "secret" not in e.value.message


def test_url_without_a_size_still_ends_at_100(server, target, tmp_path):
    out = tmp_path / "progress.jsonl"
    copy = fetch(server + "/nosize", target, hashlib.sha256(IMAGE).hexdigest(),
                 lambda total: progress.Progress("sh -c 'cat > %s'" % out, total, 0))
    copy.progress.close()
    assert copy.total is None and copy.done == len(IMAGE)
    values = [json.loads(line)["progress"] for line in out.read_text().splitlines()]
    assert values == sorted(set(values)) and values[-1] == 100


def test_url_image_larger_than_the_disk(server, target):
    with pytest.raises(ImageError, match=r"the image \(9 MiB\) is larger than the disk"):
        fetch(server + "/big", target)
    assert target.read_bytes() == bytes(8 * MiB)


def test_url_checksum_mismatch_wipes(server, target):
    with pytest.raises(ImageError, match="checksum mismatch"):
        fetch(server + "/image/file", target, "0" * 64)
    assert target.read_bytes() == bytes(8 * MiB)


def test_unreachable_server(target):
    with pytest.raises(ImageError, match="could not fetch the image from http://127.0.0.1:9/x"):
        fetch("http://127.0.0.1:9/x?sig=s", target)


def test_shown_drops_query_credentials_and_signatures():
    assert source.shown("https://u:p@api.example.org:8443/images/x.img?sig=1") == \
        "https://api.example.org:8443/images/x.img"
    assert source.shown("http://10.0.0.1/image/node/3/1796048533/" + "ab12" * 16) == \
        "http://10.0.0.1/image/node/3/1796048533/<signature>"
