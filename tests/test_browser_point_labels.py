"""The labelled points of the Analysis page (Kano and importance–performance) in real headless
Chromium on the demo company, in simplified Chinese on a phone (390 px) and a desktop (1440 px):
each point's name is written where it covers no other name, no point (its own included) and no
tick label of an axis, stays inside the chart, and is drawn near its point or joined to it by a
line (issue 14). In the demo, "在线订单跟踪" and "免费安装" are two points a few pixels apart."""

from __future__ import annotations

import pytest

from test_browser_layout import _ready, chromium, demo_server, zh_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]

#: The chart's point names, their points and the axes' tick labels, as boxes on the screen.
_LAYOUT = """element => {
  const box = e => { const r = e.getBoundingClientRect();
                     return {x: r.left, y: r.top, width: r.width, height: r.height}; };
  const plot = element.querySelector('.js-plotly-plot');
  const trace = plot.data.findIndex(t => Array.isArray(t.text) && t.type === 'scatter');
  const names = plot.data[trace].text;
  const layer = plot.querySelectorAll('.scatterlayer .trace')[trace];
  const labels = [...plot.querySelectorAll('.textpoint text, .annotation-text')]
    .filter(e => names.includes(e.textContent));
  return {
    names: names,
    labels: labels.map(e => Object.assign(box(e), {name: e.textContent})),
    points: [...layer.querySelectorAll('.points path')].map(box),
    ticks: [...plot.querySelectorAll('.xtick text, .ytick text')].map(box),
    lines: plot.querySelectorAll('.annotation-arrow-g path').length,
    svg: box(plot.querySelector('.main-svg')),
  };
}"""


def _overlap(a, b, gap=1.0) -> bool:
    """Whether boxes ``a`` and ``b`` are closer than ``gap`` pixels (touching counts)."""
    return not (a["x"] + a["width"] + gap <= b["x"] or b["x"] + b["width"] + gap <= a["x"]
                or a["y"] + a["height"] + gap <= b["y"] or b["y"] + b["height"] + gap <= a["y"])


def _distance(a, b) -> float:
    dx = max(b["x"] - (a["x"] + a["width"]), a["x"] - (b["x"] + b["width"]), 0)
    dy = max(b["y"] - (a["y"] + a["height"]), a["y"] - (b["y"] + b["height"]), 0)
    return (dx * dx + dy * dy) ** 0.5


def _settled(page, chart):
    """The chart's layout once its labels have stopped moving."""
    chart.scroll_into_view_if_needed()
    chart.locator(".main-svg").first.wait_for()
    before = None
    for _ in range(40):
        page.wait_for_timeout(300)
        now = chart.evaluate(_LAYOUT)
        if now == before and len(now["labels"]) == len(now["names"]):
            return now
        before = now
    return before


@pytest.mark.parametrize("width, height", [(390, 844), (1440, 900)])
def test_point_labels_cover_nothing_at_phone_and_desktop_widths(demo_server, chromium,
                                                                 width, height):
    base, login = demo_server
    context, page = zh_page(chromium, base, login, width, height)
    _ready(page, base, "/analysis")
    for chart_id in ("#chart-kano", "#chart-ipa"):
        layout = _settled(page, page.locator(chart_id))
        labels, points = layout["labels"], layout["points"]
        assert sorted(label["name"] for label in labels) == sorted(layout["names"]), chart_id
        assert len(points) == len(layout["names"]) >= 4, chart_id
        if chart_id == "#chart-kano":
            assert {"在线订单跟踪", "免费安装"} <= set(layout["names"])
        far = 0
        for i, label in enumerate(labels):
            where = (chart_id, width, label["name"])
            others = [other["name"] for other in labels[i + 1:] if _overlap(label, other)]
            assert not others, (where, others)
            covered = [layout["names"][j] for j, point in enumerate(points)
                       if _overlap(label, point, gap=0)]
            assert not covered, (where, "covers the points of", covered)
            assert not any(_overlap(label, tick, gap=0) for tick in layout["ticks"]), where
            svg = layout["svg"]
            assert svg["x"] <= label["x"] and label["x"] + label["width"] <= svg["x"] + svg["width"]
            assert svg["y"] <= label["y"] and label["y"] + label["height"] <= svg["y"] + svg["height"]
            own = points[layout["names"].index(label["name"])]
            distance = _distance(label, own)
            assert distance < 160, (where, distance)
            far += distance > 8
        # A name written away from its point is joined to it by a line.
        assert layout["lines"] >= far, (chart_id, width, far, layout["lines"])
    context.close()
