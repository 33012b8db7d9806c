"""The desk's settings in real headless Chromium, in 简体中文, on a desktop (1440×900) and a phone
(390×844): an admin adds a member to a team and marks a company day off; every settings page fits
the screen. Screenshots go to ``PATRONAGE_SCREENSHOTS`` (default: the test's temporary folder)."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from test_browser import CHROMIUM_FLAGS, chromium_path
from test_browser_cases import _fits, desk_server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_an_admin_sets_up_the_desk(desk_server, tmp_path, width, height):  # noqa: F811
    from playwright.sync_api import sync_playwright

    base, info, _numbers = desk_server
    shots = Path(os.environ.get("PATRONAGE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    email, password = info["logins"]["admin"]
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
        page.click("#desk-settings")
        page.wait_for_selector("h1:text('工单台设置')")
        team = page.locator('section[data-team="大客户组"]')
        team.locator("select[name=email]").select_option("agent@example.com")
        team.locator("form.add-member button").click()
        page.wait_for_selector("#notice")
        assert "agent@example.com" in page.locator('section[data-team="大客户组"] ul.members') \
            .inner_text()
        _fits(page, width, "the teams page")
        page.screenshot(path=str(shots / f"desk-teams-{width}.png"), full_page=True)

        page.goto(base + "/desk/days")
        day = (date.today() + timedelta(days=2)).isoformat()
        page.fill("#day-day", day)
        page.select_option("#day-kind", "off")
        page.fill("#day-name", "公司年会")
        page.click("#day-form button.primary")
        page.wait_for_selector("#notice")
        assert page.locator(f'#days-grid td[data-day="{day}"]').get_attribute(
            "data-working") == "0"
        _fits(page, width, "the working days page")
        page.screenshot(path=str(shots / f"desk-days-{width}.png"), full_page=True)
        for section in ("categories", "levels", "routing", "keys"):
            page.goto(f"{base}/desk/{section}")
            _fits(page, width, section)
            page.screenshot(path=str(shots / f"desk-{section}-{width}.png"), full_page=True)
        page.fill("#key-name", "热线系统")
        page.check("input[value='cases:read']")
        page.click("#key-form button.primary")
        page.wait_for_selector("#new-key")
        assert "/desk/keys" == page.url.removeprefix(base)  # the key is not in the address
        _fits(page, width, "the new key")
        page.screenshot(path=str(shots / f"desk-key-created-{width}.png"), full_page=True)
        assert errors == []
        context.close()
        browser.close()
