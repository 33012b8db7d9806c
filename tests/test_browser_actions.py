"""One improvement cycle in real Chromium, in 简体中文: an analyst finds service in the
importance–performance "concentrate here" quadrant, plans an action on it for East China from
that row (制定改进措施), the next wave arrives, and the action's page and the board show its
measured effect against the other customers — on a desktop (1440 px) and on a phone (390 px),
with nothing running past the screen's edge."""

from __future__ import annotations

import os
import re
import socket
import threading
import time

import pytest
import uvicorn

from action_data import add_later_wave, plant_survey
from patronage.labels import set_labels
from patronage.settings import Settings
from patronage.web import create_app
from test_browser import CHROMIUM_FLAGS, chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.db]
SHOTS = os.environ.get("PATRONAGE_SCREENSHOTS")  # a folder to keep the screenshots in


def _serve(db_url):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=db_url)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def _shot(page, tmp_path, name):
    folder = SHOTS or str(tmp_path)
    page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_from_an_ipa_row_to_an_action_to_its_measured_effect(panel, db_url, tmp_path):
    from playwright.sync_api import sync_playwright

    engine, info = panel
    executable = chromium_path()
    plant_survey(engine, later_wave=False)
    set_labels(engine, [("region", "East China", "zh_Hans", "华东"),
                        ("region", "North China", "zh_Hans", "华北")])
    server, thread, base = _serve(db_url)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
            desktop = browser.new_context(viewport={"width": 1440, "height": 900})
            desktop.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
            page = desktop.new_page()
            email, password = info["logins"]["analyst"]
            page.goto(base + "/analysis?survey=planted")
            page.fill("#email", email)
            page.fill("#password", password)
            page.click("main form button[type=submit]")
            page.wait_for_selector("#section-ipa")
            row = page.locator("#section-ipa tbody tr", has_text="重点改进")
            assert row.count() == 1 and "服务" in row.inner_text()
            row.locator("a.plan-action", has_text="制定改进措施").click()
            page.wait_for_selector("#action-form")
            assert page.input_value("#title") == "改进服务"
            assert page.input_value("#metric") == "dimension:service"
            assert "重点改进区" in page.locator("#action-source").inner_text()
            page.select_option("#segment", label="地区: 华东")
            page.fill("#target", "3")
            page.fill("#due", "2026-06-30")
            page.fill("#budget", "50000")
            _shot(page, tmp_path, "action-new-1440")
            page.click("#add-action")
            page.wait_for_selector("#effect-sentence")
            assert page.locator("#notice").inner_text() == "措施已添加。"
            assert page.locator("#effect-sentence").inner_text() == "基线之后尚无新一轮调查或答卷。"
            number = re.search(r"/actions/(\d+)", page.url).group(1)

            add_later_wave(engine)  # the next wave arrives
            page.reload()
            sentence = page.locator("#effect-sentence").inner_text()
            assert re.fullmatch(r"服务 \+\d+\.\d，显著（与其他客户相比）；目标 \+3\.0 已达成",
                                sentence), sentence
            assert "双重差分" in page.locator("#effect-facts").inner_text()
            assert page.locator("#effect-table tbody tr").count() == 2  # 华东 and the others
            page.select_option("#status", label="已完成")
            page.fill("#note", "客服响应流程已上线")
            page.click("#save-action")
            page.wait_for_selector("#notice")
            assert "客服响应流程已上线" in page.locator("#history").inner_text()
            _shot(page, tmp_path, "action-1440")
            page.goto(base + "/actions")
            assert page.locator("#group-achieved .tab-n").inner_text() == "1"
            assert sentence in page.locator(f"tr[data-action='{number}']").inner_text()
            assert page.locator(f"tr[data-action='{number}'] td.n").inner_text() == "¥5.0万"
            _shot(page, tmp_path, "actions-1440")

            phone = browser.new_context(viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True,
                                        storage_state=desktop.storage_state())
            small = phone.new_page()
            for path, name in ((f"/actions/{number}", "action-390"), ("/actions", "actions-390"),
                               ("/actions/new?source=ipa&ref=service&survey=planted",
                                "action-new-390")):
                small.goto(base + path)
                small.wait_for_load_state("networkidle")
                assert _fits(small), path
                _shot(small, tmp_path, name)
            small.goto(base + "/actions")
            card = small.locator(f"tr[data-action='{number}']")
            assert card.locator("td.effect").is_visible()
            assert sentence in card.locator("td.effect").inner_text()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
