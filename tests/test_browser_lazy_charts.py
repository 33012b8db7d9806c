"""Charts below the fold are drawn after those in view (issue 14 item 6: a page of ten charts
opens as fast as one), in real headless Chromium on the demo company: when static/charts.js
marks the page drawn (the mark benchmarks/pages.py times), every chart in view is drawn and the
ones further down are not yet; they are all drawn soon after without any scrolling (when the
browser is idle), and the space kept for them means a chart lower down moves by less than a
chart's height when those above it are drawn."""

from __future__ import annotations

import pytest

from test_browser_layout import _open, _ready, chromium, demo_server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]

#: Run before the page's scripts: what was drawn and in view when the page marked itself drawn.
AT_THE_MARK = """
const mark = performance.mark.bind(performance);
performance.mark = function (name) {
  if (name === 'patronage-charts-drawn') {
    const charts = Array.from(document.querySelectorAll('[data-figure]'));
    window.atTheMark = charts.map(function (chart) {
      const box = chart.getBoundingClientRect();
      return {id: chart.id, drawn: chart.querySelector('.main-svg') !== null,
              inView: box.top < window.innerHeight && box.bottom > 0, top: box.top};
    });
  }
  return mark.apply(null, arguments);
};
"""


def test_charts_in_view_first_the_others_soon_after(demo_server, chromium):  # noqa: F811
    base, login = demo_server
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
    page = _open(context, base, login, "/")
    _ready(page, base, "/analysis")  # computed, and the Plotly bundle in the browser's cache
    # A new tab: no charts kept as pictures by this one (test_browser_chart_pictures.py).
    page = context.new_page()
    page.add_init_script(AT_THE_MARK)
    page.goto(base + "/analysis")
    page.wait_for_function("() => window.atTheMark !== undefined")
    charts = page.evaluate("window.atTheMark")
    assert len(charts) >= 5
    in_view = [c for c in charts if c["inView"]]
    assert in_view and all(c["drawn"] for c in in_view), charts
    assert not any(c["drawn"] for c in charts if c["top"] > 2 * 900), charts
    page.wait_for_function("() => Array.from(document.querySelectorAll('[data-figure]'))"
                           ".every(c => c.querySelector('.main-svg') !== null)", timeout=30_000)
    assert page.evaluate("window.scrollY") == 0  # drawn without scrolling
    after = {c["id"]: c["top"] for c in page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-figure]')).map(c => "
        "({id: c.id, top: c.getBoundingClientRect().top}))")}
    third = charts[2]
    assert not third["drawn"]
    assert abs(after[third["id"]] - third["top"]) < 200, (third, after[third["id"]])
    context.close()
