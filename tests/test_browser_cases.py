"""The case desk in real headless Chromium, in 简体中文: an agent opens the queue, opens a case,
replies and resolves it, on a desktop (1440×900) and a phone (390×844) without sideways
scrolling. Screenshots go to ``PATRONAGE_SCREENSHOTS`` (default: the test's temporary folder)."""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import update

from patronage.cases.inputs import now_utc
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import cases
from patronage.web import create_app
from test_browser import CHROMIUM_FLAGS, chromium_path
from test_case_pages import seed_desk

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture
def desk_server(panel, db_url):
    engine, info = panel
    numbers = seed_desk(engine)
    with write_transaction(engine) as conn:  # one case late, one due soon: red and amber
        conn.execute(update(cases).where(cases.c.severity == "urgent").values(
            resolution_due_at=now_utc() - timedelta(hours=3), first_response_due_at=None))
        conn.execute(update(cases).where(cases.c.subject == "货物破损，要求换货").values(
            resolution_due_at=now_utc() + timedelta(hours=2, minutes=5)))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=db_url)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", info, numbers
    server.should_exit = True
    thread.join(timeout=10)


def _fits(page, width, what):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{what} is {scroll} px wide on a {width} px screen"


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_an_agent_replies_to_a_case_and_resolves_it(desk_server, tmp_path, width, height):
    from playwright.sync_api import sync_playwright

    base, info, numbers = desk_server
    shots = Path(os.environ.get("PATRONAGE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    email, password = info["logins"]["agent"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": width, "height": height},
                                      is_mobile=width < 500, has_touch=width < 500)
        context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + "/cases")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("button.primary")
        page.wait_for_selector("h1:text('工单')")
        page.click("#tab-team")
        page.wait_for_selector("table#queue")
        assert page.locator("table#queue tbody tr").count() == 2
        assert page.locator(".due-breached").first.inner_text() == "已超时3小时"
        assert page.locator(".due-soon").first.inner_text() == "2小时后到期"
        assert page.locator("table#queue").inner_text().count("<script>") == 1  # as text
        _fits(page, width, "the queue")
        page.screenshot(path=str(shots / f"cases-queue-{width}.png"), full_page=True)

        page.click(f"a[href='/cases/{numbers['east']}']")
        page.wait_for_selector("#case-title")
        _fits(page, width, "the case page")
        page.fill("#reply-body", "您好，已安排换货，明天送到。")
        page.click("#reply-form button")
        page.wait_for_selector("#notice")
        assert page.locator("#case-status").inner_text() == "处理中"
        assert "已安排换货" in page.locator("li.event.kind-reply").inner_text()
        page.fill("#status-note", "客户确认收到")
        page.click("#step-resolved")
        page.wait_for_selector("#reopen-form")
        assert page.locator("#case-status").inner_text() == "已解决"
        _fits(page, width, "the resolved case")
        page.screenshot(path=str(shots / f"case-resolved-{width}.png"), full_page=True)

        page.goto(base + "/cases/new?customer=C001")
        _fits(page, width, "the new case form")
        page.screenshot(path=str(shots / f"case-new-{width}.png"), full_page=True)
        assert errors == []
        context.close()
        browser.close()


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_the_admins_pages_fit_the_screen(desk_server, tmp_path, width, height):
    from playwright.sync_api import sync_playwright

    base, info, numbers = desk_server
    shots = Path(os.environ.get("PATRONAGE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    email, password = info["logins"]["admin"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": width, "height": height},
                                      is_mobile=width < 500, has_touch=width < 500)
        context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
        page = context.new_page()
        page.goto(base + "/cases/rules")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("button.primary")
        page.wait_for_selector("#rule-form")
        page.fill("#rule-code", "detractors")
        page.fill("#rule-name", "贬损者回访")
        page.fill("#rule-condition", "nps <= 6 and comment contains 投诉|退货|律师")
        page.click("#rule-form button.primary")
        page.wait_for_selector("#notice")
        assert page.locator('tr[data-code="detractors"]').count() == 1
        for path, name in (("/cases/rules", "rules"), ("/cases?tab=all", "all"),
                           (f"/cases/{numbers['key']}", "case-key"), ("/customers/1", "profile")):
            page.goto(base + path)
            _fits(page, width, path)
            page.screenshot(path=str(shots / f"admin-{name}-{width}.png"), full_page=True)
        context.close()
        browser.close()
