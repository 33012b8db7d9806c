"""The complaint analysis page and a case's remedies in real headless Chromium, in 简体中文, on a
desktop (1440×900) and a phone (390×844): the charts are drawn, nothing is wider than the screen.
Screenshots go to ``PATRONAGE_SCREENSHOTS`` (default: the test's temporary folder)."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from patronage.cases import remedies
from patronage.settings import Settings
from patronage.web import create_app
from test_browser import CHROMIUM_FLAGS, chromium_path
from test_complaint_analysis import desk_history  # noqa: F401 (the seeded desk)
from test_complaints_page import LOGINS, _client

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture
def server(desk_history, db_url):  # noqa: F811
    engine, _kind = desk_history
    _client(engine, db_url).close()  # the staff logins
    remedies.add_remedy(engine, 1, "compensation", amount=800, note="赔偿运费与误工")
    remedies.add_remedy(engine, 1, "apology", points=300, note="电话致歉")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=db_url)),
                                        host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not app.started:
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    app.should_exit = True
    thread.join(timeout=10)


def _fits(page, width, what):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{what} is {scroll} px wide on a {width} px screen"


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_the_analysis_and_a_cases_remedies_fit_the_screen(server, tmp_path, width, height):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("PATRONAGE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    email, password = LOGINS["admin"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": width, "height": height},
                                      is_mobile=width < 500, has_touch=width < 500)
        context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": server}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server + "/cases/analysis")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("button.primary")
        page.wait_for_selector("h1:text('投诉分析')")
        page.wait_for_selector("#chart-paradox .main-svg")
        assert page.locator(".chart .main-svg").count() >= 4  # category, month, two paradoxes
        _fits(page, width, "the complaint analysis")
        page.screenshot(path=str(shots / f"complaints-{width}.png"), full_page=True)
        page.goto(server + "/cases/C000001")
        page.wait_for_selector("#remedy-list")
        assert page.locator("#remedy-list .badge").first.inner_text() == "已批准"
        _fits(page, width, "a case with remedies")
        page.locator("#remedies").screenshot(path=str(shots / f"remedies-{width}.png"))
        page.goto(server + "/cases/approvals")
        page.wait_for_selector("table#approvals")
        _fits(page, width, "the approvals list")
        page.screenshot(path=str(shots / f"approvals-{width}.png"), full_page=True)
        assert not errors, errors
        browser.close()
