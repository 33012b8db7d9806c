"""Charts lead to the respondents behind them, in real headless Chromium on the demo company in
simplified Chinese, on a desktop (1440 px, a mouse click) and a phone (390 px, a tap): the
Overview's detractors bar of the latest wave opens the list of that wave's detractors, with as
many people on it as the survey data hold; a keyboard reaches the same bar through a link that
shows itself and the bar's tooltip when focused; the sentence under the chart says what the NPS
change means, in Chinese."""

from __future__ import annotations

import pytest

from test_browser_layout import _open, _ready, chromium, demo_server  # noqa: F401

from patronage.storage import make_engine
from patronage.satisfaction.sources import survey_data_from_db

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]


@pytest.fixture(scope="module")
def latest_detractors(demo_company):
    """The latest wave of the demo's relationship survey and how many of its responses (left out
    those flagged by cleaning, as the pages do) scored 0–6."""
    engine = make_engine(demo_company[0])
    try:
        data = survey_data_from_db(engine, "relationship")
    finally:
        engine.dispose()
    wave = data.waves_in_order()[-1]
    scores = data.answers.loc[(data.meta["wave"] == wave).to_numpy(), "nps"]
    return wave, int((scores <= 6).sum())


def _count_on_list(page, base) -> str:
    """The count line of the list the page is on (once the list is computed)."""
    _ready(page, base, page.url[len(base):])
    return page.locator("#respondent-count").inner_text()


@pytest.mark.parametrize("width, height", [(390, 844), (1440, 900)])
def test_a_click_on_the_detractors_bar_opens_its_respondents(demo_server, chromium,
                                                            latest_detractors, width, height):
    base, login = demo_server
    wave, detractors = latest_detractors
    phone = width < 500
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   is_mobile=phone, has_touch=phone)
    context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
    page = _open(context, base, login, "/")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _ready(page, base, "/")
    chart = page.locator("#chart-groups")
    assert "各期推荐者、被动者与贬损者" in chart.locator(".chart-title").inner_text()
    insight = page.locator("#chart-trend .insight").inner_text()
    assert insight.startswith("解读：") and "NPS 从" in insight and "n = " in insight
    # The detractors trace is drawn first (bottom of the stack); its last bar is the latest wave.
    bar = chart.locator(".trace.bars").first.locator("path").last
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    if phone:
        page.touchscreen.tap(x, y)
    else:
        page.mouse.click(x, y)
    page.wait_for_url("**/respondents?**")
    assert f"wave={wave}" in page.url and "group=detractors" in page.url
    count = _count_on_list(page, base)
    assert count.startswith(f"列表中的受访者: {detractors:,}"), (count, detractors)
    assert page.locator("h1").inner_text().startswith("贬损者")
    assert errors == []
    context.close()


def test_a_keyboard_reaches_the_bar_through_its_link(demo_server, chromium, latest_detractors):
    base, login = demo_server
    wave, detractors = latest_detractors
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies([{"name": "patronage_lang", "value": "zh_Hans", "url": base}])
    page = _open(context, base, login, "/")
    _ready(page, base, "/")
    links = page.locator("#chart-groups .chart-links a")
    assert links.count() == 3 * len(page.locator("#waves tbody tr").all())
    link = page.locator(f"#chart-groups .chart-links a[href*='wave={wave}'][href*='detractors']")
    assert link.bounding_box() is None or link.bounding_box()["width"] <= 1  # hidden until focused
    link.focus()
    assert link.bounding_box()["width"] > 20
    assert "贬损者" in link.inner_text()
    page.wait_for_selector("#chart-groups .hoverlayer .hovertext")  # the bar's tooltip shows
    page.keyboard.press("Enter")
    page.wait_for_url("**/respondents?**")
    assert _count_on_list(page, base).startswith(f"列表中的受访者: {detractors:,}")
    context.close()
