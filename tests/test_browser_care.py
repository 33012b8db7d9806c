"""An agent's care day in real Chromium, in 简体中文: a purchase rule made a follow-up call for
them; they open today's list, the call screen, choose 联系上，有问题 with a note, and the case it
opens is on the customer's profile."""

from __future__ import annotations

import socket
import threading
import time
import pytest
import uvicorn
from sqlalchemy import select

from patronage.care.rules import add_rule, run_rules
from patronage.cases import setup
from patronage.cases.inputs import now_utc
from patronage.settings import Settings
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import cases, transactions
from patronage.web import create_app
from test_browser import CHROMIUM_FLAGS, chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.db]


def test_today_list_call_screen_problem_opens_a_case_on_the_profile(panel, db_url, tmp_path):
    from playwright.sync_api import sync_playwright

    engine, info = panel
    executable = chromium_path()
    setup.add_team(engine, "华东服务组", members=["agent@example.com"])
    add_rule(engine, trigger="purchase", params={"days": 0, "category": "空调"},
             team="华东服务组", name="空调安装回访",
             scripts={"zh_Hans": "您好{name}，您购买的{product}安装好了吗？"})
    with write_transaction(engine) as conn:  # then 王伟 (C003) bought an air conditioner
        insert_rows(conn, transactions, [{"external_id": "AC-1", "customer_id": 3,
                                          "occurred_at": now_utc(), "amount": 3999.0,
                                          "product": "KFR-35", "category": "空调",
                                          "is_refund": False}])
    assert run_rules(engine) == 1

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=db_url)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
            context = browser.new_context(viewport={"width": 390, "height": 844},
                                          is_mobile=True, has_touch=True)
            context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
            page = context.new_page()
            email, password = info["logins"]["agent"]
            page.goto(base + "/care")
            page.fill("#email", email)
            page.fill("#password", password)
            page.click("button.primary")
            page.wait_for_selector("table#care-list")
            assert page.locator("#menu-care .count").inner_text() == "1"
            row = page.locator("table#care-list tbody tr", has_text="王伟")
            assert row.count() == 1 and "空调安装回访" in row.inner_text()
            row.locator("td.number a").click()
            page.wait_for_selector("#task-script")
            assert "您好王伟，您购买的KFR-35安装好了吗？" in page.locator(".script").inner_text()
            assert page.locator("#call-phone").get_attribute("href").startswith("tel:")
            page.select_option("#outcome", label="联系上，有问题")
            page.fill("#outcome-note", "空调不制冷，客户要求上门检修")
            page.click("#save-outcome")
            page.wait_for_selector("#task-case-link")
            number = page.locator("#task-case").inner_text()
            assert "已为该问题创建投诉单" in page.locator("#notice").inner_text()
            page.screenshot(path=str(tmp_path / "care-call-screen.png"), full_page=True)
            page.click("#task-customer-link")
            page.wait_for_selector(f"a[href='/cases/{number}']")
            assert page.url.endswith("/customers/3")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    with engine.connect() as conn:
        opened = conn.execute(select(cases.c.customer_id)
                              .where(cases.c.description == "空调不制冷，客户要求上门检修")).one()
    assert tuple(opened) == (3,)
