"""The filtered overview in headless Chromium, in Simplified Chinese, on a desktop and a 390 px
phone: the filter bar fits, the filters stay in the address, the drill-down opens the list.

Set ``PATRONAGE_SCREENSHOT_DIR`` to keep the screenshots for a look."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import update

from patronage.storage import write_transaction
from patronage.storage.schema import customers
from test_browser import browser, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1440, 390])
def test_filtered_overview_in_chinese(panel, live_server, browser, tmp_path, width):  # noqa: F811
    engine, _info = panel
    with write_transaction(engine) as conn:
        conn.execute(update(customers).where(customers.c.external_id == "C002")
                     .values(region="North China"))
    base, info = live_server
    email, password = info["logins"]["analyst"]
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button.primary")
    page.wait_for_url(base + "/")
    page.click("form.lang button[value=zh_Hans]")
    page.wait_for_selector("h1:text('总览')")

    # On a phone the filter bar starts folded, the figures first; a tap on "筛选" opens it.
    panel = page.locator("#filter-panel")
    assert panel.evaluate("d => d.open") == (width > 600)
    if width <= 600:
        assert page.locator("form#filters select[name=region]").is_hidden()
        page.click("#filter-panel > summary")
    page.select_option("form#filters select[name=region]", "North China")
    page.click("form#filters button[type=submit]")
    page.wait_for_selector("#active-filters")
    assert "region=North+China" in page.url
    assert "地区" in page.locator("#active-filters").inner_text()
    if width <= 600:  # folded again, saying how many filters are chosen
        assert "已选 1 项" in page.locator("#filter-panel > summary").inner_text()
    assert page.locator("#waves tbody tr").nth(0).locator("td").nth(1).inner_text() == "10"
    assert "样本太少" in page.locator("#kpi-nps").inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the {width} px screen"
    shot = tmp_path / f"overview-filtered-{width}.png"
    page.screenshot(path=str(shot), full_page=True)

    page.locator("#kpi-nps a.drill").first.click()
    page.wait_for_selector("#respondents")
    assert "region=North+China" in page.url and "group=detractors" in page.url
    assert "贬损者" in page.locator("h1").inner_text()
    list_shot = tmp_path / f"respondents-{width}.png"
    page.screenshot(path=str(list_shot), full_page=True)
    keep = os.environ.get("PATRONAGE_SCREENSHOT_DIR")
    if keep:
        for made in (shot, list_shot):
            shutil.copy(made, Path(keep) / made.name)
    assert errors == []
