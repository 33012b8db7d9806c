"""A repeat visit shows the charts kept as pictures before Plotly runs (issue 14 item 6), in real
headless Chromium on the demo company: a first visit draws the charts with Plotly and keeps them
(static/chart_snapshots.js); the next visit in the same tab shows the pictures and marks the page
drawn without having loaded Plotly; the live charts replace the pictures afterwards, and a click
on a bar of a picture made before Plotly was there still opens that bar's respondents."""

from __future__ import annotations

import pytest

from test_browser_layout import _open, _ready, chromium, demo_server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]

#: Run before the page's scripts: Plotly's bundle is held back (not added to the page) until the
#: test calls releasePlotly(); what the page showed when it marked itself drawn is recorded.
HOLD_PLOTLY = """
const append = Node.prototype.appendChild;
window.plotlyHeld = [];
window.plotlyAsked = false;
Node.prototype.appendChild = function (child) {
  if (child.tagName === 'SCRIPT' && /\\/vendor\\/plotly/.test(child.src) && !window.plotlyFree) {
    window.plotlyAsked = true;
    window.plotlyHeld.push([this, child]);
    return child;
  }
  return append.call(this, child);
};
window.releasePlotly = function () {
  window.plotlyFree = true;
  window.plotlyHeld.forEach(function (held) { append.call(held[0], held[1]); });
};
const mark = performance.mark.bind(performance);
performance.mark = function (name) {
  if (name === 'patronage-charts-drawn') {
    window.atTheMark = {
      plotly: window.Plotly !== undefined,
      charts: Array.from(document.querySelectorAll('[data-figure]')).map(function (chart) {
        const box = chart.getBoundingClientRect();
        const picture = chart.querySelector('img.chart-snapshot');
        return {id: chart.id, inView: box.top < window.innerHeight && box.bottom > 0,
                picture: picture !== null && picture.complete && picture.naturalWidth > 0,
                live: chart.querySelector('.main-svg') !== null};
      })};
  }
  return mark.apply(null, arguments);
};
"""

#: On the live charts: where the largest bar or point of the first chart that leads to
#: respondents is, from its plot's corner, and the address it leads to.
A_LINKED_POINT = """() => {
  for (const chart of document.querySelectorAll('[data-figure][data-links]')) {
    const plot = chart.querySelector('.chart-plot');
    const box = plot.getBoundingClientRect();
    const links = JSON.parse(chart.getAttribute('data-links'));
    const traces = Array.from(plot.querySelectorAll('.barlayer .trace, .scatterlayer .trace'));
    let best = null;
    traces.forEach(function (trace, t) {
      trace.querySelectorAll('.point').forEach(function (point, i) {
        const bar = point.getBoundingClientRect();
        const address = (links[t] || [])[i];
        if (address && (!best || bar.width * bar.height > best.area)) {
          best = {area: bar.width * bar.height, address: address, id: chart.id,
                  x: bar.left + bar.width / 2 - box.left, y: bar.top + bar.height / 2 - box.top};
        }
      });
    });
    if (best) return best;
  }
  return null;
}"""

ALL_LIVE = ("() => Array.from(document.querySelectorAll('[data-figure]'))"
            ".every(c => c.querySelector('.main-svg') !== null)")
PICTURES = "() => Object.keys(sessionStorage).filter(k => k.startsWith('patronage-chart:')).length"


def test_a_repeat_visit_shows_pictures_then_live_charts(demo_server, chromium):  # noqa: F811
    base, login = demo_server
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
    page = _open(context, base, login, "/")
    _ready(page, base, "/")  # a first visit: drawn by Plotly
    assert page.locator("img.chart-snapshot").count() == 0
    page.wait_for_function(ALL_LIVE, timeout=30_000)
    page.wait_for_function(PICTURES + " >= 2", timeout=30_000)  # kept when idle
    bar = page.evaluate(A_LINKED_POINT)
    assert bar is not None, "no chart leads to respondents"

    page.add_init_script(HOLD_PLOTLY)
    page.goto(base + "/")
    page.wait_for_function("() => window.atTheMark !== undefined")
    seen = page.evaluate("window.atTheMark")
    assert not seen["plotly"], "Plotly ran before the page was shown"
    in_view = [c for c in seen["charts"] if c["inView"]]
    assert in_view and all(c["picture"] and not c["live"] for c in in_view), seen
    assert not page.evaluate("window.Plotly !== undefined")

    # A click on the bar (or point) in the picture: nothing happens until Plotly is there, then
    # the live chart takes the click and the bar opens its respondents.
    page.locator(f"#{bar['id']} .chart-plot").click(position={"x": bar["x"], "y": bar["y"]})
    assert page.evaluate("window.plotlyAsked")  # the reader reached for it: Plotly asked for
    assert page.url.rstrip("/") == base
    with page.expect_navigation(timeout=30_000):
        page.evaluate("window.releasePlotly()")
    assert page.url.endswith(bar["address"]), (page.url, bar["address"])
    context.close()


def test_pictures_become_live_charts_without_the_reader(demo_server, chromium):  # noqa: F811
    base, login = demo_server
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = _open(context, base, login, "/")
    _ready(page, base, "/analysis")
    page.wait_for_function(PICTURES + " >= 2", timeout=30_000)
    page.goto(base + "/analysis")
    assert page.locator("img.chart-snapshot").count() >= 2
    # Every chart live when the browser is idle, the pictures gone, nothing scrolled.
    page.wait_for_function(ALL_LIVE, timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('img.chart-snapshot').length === 0",
                           timeout=30_000)
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate(PICTURES) >= 2
    # A new tab has no pictures: it draws with Plotly as a first visit does.
    fresh = context.new_page()
    fresh.goto(base + "/analysis")
    fresh.wait_for_selector("[data-figure] .main-svg")
    assert fresh.locator("img.chart-snapshot").count() == 0
    # Logging out leads to the log-in page, which forgets the tab's pictures.
    page.click("form.logout button")
    page.wait_for_url("**/login")
    assert page.evaluate(PICTURES) == 0
    context.close()


#: On the log-in page (which loads chart_snapshots.js): 70 pictures of a small plot kept.
KEEP_SEVENTY = """() => {
  const pictures = window.patronageSnapshots;
  const plot = document.createElement('div');
  plot.innerHTML = '<svg class="main-svg" width="100" height="50"><text>&lt;script&gt;' +
    'alert(1)&lt;/script&gt; 华东</text><g class="draglayer"><rect></rect></g></svg>';
  document.body.appendChild(plot);
  for (let i = 0; i < 70; i++) pictures.keep('{"n":' + i + '}', 800, '/vendor/p.js', plot);
  return {kept: Object.keys(sessionStorage).filter(k => k.startsWith('patronage-chart:')).length,
          last: pictures.find('{"n":69}', 800, '/vendor/p.js'),
          first: pictures.find('{"n":0}', 800, '/vendor/p.js'),
          wider: pictures.find('{"n":69}', 801, '/vendor/p.js'),
          image: pictures.image(pictures.find('{"n":69}', 800, '/vendor/p.js')).src};
}"""


def test_pictures_few_escaped_found_by_figure_and_width(demo_server, chromium):  # noqa: F811
    base, _login = demo_server
    context = chromium.new_context()
    page = context.new_page()
    page.goto(base + "/login")
    kept = page.evaluate(KEEP_SEVENTY)
    assert kept["kept"] == 60  # the oldest went
    assert kept["first"] is None and kept["wider"] is None
    svg = kept["last"]["svg"]
    assert "&lt;script&gt;" in svg and "<script" not in svg and "华东" in svg
    assert "draglayer" not in svg
    assert kept["image"].startswith("data:image/svg+xml;charset=utf-8,%3Csvg")
    context.close()
