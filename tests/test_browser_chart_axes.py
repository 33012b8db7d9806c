"""Chart axes of large amounts in real headless Chromium on the demo company, in simplified
Chinese on a phone (390 px) and a desktop (1440 px): the programme report's points (counts) and
the loyalty page's CLV (money) are ticked in 万/亿, and no two tick labels of an axis overlap."""

from __future__ import annotations

import pytest

from test_browser_layout import (  # noqa: F401  (fixtures)
    _boxes, _overlap, _ready, chromium, demo_server, zh_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]

#: A page per kind of amount, with its chart and the axis that carries the amounts.
CHARTS = [("/members/report", "#chart-flows", ".ytick text"),
          ("/members/report", "#chart-outstanding", ".ytick text"),
          ("/loyalty", "[data-figure]:has(.xtick text) >> nth=0", ".xtick text")]


@pytest.mark.parametrize("width, height", [(390, 844), (1440, 900)])
def test_amount_axes_read_in_wan_and_never_overlap(demo_server, chromium, width, height):
    base, login = demo_server
    context, page = zh_page(chromium, base, login, width, height)
    for path, chart_selector, ticks in CHARTS:
        _ready(page, base, path)
        chart = page.locator(chart_selector).first
        chart.scroll_into_view_if_needed()
        texts = [t for t in chart.locator(ticks).all_text_contents() if t.strip()]
        assert any(("万" in t or "亿" in t) for t in texts), (path, texts)
        assert not any("," in t and "万" not in t and "亿" not in t and len(t) > 7
                       for t in texts), (path, texts)  # no 20,000,000
        boxes = _boxes(chart, ticks)
        for i, a in enumerate(boxes):
            assert not any(_overlap(a, b) for b in boxes[i + 1:]), (path, width, texts)
    context.close()


@pytest.mark.parametrize("width, height", [(390, 844), (1440, 900)])
def test_the_trend_chart_keeps_its_wave_labels_clear_of_both_score_axes(demo_server, chromium,
                                                                          width, height):
    """The Overview's NPS and CSI by wave: the waves at either end are not written over the
    NPS axis' lowest tick (left) or the CSI axis' (right)."""
    base, login = demo_server
    context, page = zh_page(chromium, base, login, width, height)
    _ready(page, base, "/")
    chart = page.locator("#chart-trend")
    chart.scroll_into_view_if_needed()
    chart.locator(".xtick text").first.wait_for()  # the live chart (not its picture)
    # Each character of a wave's label (on a phone the labels are slanted, and a slanted
    # label's box would cover much more than its letters).
    waves = [box for label in chart.locator(".xtick text").all()
             for box in label.evaluate(_CHARACTER_BOXES)]
    scores = _boxes(chart, ".ytick text") + _boxes(chart, ".y2tick text")
    assert len(waves) >= 8 and len(scores) >= 4
    for wave in waves:
        hit = [score for score in scores if _overlap(wave, score)]
        assert not hit, (width, wave, hit)
    context.close()


#: The boxes on the screen of an SVG text's characters (their extents turned as the text is).
_CHARACTER_BOXES = """text => {
  const turn = text.getScreenCTM(), boxes = [];
  for (let i = 0; i < text.getNumberOfChars(); i++) {
    const r = text.getExtentOfChar(i);
    const corners = [[r.x, r.y], [r.x + r.width, r.y], [r.x, r.y + r.height],
                     [r.x + r.width, r.y + r.height]].map(
      ([x, y]) => new DOMPoint(x, y).matrixTransform(turn));
    const xs = corners.map(p => p.x), ys = corners.map(p => p.y);
    boxes.push({x: Math.min(...xs), y: Math.min(...ys),
                width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys)});
  }
  return boxes;
}"""


#: The outlines on the screen (four corners, turned as the text is) of each character of each
#: tick label of the chart's horizontal axis, per label.
_CHARACTER_OUTLINES = """element => [...element.querySelectorAll('.xtick text')].map(text => {
  const turn = text.getScreenCTM(), outlines = [];
  for (let i = 0; i < text.getNumberOfChars(); i++) {
    const r = text.getExtentOfChar(i);
    outlines.push([[r.x, r.y], [r.x + r.width, r.y], [r.x + r.width, r.y + r.height],
                   [r.x, r.y + r.height]].map(([x, y]) => {
      const p = new DOMPoint(x, y).matrixTransform(turn);
      return [p.x, p.y];
    }));
  }
  return outlines;
})"""


def _polygons_meet(a, b) -> bool:
    """Whether two convex outlines overlap (no axis of either separates them)."""
    for shape in (a, b):
        for i, (x1, y1) in enumerate(shape):
            x2, y2 = shape[(i + 1) % len(shape)]
            normal = (y1 - y2, x2 - x1)
            project = [[normal[0] * x + normal[1] * y for x, y in s] for s in (a, b)]
            if max(project[0]) <= min(project[1]) + 0.5 or \
                    max(project[1]) <= min(project[0]) + 0.5:
                return False
    return True


def test_slanted_category_labels_never_run_into_each_other_on_a_phone(demo_server, chromium):
    """The complaint analysis' nine categories on a 390 px phone: the labels are slanted enough
    that no character of one touches a character of the next (issue 14; at Plotly's 30° they
    did: 账单发票 ran into 交付物流)."""
    base, login = demo_server
    context, page = zh_page(chromium, base, login, 390, 844)
    _ready(page, base, "/cases/analysis")
    for chart_id in ("#chart-volume-category", "#chart-volume-month"):
        chart = page.locator(chart_id)
        chart.scroll_into_view_if_needed()
        chart.locator(".xtick text").first.wait_for()
        labels = chart.evaluate(_CHARACTER_OUTLINES)
        assert len(labels) >= 8, chart_id
        for i, label in enumerate(labels[:-1]):
            for other in labels[i + 1:]:
                assert not any(_polygons_meet(a, b) for a in label for b in other), \
                    (chart_id, i)
    context.close()

