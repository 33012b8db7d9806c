"""The comments page of the demo company on a phone (390 px) in simplified Chinese, in real
headless Chromium: the sentiment and themes tables fit their cards (nothing hidden past an edge
without a hint), and themes found in English comments come after the Chinese ones, under a
heading that says they are English comments' keywords."""

from __future__ import annotations

import pytest

from test_browser_layout import _ready, chromium, demo_server, zh_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]

FITS = """(selector) => {
  const table = document.querySelector(selector);
  const box = table.parentElement.getBoundingClientRect();
  const style = getComputedStyle(table.parentElement);
  const inner = box.right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth);
  return [table.getBoundingClientRect().right, inner];
}"""


def test_comments_tables_fit_a_phone_and_foreign_themes_say_so(demo_server, chromium):
    base, login = demo_server
    context, page = zh_page(chromium, base, login, 390, 844)
    _ready(page, base, "/comments")
    for selector in ("#sentiment table", "#themes table"):
        right, inner = page.evaluate(FITS, selector)
        assert right <= inner + 0.5, (selector, right, inner)
    rows = page.locator("#themes tbody tr").all()
    heading = [i for i, row in enumerate(rows) if "theme-group" in (row.get_attribute("class")
                                                                     or "")]
    assert len(heading) == 1 and rows[heading[0]].inner_text().strip() == "英文意见的关键词"
    before = [row.locator("td").first.inner_text() for row in rows[:heading[0]]]
    after = [row.locator("td").first.inner_text() for row in rows[heading[0] + 1:]]
    assert before and after
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in before), before
    assert all(row.locator("[lang=en]").count() == 1 for row in rows[heading[0] + 1:])
    # Each share carries its interval on a phone, in place of the interval's column.
    assert page.locator("#themes td.interval").first.is_hidden()
    assert "%–" in page.locator("#themes .ci-inline").first.inner_text()
    context.close()
