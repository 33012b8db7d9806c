"""Static files and the Plotly bundle under versioned addresses that browsers keep a year
without asking again (issue 14 item 6: repeat visits take them from the cache): the version
is the file's content hash (the plotly package's version for the bundle), so a changed file gets
a new address, and an address without the current version is revalidated."""

from __future__ import annotations

import hashlib
import re
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from patronage.settings import Settings
from patronage.web import create_app
from patronage.web.assets import IMMUTABLE, Assets
from staff_login import log_in

STATIC = Path(str(files("patronage.web"))) / "static"
TEMPLATES = Path(str(files("patronage.web"))) / "templates"


@pytest.fixture
def client(panel, db_url):
    _engine, info = panel
    with TestClient(create_app(Settings(database_url=db_url))) as test_client:
        test_client.info = info
        yield test_client


def _addresses(html: str) -> list[str]:
    page = BeautifulSoup(html, "html.parser")
    return ([tag["href"] for tag in page.find_all("link", href=True)]
            + [tag["src"] for tag in page.find_all("script", src=True)])


def test_a_page_names_its_static_files_by_their_content_hash(client):
    addresses = _addresses(client.get("/login").text)
    digest = hashlib.sha256((STATIC / "style.css").read_bytes()).hexdigest()[:12]
    assert f"/static/style.css?v={digest}" in addresses
    assert all("?v=" in address for address in addresses if address.startswith("/static/"))


@pytest.mark.parametrize("path", ["/", "/analysis", "/loyalty", "/cases/analysis"])
def test_every_file_a_dashboard_names_is_kept_a_year(client, path):
    log_in(client)
    page = client.get(path)
    assert page.status_code == 200
    addresses = _addresses(page.text)
    assert f"/vendor/plotly-{version('plotly')}.min.js" in addresses
    assert "/vendor/plotly.min.js" not in addresses
    for address in addresses:
        response = client.get(address)
        assert response.status_code == 200, address
        assert response.headers["cache-control"] == IMMUTABLE, address
        assert "immutable" in response.headers["cache-control"]


def test_the_versioned_plotly_bundle_is_the_bundle(client):
    versioned = client.get(f"/vendor/plotly-{version('plotly')}.min.js")
    plain = client.get("/vendor/plotly.min.js")
    assert versioned.content == plain.content
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert plain.headers["cache-control"] == "public, max-age=86400"
    stale = client.get("/vendor/plotly-0.0.1.min.js")  # a page of an older release
    assert stale.content == plain.content
    assert stale.headers["cache-control"] == "public, max-age=86400"


def test_an_address_without_the_current_version_is_revalidated(client):
    assert client.get("/static/charts.js").headers["cache-control"] == "no-cache"
    assert client.get("/static/charts.js?v=000000000000").headers["cache-control"] == "no-cache"
    missing = client.get("/static/nothing.js?v=000000000000")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"


def test_a_changed_file_gets_a_new_address(tmp_path):
    (tmp_path / "app.js").write_text("one")
    assert Assets(tmp_path, "1").url("app.js") == (
        "/static/app.js?v=" + hashlib.sha256(b"one").hexdigest()[:12])
    (tmp_path / "app.js").write_text("two")
    assert Assets(tmp_path, "1").url("app.js").endswith(hashlib.sha256(b"two").hexdigest()[:12])
    with pytest.raises(ValueError, match="no static file '../secret'"):
        Assets(tmp_path / "static", "1").url("../secret")


def test_templates_name_static_files_only_through_their_versions():
    literal = re.compile(r"""["'](/static/|/vendor/)""")
    offenders = [path.name for path in TEMPLATES.glob("*.html") if literal.search(path.read_text())]
    assert offenders == []
