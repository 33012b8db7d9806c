"""The Loyalty page's filter bar in real headless Chromium, in Simplified Chinese on a phone
(390×844) and a desktop (1440×900): choosing a region and applying the filters changes the
number of customers the page and its sections count, names the active filter, and nothing
overflows sideways."""

from __future__ import annotations

import time

import pytest

from test_browser_layout import chromium, demo_server, zh_page  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.db]


def _settled(page, base, path=None, timeout=300):
    """Wait until the page (computed in the background) is there, not 'being prepared'."""
    deadline = time.monotonic() + timeout
    if path is not None:
        page.goto(base + path)
    while page.locator("meta[http-equiv=refresh]").count():
        if time.monotonic() > deadline:
            pytest.fail(f"{page.url} was not ready in {timeout} s")
        page.wait_for_timeout(2000)
        page.reload()
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("width, height", [(390, 844), (1440, 900)])
def test_filtering_the_loyalty_page_changes_its_figures(demo_server, chromium,  # noqa: F811
                                                        width, height):
    base, login = demo_server
    context, page = zh_page(chromium, base, login, width, height)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _settled(page, base, "/loyalty")
    before = page.locator("#customers-counted").inner_text()
    clv_before = page.locator("#section-clv p.note").first.inner_text()
    assert before == "n = 5,000 位客户" and clv_before == "n = 5,000 位客户"
    assert page.locator("form#filters select[name=wave]").count() == 0
    if not page.locator("#filter-panel").evaluate("d => d.open"):  # folded on a phone
        page.click("#filter-panel > summary")
    page.locator("form#filters select[name=region]").select_option(label="华北")
    page.locator("form#filters button[type=submit]").click()
    page.wait_for_load_state()
    _settled(page, base)
    assert "region=North+China" in page.url
    after = page.locator("#customers-counted").inner_text()
    assert after.startswith("筛选后的客户: n = ") and "共 5,000 位客户" in after
    kept = int(after.split("n = ")[1].split(" ")[0].replace(",", ""))
    assert 0 < kept < 5000
    assert page.locator("#section-clv p.note").first.inner_text().startswith(
        f"n = {kept:,} 位客户")
    assert "地区: 华北" in page.locator("#active-filters").inner_text()
    assert "region=North+China" in page.locator("#export-tables").get_attribute("href")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the filtered loyalty page is {scroll} px wide on {width} px"
    assert errors == []
    context.close()
