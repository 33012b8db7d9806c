"""The dashboard in real headless Chromium (Debian's ``chromium``, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest
import uvicorn

from patronage.settings import Settings
from patronage.web import create_app

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("PATRONAGE_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed: apt-get install chromium chromium-driver")
        pytest.skip("chromium is not installed")
    return path


@pytest.fixture
def live_server(panel, db_url):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(Settings(database_url=db_url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", panel[1]
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def test_log_in_switch_to_simplified_chinese_and_see_nps(live_server, browser, tmp_path):
    base, info = live_server
    email, password = info["logins"]["analyst"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(base + "/")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button.primary")
    page.wait_for_url(base + "/")
    page.click("form.lang button[value=zh_Hans]")
    page.wait_for_selector("h1:text('总览')")

    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert "净推荐值 NPS" in page.locator("#kpi-nps .label").inner_text()
    nps = float(page.locator("#kpi-nps .value").inner_text())
    assert -100 <= nps <= 100
    page.wait_for_selector("#chart-trend .main-svg")  # Plotly drew the trend chart
    assert page.locator("#comments").inner_text().count("<script>") == 1  # shown as text
    screenshot = tmp_path / "overview-zh_Hans.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    assert errors == []


def test_answer_a_simplified_chinese_survey_on_a_phone(panel, db_url, browser, tmp_path):
    """Mobile viewport, keyboard-free taps only, no script needed by the form itself."""
    from datetime import date

    from sqlalchemy import select

    from conftest import PULSE_DEFINITION
    from patronage.storage.schema import invitations, responses
    from patronage.surveys.program import add_wave, create_survey, draw_sample, set_status

    engine, _info = panel
    code = create_survey(engine, PULSE_DEFINITION)
    set_status(engine, code, "open")
    add_wave(engine, code, "W1", date(2026, 7, 1))
    draw_sample(engine, code, "W1", method="simple", n=1, seed=3, channel="link",
                today=date(2026, 7, 2))
    with engine.connect() as conn:
        token = conn.execute(select(invitations.c.token)).scalar_one()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=db_url)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True)
        page.goto(f"http://127.0.0.1:{port}/s/{token}")
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        page.click("button[value=next]")  # nothing answered: the message is in Chinese
        assert "请回答此题。" in page.locator("#q-nps .error").inner_text()
        page.click("label.pick:has(input[name=nps][value='4'])")
        page.click("label.pick:has(input[name='delivery.exp'][value='9'])")
        page.click("label.pick:has(input[name=delivery][value='5'])")
        page.click("button[value=next]")
        page.fill("textarea[name=why_low]", "交货太慢了")
        page.check("input[name=channels][value=phone]")
        page.screenshot(path=str(tmp_path / "survey-phone-zh_Hans.png"), full_page=True)
        page.click("button[value=submit]")
        page.wait_for_selector(".thanks")
        assert "感谢" in page.locator(".thanks").inner_text()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    with engine.connect() as conn:
        stored = conn.execute(select(responses.c.language, responses.c.channel)
                              .where(responses.c.invitation_id.is_not(None))).all()
    assert stored == [("zh_Hans", "web")]


def test_the_field_dashboard_counts_a_new_response_without_a_reload(live_server, pulse,
                                                                     browser):
    from patronage.surveys.submissions import submit

    base, info = live_server
    engine, code, _open_token, _tokens = pulse
    email, password = info["logins"]["admin"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button.primary")
    page.wait_for_url(base + "/")
    page.goto(f"{base}/surveys/{code}")
    completed = '#funnel tr[data-stage="completed"] td'
    before = int(page.locator(completed).inner_text())
    last_hour = int(page.locator('#live tr[data-window="last_hour"] td').inner_text())
    submit(engine, survey_code=code, submission_id="live-1", language="en",
           answers={"nps": 9.0, "delivery": 7.0, "delivery.exp": 8.0})
    page.evaluate("window.patronageFieldRefresh()")  # what the page does every 15 s
    page.wait_for_function(
        f"document.querySelector('{completed}').textContent === '{before + 1}'")
    assert int(page.locator('#live tr[data-window="last_hour"] td').inner_text()) == last_hour + 1
    assert errors == []
