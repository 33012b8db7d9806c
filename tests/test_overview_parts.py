"""The Overview part by part (issue 14 item 6): a filtered view whose figures are not computed
yet opens at once with its filters, each part (the latest wave's figures, the charts, the
tables, the comments) saying in the reader's language that it is being computed; each part is
then fetched from ``/overview/section/<key>`` (202 while computed) and swapped in by
static/sections.js, the one the Analysis page uses; once computed the page comes whole."""

from __future__ import annotations

import importlib
import threading

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from test_analysis_sections import quick_server  # noqa: F401
from test_browser_layout import _open, chromium  # noqa: F401
from test_page_cache import _analyst, _until

from patronage.settings import Settings
from patronage.web.app import create_app
from patronage.web.overview import PARTS

pytestmark = pytest.mark.db
overview_module = importlib.import_module("patronage.reporting.overview")  # not the function


def _held_figures(monkeypatch, release: threading.Event, when=lambda data: True):
    """The Overview's scores per wave (its figures, not its head) wait for ``release`` when
    ``when(data)``."""
    scores = overview_module.csi_table

    def held(data, *args, **kwargs):
        if when(data):
            assert release.wait(120)
        return scores(data, *args, **kwargs)

    monkeypatch.setattr(overview_module, "csi_table", held)


def _east(data) -> bool:
    return set(data.meta["customer_region"].dropna()) == {"East China"}


def test_the_parts_being_computed_show_a_chinese_note_then_come_in(panel, db_url, monkeypatch):
    engine, info = panel
    release = threading.Event()
    _held_figures(monkeypatch, release)
    settings = Settings(database_url=db_url, page_wait_seconds=0.2, warm_pages_seconds=0)
    try:
        with TestClient(create_app(settings)) as client:
            _analyst(client, info)
            client.cookies.set("patronage_lang", "zh_Hans")
            first = _until(lambda: (r := client.get("/")).status_code == 200 and r)
            page = BeautifulSoup(first.text, "html.parser")
            assert page.select_one("#filters select") is not None
            pending = page.select("section.pending[data-section-src]")
            assert [s["id"] for s in pending] == [f"section-{k}" for k in PARTS]
            zh = client.app.state.translations["zh_Hans"].gettext
            for key, section in zip(PARTS, pending, strict=True):
                assert section.select_one(".computing").text.strip() == "正在计算…"
                assert section.h2.text == zh(PARTS[key]) != PARTS[key]
            assert "sections.js" in first.text and 'http-equiv="refresh"' not in first.text
            assert page.select_one("#kpi-nps") is None
            address = pending[0]["data-section-src"]
            assert address.startswith("/overview/section/kpis?")
            held = client.get(address)
            assert held.status_code == 202 and held.headers["retry-after"] == "1"
            release.set()
            part = _until(lambda: (r := client.get(address)).status_code == 200 and r)
            section = BeautifulSoup(part.text, "html.parser").select_one("section")
            assert section["id"] == "section-kpis" and section.select_one("#kpi-nps")
            assert "<html" not in part.text
            waves = client.get(pending[2]["data-section-src"])
            rows = BeautifulSoup(waves.text, "html.parser").select("#waves tbody tr")
            assert waves.status_code == 200 and rows
            whole = client.get("/")
            page = BeautifulSoup(whole.text, "html.parser")
            assert page.select_one("#kpi-nps") and page.select_one("#waves tbody tr")
            assert "sections.js" not in whole.text and "正在计算" not in whole.text
            assert len(page.select("#waves tbody tr")) == len(rows)
            assert client.get("/overview/section/nothing").status_code == 404
    finally:
        release.set()


def test_a_part_with_nothing_to_show_answers_no_section(panel, db_url):
    engine, info = panel
    settings = Settings(database_url=db_url, warm_pages_seconds=0)
    with TestClient(create_app(settings)) as client:
        _analyst(client, info)
        assert client.get("/").status_code == 200
        comments = client.get("/overview/section/comments")
        assert comments.status_code == 200
        whole = BeautifulSoup(client.get("/").text, "html.parser")
        has_comments = whole.select_one("#comments") is not None
        assert (BeautifulSoup(comments.text, "html.parser").select_one("section")
                is not None) == has_comments


def test_a_part_asks_for_an_analyst(panel, db_url):
    settings = Settings(database_url=db_url, warm_pages_seconds=0)
    with TestClient(create_app(settings)) as client:
        response = client.get("/overview/section/kpis", follow_redirects=False)
        assert response.status_code in (303, 401, 403)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("width", [390, 1280])
def test_in_chromium_the_overview_shows_its_filters_then_its_parts(
        quick_server, chromium, monkeypatch, width):  # noqa: F811
    """Chinese, on a phone (390 px) and a desktop: a filtered Overview not computed yet shows
    its filters and "正在计算…" in each part (nothing wider than the screen), then the figures,
    the charts (drawn by charts.js once swapped in) and the tables in their place."""
    base, login = quick_server
    release = threading.Event()
    _held_figures(monkeypatch, release, when=_east)
    context = chromium.new_context(viewport={"width": width, "height": 844})
    context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
    try:
        page = _open(context, base, login, "/")
        page.goto(base + "/?region=East+China")
        while page.locator("meta[http-equiv=refresh]").count():  # the head being prepared
            page.wait_for_timeout(1000)
            page.goto(base + "/?region=East+China")
        note = page.locator("#section-kpis .computing")
        assert note.inner_text().strip() == "正在计算…" and note.is_visible()
        assert page.locator("section.pending").count() == len(PARTS)
        assert page.locator("#filters select").count() > 0  # the filters, at once
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        release.set()
        page.wait_for_function("() => document.querySelector('[data-section-src]') === null",
                               timeout=240_000)
        assert page.locator(".computing").count() == 0
        assert page.locator("#kpi-nps .value").inner_text().strip() != ""
        assert page.locator("#waves tbody tr").count() > 0
        page.wait_for_selector("#chart-trend .main-svg")  # drawn by charts.js once swapped in
        assert page.evaluate("performance.getEntriesByName('patronage-sections-loaded')"
                             ".length") == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        body = page.locator("main").inner_text()
        assert "Computing" not in body and "could not be loaded" not in body
    finally:
        release.set()
        context.close()


def test_a_repeat_visit_gets_the_same_page_from_the_kept_content(panel, db_url):
    """The content of a page computed in the background is rendered once per visitor: the
    repeat is the same page, the menu still rendered anew, and another session gets its own
    CSRF token."""
    engine, info = panel
    settings = Settings(database_url=db_url, warm_pages_seconds=0)
    with TestClient(create_app(settings)) as client:
        _analyst(client, info)
        client.cookies.set("patronage_lang", "zh_Hans")
        kept = client.app.state.kept_pages
        for path in ("/", "/analysis", "/loyalty"):
            first = client.get(path)
            hits = kept.hits
            again = client.get(path)
            assert first.status_code == again.status_code == 200
            assert kept.hits == hits + 1 and again.text == first.text
            assert 'id="menu-cases"' in again.text and "data-section-src" not in again.text
        token = BeautifulSoup(first.text, "html.parser").select_one(
            "input[name=csrf_token]")["value"]
        with TestClient(client.app) as other:
            _analyst(other, info)
            page = other.get("/loyalty")
            assert page.status_code == 200
            assert token not in page.text
            assert BeautifulSoup(page.text, "html.parser").select_one(
                "input[name=csrf_token]")["value"] in page.text
