"""The Analysis page section by section (issue 14 item 6): a filtered view not computed yet
opens at once with each section saying, in the reader's language, that it is being computed;
each section is then fetched from ``/analysis/section/<key>`` (202 while computed) and swapped
in; once all are computed the page comes whole. Migration 0018: the employee surveys are found
from the index on (item_code, response_id) alone."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import text

from conftest import backend_name
from test_browser_layout import _open, chromium  # noqa: F401
from test_page_cache import _analyst, _until

from patronage.reporting import satisfaction
from patronage.reporting.satisfaction import SECTION_KEYS
from patronage.settings import Settings
from patronage.web.app import create_app

pytestmark = pytest.mark.db


@pytest.fixture
def quick_server(demo_company):
    """The demo company served in this process, visits waiting at most 0.3 s, no warmer (the
    background queue is free for the test)."""
    import uvicorn

    url, summary, _company = demo_company
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(database_url=url, page_wait_seconds=0.3, warm_pages_seconds=0)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    email = "analyst@demo.patronage"
    yield f"http://127.0.0.1:{port}", (email, summary.users[email][1])
    server.should_exit = True
    thread.join(timeout=10)


def _held_drivers(monkeypatch, release: threading.Event, when=lambda data: True):
    """The key drivers (the page's first section, so every other waits behind it in the
    background queue) wait for ``release`` when ``when(data)``."""
    drivers = satisfaction.drivers_table

    def held(data, *args, **kwargs):
        if when(data):
            assert release.wait(120)
        return drivers(data, *args, **kwargs)

    monkeypatch.setattr(satisfaction, "drivers_table", held)


def test_sections_being_computed_show_a_chinese_note_then_come_one_by_one(panel, db_url,
                                                                         monkeypatch):
    engine, info = panel
    release = threading.Event()
    _held_drivers(monkeypatch, release)
    settings = Settings(database_url=db_url, page_wait_seconds=0.2, warm_pages_seconds=0)
    try:
        with TestClient(create_app(settings)) as client:
            _analyst(client, info)
            client.cookies.set("patronage_lang", "zh_Hans")
            first = _until(lambda: (r := client.get("/analysis")).status_code == 200 and r)
            page = BeautifulSoup(first.text, "html.parser")
            pending = page.select("section.pending[data-section-src]")
            assert [s["id"] for s in pending] == [f"section-{k}" for k in SECTION_KEYS]
            zh = client.app.state.translations["zh_Hans"].gettext
            for key, section in zip(SECTION_KEYS, pending, strict=True):
                assert section.select_one(".computing").text.strip() == "正在计算…"
                assert section.h2.text == zh(satisfaction.TITLES[key]) != \
                    satisfaction.TITLES[key]
            assert "sections.js" in first.text and 'http-equiv="refresh"' not in first.text
            address = pending[0]["data-section-src"]
            assert address.startswith("/analysis/section/drivers?")
            held = client.get(address)
            assert held.status_code == 202 and held.headers["retry-after"] == "1"
            release.set()
            part = _until(lambda: (r := client.get(address)).status_code == 200 and r)
            section = BeautifulSoup(part.text, "html.parser").select_one("section")
            assert section["id"] == "section-drivers" and "pending" not in section["class"]
            assert section.h2.text == pending[0].h2.text  # the same title, in Chinese
            assert "data-section-src" not in part.text and "<html" not in part.text
            weighting = next(p["data-section-src"] for p in pending
                             if p["id"] == "section-weighting")
            part = _until(lambda: (r := client.get(weighting)).status_code == 200 and r, 120)
            section = BeautifulSoup(part.text, "html.parser").select_one("section")
            assert section["id"] == "section-weighting"
            assert section.select_one("table.analysis tbody tr") is not None
            whole = _until(lambda: "data-section-src" not in (r := client.get("/analysis")).text
                           and r.status_code == 200 and r, 120)
            page = BeautifulSoup(whole.text, "html.parser")
            assert [s["id"] for s in page.select("section.card")] == \
                [f"section-{k}" for k in SECTION_KEYS]
            assert "sections.js" not in whole.text and "正在计算" not in whole.text
            assert client.get("/analysis/section/nothing").status_code == 404
    finally:
        release.set()


def test_a_section_asks_for_an_analyst(panel, db_url):
    settings = Settings(database_url=db_url, warm_pages_seconds=0)
    with TestClient(create_app(settings)) as client:
        response = client.get("/analysis/section/drivers", follow_redirects=False)
        assert response.status_code in (303, 401, 403)


def test_the_employee_surveys_are_found_from_the_index_alone(engine):
    """Migration 0018's index holds the response with the item: SQLite reads no answer row to
    find the responses to the employee item (PostgreSQL: the index is there)."""
    from patronage.satisfaction import sources

    with engine.connect() as conn:
        if backend_name() == "sqlite":
            names = {r[1] for r in conn.execute(text("PRAGMA index_list('answers')"))}
            columns = [r[2] for r in conn.execute(
                text("PRAGMA index_info('ix_answers_item_response')"))]
            plan = " ".join(str(r[-1]) for r in conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT response_id FROM answers WHERE item_code = 'x'")))
            assert "COVERING INDEX ix_answers_item_response" in plan, plan
        else:
            rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes "
                                     "WHERE tablename = 'answers'")).all()
            names = {r[0] for r in rows}
            columns = [c.strip() for c in re.search(
                r"\((.*)\)", dict(rows)["ix_answers_item_response"]).group(1).split(",")]
    assert "ix_answers_item_response" in names and "ix_answers_item" not in names
    assert columns == ["item_code", "response_id"]
    assert sources.employee_surveys(engine) == set()


@pytest.mark.browser
@pytest.mark.slow
def test_in_chromium_on_a_phone_the_loading_note_is_replaced_by_the_sections(
        quick_server, chromium, monkeypatch):  # noqa: F811
    """Chinese, 390 px wide: a filtered view not computed yet shows "正在计算…" in its sections
    (nothing wider than the screen), then each section's table and chart in its place."""
    base, login = quick_server
    release = threading.Event()
    _held_drivers(monkeypatch, release, when=lambda data: set(
        data.meta["customer_region"].dropna()) == {"East China"})
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
    try:
        page = _open(context, base, login, "/")
        page.goto(base + "/analysis?region=East+China")
        while page.locator("meta[http-equiv=refresh]").count():  # the head being prepared
            page.wait_for_timeout(1000)
            page.goto(base + "/analysis?region=East+China")
        note = page.locator("#section-drivers .computing")
        assert note.inner_text().strip() == "正在计算…" and note.is_visible()
        # The second background thread may finish a section behind the held key drivers
        # within the visit's wait (the page shows it): the others are being computed.
        pending = page.locator("section.pending").count()
        assert len(SECTION_KEYS) - 2 <= pending <= len(SECTION_KEYS)
        assert page.locator("#section-drivers.pending").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        release.set()
        page.wait_for_function("() => document.querySelector('[data-section-src]') === null",
                               timeout=240_000)
        assert page.locator(".computing").count() == 0
        assert page.locator("#section-drivers table.analysis tbody tr").count() > 0
        page.wait_for_selector("#chart-drivers .main-svg")  # drawn by charts.js once swapped in
        assert page.evaluate("performance.getEntriesByName('patronage-sections-loaded')"
                             ".length") == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        body = page.locator("main").inner_text()
        assert "Computing" not in body and "could not be loaded" not in body
    finally:
        release.set()
        context.close()
