"""Staff pages of the demo company on a phone (390×844) and a desktop (1440×900) in real headless
Chromium: nothing overflows sideways, chart titles are never under the toolbar, and axis labels
never collide with the legend (issue 10, items 9 and 12)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from test_browser import CHROMIUM_FLAGS, chromium_path

from patronage.settings import Settings
from patronage.web import create_app

pytestmark = [pytest.mark.browser, pytest.mark.db]

STAFF_PAGES = ["/", "/analysis", "/loyalty", "/surveys", "/surveys/relationship", "/customers",
               "/customers/1", "/care", "/care/calendar", "/care/accounts", "/care/lost",
               "/care/campaigns/winback-2026-spring", "/care/report", "/comments"]


@pytest.fixture(scope="module")
def demo_server(demo_company):
    url, summary, _company = demo_company
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=url)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    email = "analyst@demo.patronage"
    yield f"http://127.0.0.1:{port}", (email, summary.users[email][1])
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def _open(context, base, login, path):
    page = context.new_page()
    page.set_default_timeout(180_000)  # the first analysis of the demo takes a while
    page.goto(base + "/login")
    page.fill("#email", login[0])
    page.fill("#password", login[1])
    page.click("button.primary")
    page.wait_for_load_state()
    return page


def zh_page(chromium, base, login, width: int = 1440, height: int = 900):
    """``(context, page)``: ``login`` logged in, reading 简体中文, in a new browser context of
    ``width`` × ``height`` (a phone, touch included, under 500 px)."""
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   is_mobile=width < 500, has_touch=width < 500)
    context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
    return context, _open(context, base, login, "/")


def _ready(page, base, path, timeout=240):
    """Go to ``path`` and wait until a page computed in the background is there."""
    deadline = time.monotonic() + timeout
    page.goto(base + path)
    while page.locator("section.card, .kpis, table, form").count() == 0 or \
            page.locator("meta[http-equiv=refresh], [data-section-src]").count():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} was not ready in {timeout} s")
        page.wait_for_timeout(2000)
        page.goto(base + path)
    page.wait_for_load_state("networkidle")
    if page.locator("[data-figure]").count():
        page.wait_for_selector("[data-figure] .main-svg")


def _overlap(a, b) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def _last_column_reachable(page, width):
    """The Overview's table by wave scrolls inside its card: scrolled to its end, the last column
    is wholly on the screen and the wave column is still in view beside it."""
    page.evaluate("document.querySelector('#waves').parentElement.scrollLeft = 1e6")
    first = page.locator("#waves thead th").first.bounding_box()
    last = page.locator("#waves thead th").last.bounding_box()
    assert 0 <= first["x"] and last["x"] + last["width"] <= width, (first, last)
    assert first["x"] + first["width"] <= last["x"] + 1, (first, last)
    page.evaluate("document.querySelector('#waves').parentElement.scrollLeft = 0")


def _boxes(page, selector):
    return [box for box in (e.bounding_box() for e in page.locator(selector).all()) if box]


@pytest.mark.parametrize("width, height", [(390, 844), (1440, 900)])
def test_staff_pages_fit_the_screen_in_simplified_chinese(demo_server, chromium,
                                                          width, height):
    base, login = demo_server
    context, page = zh_page(chromium, base, login, width, height)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for path in STAFF_PAGES:
        _ready(page, base, path)
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{path} is {scroll} px wide on a {width} px screen"
        if path == "/":
            _last_column_reachable(page, width)
        for chart in page.locator("[data-figure]").all():
            title = chart.locator(".chart-title")
            if title.count():
                tool = chart.locator(".modebar")
                assert not tool.count() or not _overlap(title.bounding_box(),
                                                        tool.bounding_box()), path
            legend = _boxes(chart, ".legend")
            for tick in _boxes(chart, ".xtick text"):
                assert not any(_overlap(tick, box) for box in legend), (path, chart.get_attribute("id"))
    assert errors == []
    context.close()


def _lines(box, page, selector) -> int:
    """How many lines of text an element's box holds (its height over its line height)."""
    line = page.evaluate("(s) => parseFloat(getComputedStyle(document.querySelector(s))"
                         ".lineHeight) || 20", selector)
    return round(box["height"] / line)


def test_admin_links_and_rule_days_are_not_broken_across_lines(demo_server, chromium,
                                                                demo_company):
    """At 1440 px the catalogue's edit link reads 编辑 on one line (it used to stack 编 over 辑
    in its narrow column) and a rule's starting day (2024-07-01起) is never split."""
    base, _login = demo_server
    admin = "admin@demo.patronage"
    context, page = zh_page(chromium, base, (admin, demo_company[1].users[admin][1]))
    _ready(page, base, "/members/rewards")
    links = page.locator("table.rewards-table td.actions a").all()
    assert links, "the catalogue shows an edit link per reward to an admin"
    for link in links:
        assert link.inner_text() == "编辑"
        assert _lines(link.bounding_box(), page, "table.rewards-table td.actions a") == 1
    # A reward's kind (服务升级) and its validity (2026-01-10 – 2026-02-28) on one line each.
    for cell in page.locator("table.rewards-table tbody td.kind .cell, "
                             "table.rewards-table tbody td.when .cell").all():
        assert _lines(cell.bounding_box(), page, "table.rewards-table td.kind") == 1, \
            cell.inner_text()
    _ready(page, base, "/members/rules")
    limits = page.locator("#rules td.limits .limit").all()
    days = [limit for limit in limits if "起" in limit.inner_text()]
    assert days, "the demo's rules start on a day"
    for limit in days:
        assert _lines(limit.bounding_box(), page, "#rules td.limits") == 1, limit.inner_text()
    context.close()


def test_the_tier_migration_matrix_and_its_n_fit_a_phone(demo_server, chromium):
    """At 390 px the programme report's tier matrix shows every column, n included, without
    scrolling sideways: the small-sample mark (样本较小（n=14）) may break onto two lines there
    (kept on one line it pushed the n column out of the card)."""
    base, login = demo_server
    context, page = zh_page(chromium, base, login, 390, 844)
    _ready(page, base, "/members/report")
    assert page.locator("#migration .too-small").count(), "the demo has a tier with few members"
    table, box = page.evaluate("() => { const t = document.querySelector('#migration');"
                               " return [t.scrollWidth, t.parentElement.clientWidth]; }")
    assert table <= box, f"the matrix is {table} px wide in a {box} px card"
    last = page.locator("#migration thead th").last.bounding_box()
    assert last["x"] + last["width"] <= 390
    context.close()
