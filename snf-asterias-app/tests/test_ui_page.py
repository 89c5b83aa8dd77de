"""The web application's page (synnefo.ui): served at /ui/ with a strict Content-Security-
Policy, its assets and translation catalog same-origin scripts, and the site root sending
browsers there while API clients still get the JSON service document."""

import gettext
import json
import re
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

UI = Path(__file__).resolve().parents[1] / "synnefo" / "ui"


def test_the_page_has_a_csp_without_unsafe_inline_and_no_inline_code():
    r = Client().get("/ui/")
    assert r.status_code == 200
    csp = r["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    html = r.content.decode()
    # every script has a src; no style element or style attribute; no on* handler
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html and " style=" not in html
    assert re.findall(r"\son[a-z]+=", html) == []
    assert "/static/ui/ui.js" in html and "/static/ui/ui.css" in html
    assert 'src="/ui/jsi18n.js"' in html


def test_no_inline_style_or_html_parsing_in_the_script():
    js = (UI / "static" / "ui" / "ui.js").read_text()
    # what the API returns is only ever put in the page as text
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "eval(" not in js
    assert ".style." not in js  # (a CSP without unsafe-inline would block inline styles)


def test_the_translation_catalog_is_a_script():
    r = Client().get("/ui/jsi18n.js")
    assert r.status_code == 200
    assert "javascript" in r["Content-Type"]
    assert b"gettext" in r.content


def test_the_root_redirects_browsers_and_answers_api_clients_json():
    c = Client()
    r = c.get("/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert r.status_code == 302 and r["Location"] == "/ui/"
    for accept in ("application/json", "*/*", None):
        r = c.get("/", **({"HTTP_ACCEPT": accept} if accept else {}))
        assert r.status_code == 200, accept
        assert r.json()["service"] == "Synnefo asterias"


def test_the_page_takes_get_only():
    assert Client().post("/ui/").status_code == 405


def test_a_greek_browser_gets_the_greek_page_and_catalog():
    c = Client()
    page = c.get("/ui/", HTTP_ACCEPT_LANGUAGE="el-GR,el;q=0.9,en;q=0.5").content.decode()
    assert '<html lang="el">' in page and "Σύνδεση" in page
    catalog = c.get("/ui/jsi18n.js", HTTP_ACCEPT_LANGUAGE="el").content.decode()
    assert json.dumps("Λάθος όνομα χρήστη ή κωδικός.")[1:-1] in catalog  # (\u escapes)
    # the default stays English, and the API's answers are not translated
    assert "Σύνδεση" not in c.get("/ui/").content.decode()
    assert "Content-Language" not in c.get("/compute/v2.1/", HTTP_ACCEPT_LANGUAGE="el")


def test_every_string_of_the_script_has_a_greek_translation():
    with open(UI / "locale" / "el" / "LC_MESSAGES" / "djangojs.mo", "rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    js = (UI / "static" / "ui" / "ui.js").read_text()
    literals = re.findall(r'\b_\("((?:[^"\\]|\\.)*)"\)', js)
    assert len(literals) > 100
    # (a string split over lines in the script is joined by makemessages; one-line ones
    # are all of them here)
    assert [s for s in literals if not catalog.get(s)] == []
