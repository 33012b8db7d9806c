"""The whole loop in real Chromium, in 简体中文: a detractor answers on a phone, the worker opens a
case in the right team's queue, an agent replies and resolves it, the follow-up survey goes out by
mail (the sink), the customer answers low on the phone, and the case is reopened."""

from __future__ import annotations

import re
import socket
import threading
import time
from datetime import date
from email import policy
from email.parser import BytesParser

import pytest
import uvicorn
from sqlalchemy import select, update

from conftest import PULSE_DEFINITION
from patronage.cases import setup
from patronage.cases.rules import add_rule, parse_condition
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import cases, customers, invitations
from patronage.surveys.program import add_wave, create_survey, draw_sample, set_status
from patronage.surveys.triggers import add_trigger
from patronage.web import create_app
from patronage.work import work_once
from test_browser import CHROMIUM_FLAGS, chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.db]


def _answer_low(page, url, comment):
    page.goto(url)
    page.click("label.pick:has(input[name=nps][value='3'])")
    page.click("label.pick:has(input[name='delivery.exp'][value='9'])")
    page.click("label.pick:has(input[name=delivery][value='4'])")
    page.click("button[value=next]")
    page.fill("textarea[name=why_low]", comment)
    page.check("input[name=channels][value=phone]")
    page.click("button[value=submit]")
    page.wait_for_selector(".thanks")


def test_from_a_detractor_to_a_reopened_case(panel, db_url, tmp_path):
    from playwright.sync_api import sync_playwright

    engine, info = panel
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    sink = tmp_path / "mail-sink"
    settings = Settings(database_url=db_url, mail_backend="sink", mail_sink_dir=str(sink),
                        public_base_url=base)
    with write_transaction(engine) as conn:
        conn.execute(update(customers).values(email="buyer@example.com"))
    setup.add_team(engine, "华东服务组", lead="analyst@example.com", members=["agent@example.com"])
    setup.add_team(engine, "华北服务组", members=["admin@example.com"])
    setup.add_policy(engine, "standard", first_response_minutes=120, resolution_minutes=480)
    setup.add_assignment_rule(engine, team="华东服务组", region="East China")
    setup.add_assignment_rule(engine, team="华北服务组", position=1)
    add_rule(engine, "detractor", "差评预警", "nps <= 6")
    code = create_survey(engine, PULSE_DEFINITION)
    set_status(engine, code, "open")
    add_wave(engine, code, "W1", date(2026, 7, 1))
    draw_sample(engine, code, "W1", method="simple", n=1, seed=3, channel="link",
                today=date(2026, 7, 2))
    check = create_survey(engine, {**PULSE_DEFINITION, "code": "case-check"})
    set_status(engine, check, "open")
    add_trigger(engine, check, "case_closed", 0, reopen_condition=parse_condition("nps <= 6"))
    with engine.connect() as conn:
        token = conn.execute(select(invitations.c.token)).scalar_one()

    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(),
                                                 args=CHROMIUM_FLAGS)
            phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                                     has_touch=True)
            _answer_low(phone, f"{base}/s/{token}", "送货太慢，很失望")
            assert work_once(engine, settings)["cases opened"] == 1

            desk = browser.new_context(viewport={"width": 1440, "height": 900})
            desk.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
            page = desk.new_page()
            email, password = info["logins"]["agent"]
            page.goto(base + "/cases")
            page.fill("#email", email)
            page.fill("#password", password)
            page.click("button.primary")
            page.click("#tab-team")
            page.wait_for_selector("table#queue")
            row = page.locator("table#queue tbody tr", has_text="差评预警")
            assert row.count() == 1 and "华东服务组" in row.inner_text()
            row.locator("a[href^='/cases/C']").first.click()
            page.wait_for_selector("#case-title")
            assert "送货太慢" in page.content()
            page.fill("#reply-body", "非常抱歉，已为您加急补发。")
            page.click("#reply-form button")
            page.wait_for_selector("#notice")
            page.click("#step-resolved")
            page.wait_for_selector("#reopen-form")
            assert page.locator("#case-status").inner_text() == "已解决"
            number = page.locator("#case-title").inner_text().split()[0]

            done = work_once(engine, settings)
            assert done["invited"] == 1 and done["mail sent"] >= 1, done
            mails = [BytesParser(policy=policy.default).parsebytes(f.read_bytes())
                     for f in sorted(sink.glob("*.eml"))]
            followup = [m for m in mails if "buyer@example.com" in str(m["To"])]
            body = followup[-1].get_body(preferencelist=("plain",)).get_content()
            link = re.search(rf"{re.escape(base)}/s/[\w-]+", body).group(0)
            _answer_low(phone, link, "还是没收到")
            assert work_once(engine, settings)["cases reopened"] == 1

            page.goto(f"{base}/cases/{number}")
            assert page.locator("#case-status").inner_text() == "已分配"
            assert page.locator("li.event.kind-reopened").count() == 1
            page.screenshot(path=str(tmp_path / "case-reopened.png"), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    with engine.connect() as conn:
        assert conn.execute(select(cases.c.round).where(cases.c.rule_id.is_not(None))) \
            .scalar_one() == 2
