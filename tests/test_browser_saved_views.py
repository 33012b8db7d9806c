"""Saved views and the comparison mode in headless Chromium, in Simplified Chinese, on a desktop
and a 390 px phone: save the filtered Overview as a view, open it from the list, compare a
region with the others, delete the view after confirming.

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


def _fits(page, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the {width} px screen"


@pytest.mark.parametrize("width", [1440, 390])
def test_save_open_compare_and_delete_a_view(panel, live_server, browser, tmp_path,  # noqa: F811
                                             width):
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
    shots = []

    # Filter, then save the view under a name.
    if not page.locator("#filter-panel").evaluate("d => d.open"):  # folded on a phone
        page.click("#filter-panel > summary")
    page.select_option("form#filters select[name=wave]", "2026-Q2")
    page.click("form#filters button[type=submit]")
    page.wait_for_selector("#active-filters")
    page.fill("#view-name", "第二季度")
    page.click("#save-view button[type=submit]")
    page.wait_for_selector("#my-views li.current")
    assert page.locator("#my-views li.current a").inner_text() == "第二季度"
    _fits(page, width)
    shots.append(tmp_path / f"saved-view-{width}.png")
    page.screenshot(path=str(shots[-1]), full_page=True)

    # Elsewhere, the view opens the page with its filters.
    page.click("#clear-filters")
    page.wait_for_selector("#my-views li:not(.current)")
    page.click("#my-views li a")
    page.wait_for_selector("#my-views li.current")
    assert "wave=2026-Q2" in page.url

    # Compare North China with the other regions of this wave.
    page.select_option("#compare-choice", "region:North China")
    page.click("#compare-control button[type=submit]")
    page.wait_for_selector("#comparison")
    assert "/compare?" in page.url and "wave=2026-Q2" in page.url
    assert page.locator("h1").inner_text() == "对比分析"
    row = page.locator("#row-nps").inner_text()
    assert any(word in row for word in ("显著高于", "显著低于", "无显著差异"))
    assert "样本较少" in page.locator("#compare-sides").inner_text()
    _fits(page, width)
    shots.append(tmp_path / f"compare-{width}.png")
    page.screenshot(path=str(shots[-1]), full_page=True)
    page.locator("#side-a a.drill").click()
    page.wait_for_selector("#respondents")
    assert "region=North+China" in page.url and "wave=2026-Q2" in page.url

    # Delete the view, confirming first.
    page.goto(base + "/?wave=2026-Q2")
    page.click("#my-views details.delete-view summary")
    confirm = page.locator("#my-views details.delete-view button.danger")
    assert confirm.is_visible() and "删除视图“第二季度”" in confirm.inner_text()
    box = confirm.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    shots.append(tmp_path / f"delete-view-{width}.png")
    page.screenshot(path=str(shots[-1]), full_page=True)
    confirm.click()
    page.wait_for_selector("#save-view")
    assert page.locator("#my-views").count() == 0
    keep = os.environ.get("PATRONAGE_SCREENSHOT_DIR")
    if keep:
        for made in shots:
            shutil.copy(made, Path(keep) / made.name)
    assert errors == []
