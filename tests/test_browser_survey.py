"""A respondent on a phone in real headless Chromium, with JavaScript switched off: the NPS
template's follow-up is asked after a low score, the 0-10 scale is one even row, progress
moves by pages."""

from __future__ import annotations

import pytest
from test_browser import browser, live_server  # noqa: F401  (shared fixtures)

from patronage.surveys.admin import create_from_template
from patronage.surveys.program import set_status

pytestmark = pytest.mark.browser

IMPROVE = "我们最应该改进的一件事是什么？"


def _scale_boxes(page):
    return [page.locator(f"label.pick:has(input[name=nps][value='{v}']) > span").first
            .bounding_box() for v in range(11)]


def test_a_phone_respondent_without_javascript_gets_the_follow_up(live_server, browser,  # noqa: F811
                                                                  panel):
    base, _info = live_server
    engine, _ = panel
    create_from_template(engine, "nps", "nps-phone", title="2026年推荐调查", language="zh_Hans")
    token = set_status(engine, "nps-phone", "open", open_link=True)
    context = browser.new_context(viewport={"width": 390, "height": 844},
                                  java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/o/{token}")
    assert page.locator("h1").inner_text() == "2026年推荐调查"
    assert page.locator(f"text={IMPROVE}").count() == 0
    boxes = _scale_boxes(page)
    assert len({round(b["y"]) for b in boxes}) == 1, "the 0-10 scale wraps on a phone"
    widths = [b["width"] for b in boxes]
    assert max(widths) - min(widths) < 1.5 and min(widths) >= 24  # even, and big enough to tap
    assert boxes[-1]["x"] + boxes[-1]["width"] <= 390
    assert page.locator("[role=progressbar]").get_attribute("aria-valuenow") == "0"

    page.click("label.pick:has(input[name=nps][value='5'])")
    page.fill("textarea[name=nps_reason]", "价格太高")
    page.click("button[name=action][value=next]")
    page.wait_for_selector(f"text={IMPROVE}")
    assert page.locator("[role=progressbar]").get_attribute("aria-valuenow") == "50"
    page.fill("textarea[name=nps_improve]", "送货再快一点")
    page.click("button[name=action][value=submit]")
    page.wait_for_selector("p.thanks")
    assert "感谢" in page.locator("p.thanks").inner_text()
    context.close()
