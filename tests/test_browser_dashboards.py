"""The role dashboards of the demo company in real headless Chromium on a phone (390×844) and a
desktop (1440×900), in Simplified Chinese: an analyst's management view and an agent's work
(where the agent lands after logging in) fit the screen, no card overlaps another, every card's
figure and link are in view in its card, and following a card's link opens its detail page."""

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
CARDS = ("satisfaction", "drivers", "complaints", "risk", "liability", "sla")


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
    yield f"http://127.0.0.1:{port}", summary.users
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def _log_in(context, base, users, email):
    page = context.new_page()
    page.set_default_timeout(180_000)
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", users[email][1])
    page.click("button.primary")
    page.wait_for_load_state()
    return page


def _inside(inner, outer) -> bool:
    return (outer["x"] - 1 <= inner["x"] and inner["x"] + inner["width"] <= outer["x"]
            + outer["width"] + 1)


def _apart(a, b) -> bool:
    return (a["x"] + a["width"] <= b["x"] + 1 or b["x"] + b["width"] <= a["x"] + 1
            or a["y"] + a["height"] <= b["y"] + 1 or b["y"] + b["height"] <= a["y"] + 1)


def _fits(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll} px wide on a {width} px screen"
    boxes = [c.bounding_box() for c in page.locator(".dash-card").all()]
    for i, a in enumerate(boxes):
        assert a["width"] > 0 and a["x"] >= 0 and a["x"] + a["width"] <= width
        assert all(_apart(a, b) for b in boxes[i + 1:]), (page.url, i)


@pytest.mark.parametrize("width, height", [(390, 844), (1440, 900)])
def test_management_view_fits_and_links_to_the_details(demo_server, chromium, width, height):
    base, users = demo_server
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   is_mobile=width < 500, has_touch=width < 500)
    context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
    page = _log_in(context, base, users, "analyst@demo.patronage")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    deadline = time.monotonic() + 300
    page.goto(base + "/management")
    while page.locator("meta[http-equiv=refresh]").count():  # being prepared
        assert time.monotonic() < deadline, "the management view was not ready in 300 s"
        page.wait_for_timeout(2000)
        page.goto(base + "/management")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    _fits(page, width)
    for key in CARDS:
        card = page.locator(f"#card-{key}")
        box = card.bounding_box()
        assert card.locator(".problem").count() == 0, key
        for part in (card.locator("h2"), card.locator(".more a")):
            assert _inside(part.bounding_box(), box), key
    table = page.locator("#complaint-categories")
    assert _inside(table.bounding_box(), page.locator("#card-complaints").bounding_box())
    assert page.locator("#complaint-categories tbody tr").count() == 5
    page.locator("#card-sla .more a").click()
    page.wait_for_load_state()
    assert "/cases?tab=breached" in page.url
    assert page.locator("#tab-breached[aria-current=page]").count() == 1
    assert errors == []
    context.close()


@pytest.mark.parametrize("width, height", [(390, 844), (1440, 900)])
def test_an_agent_lands_on_their_work_and_it_fits(demo_server, chromium, width, height):
    base, users = demo_server
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   is_mobile=width < 500, has_touch=width < 500)
    context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
    page = _log_in(context, base, users, "liu.yang@demo.patronage")
    assert page.url == base + "/my"
    _fits(page, width)
    cases = page.locator("#my-cases ul.work li")
    assert cases.count() > 0
    for item in cases.all()[:5]:  # the due text is in its row, on screen
        box = item.bounding_box()
        assert _inside(item.locator(".when").bounding_box(), box)
        assert box["x"] + box["width"] <= width
    assert page.locator("#my-customers li").count() > 0
    page.locator("#my-cases ul.work li .what a").first.click()
    page.wait_for_load_state()
    assert "/cases/C" in page.url
    context.close()
