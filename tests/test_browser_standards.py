"""The service standards and the journey view in real headless Chromium on a phone (390×844) and
a desktop (1440×900), in Simplified Chinese: an analyst opens 服务标准 from the menu, a
standard from its card, picks 网点 and 北京, sees the p chart drawn with the slipped month
marked in the table, and reaches the journey view; no page is wider than the screen."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from patronage.settings import Settings
from patronage.standards.records import add_standard
from patronage.web import create_app
from test_browser import CHROMIUM_FLAGS, chromium_path
from test_standards import _calls

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture
def server(panel, db_url):
    engine, info = panel
    _calls(engine)
    add_standard(engine, code="answer-20s", name="80% 的来电在 20 秒内接通", metric="waiting",
                 threshold="20s", target="80%", touchpoint="inquiry",
                 owner="analyst@example.com")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=db_url)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", info["logins"]["analyst"]
    server.should_exit = True
    thread.join(timeout=10)


def _fits(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll} px wide on a {width} px screen"


@pytest.mark.parametrize("width,height", [(390, 844), (1440, 900)])
def test_an_analyst_follows_a_standard_to_its_slipped_site(server, width, height):
    from playwright.sync_api import sync_playwright

    base, (email, password) = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(),
                                             args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": width, "height": height})
        context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(base + "/login")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        page.click("#menu-standards")
        page.wait_for_url("**/standards")
        card = page.locator("#standard-answer-20s")
        assert "咨询" in card.inner_text() and "目标 80%" in card.inner_text()
        _fits(page, width)
        card.locator("h2 a").click()
        page.wait_for_url("**/standards/answer-20s")
        page.select_option("select[name=by]", "site")
        page.click("#show-unit")
        page.wait_for_url("**by=site**")
        page.select_option("select[name=unit]", "北京")
        page.click("#show-unit")
        page.wait_for_url("**unit=%E5%8C%97%E4%BA%AC**")
        assert "北京" in page.locator("#compliance h2").inner_text()
        page.wait_for_selector("#chart-p .main-svg")
        april = page.locator("#periods tbody tr", has_text="2026-04")
        assert "signal" in april.get_attribute("class") and "30.0%" in april.inner_text()
        box, screen = page.locator("#chart-p").bounding_box(), width
        assert box["x"] >= 0 and box["x"] + box["width"] <= screen
        _fits(page, width)
        page.goto(base + "/standards")
        page.click("text=客户旅程")
        page.wait_for_url("**/journey")
        assert page.locator("#kind-inquiry th").inner_text() == "咨询"
        _fits(page, width)
        browser.close()
