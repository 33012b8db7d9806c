"""Static files and the 4.8 MB Plotly bundle travel compressed to browsers that accept gzip
(issue 10 item 31); pages with forms and tokens are not compressed (BREACH)."""

from __future__ import annotations

import gzip
from importlib.resources import files
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from patronage.settings import Settings
from patronage.web import create_app

GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture
def client(engine, db_url):
    with TestClient(create_app(Settings(database_url=db_url))) as test_client:
        yield test_client


def _raw_size(response) -> int:
    return int(response.headers["content-length"])


def test_the_plotly_bundle_is_sent_gzipped_and_whole(client):
    original = Path(str(files("plotly") / "package_data" / "plotly.min.js")).read_bytes()
    response = client.get("/vendor/plotly.min.js", headers=GZIP)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age" in response.headers["cache-control"]
    assert _raw_size(response) < 0.35 * len(original)  # about 1.4 of 4.8 MB
    assert response.content == original  # the client decompressed it: nothing lost


def test_the_plotly_bundle_is_plain_for_clients_without_gzip(client):
    response = client.get("/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    original = Path(str(files("plotly") / "package_data" / "plotly.min.js")).read_bytes()
    assert _raw_size(response) == len(original)


@pytest.mark.parametrize("name", ["style.css", "charts.js"])
def test_static_files_are_sent_gzipped(client, name):
    original = (Path(str(files("patronage.web"))) / "static" / name).read_bytes()
    response = client.get(f"/static/{name}", headers=GZIP)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert _raw_size(response) < 0.6 * len(original)
    assert gzip.decompress(gzip.compress(original)) == response.content


def test_pages_with_tokens_are_not_compressed(client):
    response = client.get("/login", headers=GZIP)
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
