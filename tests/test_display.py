"""How pages write numbers for readers (money, shares, p-values, quarters, one precision per
column), small samples, open answers, notices and charts (issue 10, items 9 and 10)."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from patronage.reporting import formats
from patronage.settings import Settings
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import answers, responses
from patronage.web import create_app
from patronage.web.i18n import load_translations
from staff_login import log_in

pytestmark = pytest.mark.db

ZH = load_translations()


# --- the rules ---------------------------------------------------------------------------------

def test_money_and_short_kpi_figures():
    assert formats.money(1234.4) == "¥1,234"
    assert formats.money(-1234.5, 2) == "-¥1,234.50"
    assert formats.compact_money(123_456, "zh_Hans") == "¥12.3万"
    assert formats.compact_money(123_456_789, "zh_Hans") == "¥1.2亿"
    assert formats.compact_money(123_456_789, "zh_Hant") == "¥1.2億"
    assert formats.compact(123_456, "zh_Hant") == "12.3萬"
    assert formats.compact_money(123_456, "en") == "¥123.5k"
    assert formats.compact_money(1_234_567, "en") == "¥1.2M"
    assert formats.compact_money(999, "zh_Hans") == "¥999"
    assert formats.money(float("nan")) == formats.MISSING


def test_shares_p_values_and_quarters():
    assert formats.percent(0.3249) == "32%"
    assert formats.percent(0.3249, 1) == "32.5%"
    assert formats.p_value(0.00002) == "< 0.001"
    assert formats.p_value(0.0213) == "0.021"
    zh = ZH["zh_Hans"].gettext
    for spelling in ("2026-Q3", "2026Q3", "2026 q3"):
        assert formats.quarter(spelling) == "2026 Q3"
        assert formats.quarter(spelling, zh) == "2026年第3季度"
    assert formats.quarter("2026-W1") == "2026-W1"
    assert formats.wave_label(formats.ALL_RESPONSES, zh) == "全部回答"


def test_iso_weeks_are_written_in_the_readers_words():
    """The data's ``2026-W27`` reads as a week of a year in each language (issue 14)."""
    assert formats.week_label("2026-W27") == "Week 27, 2026"
    assert formats.week_label("2026-W07", ZH["zh_Hans"].gettext) == "2026年第7周"
    assert formats.week_label("2026-W53", ZH["zh_Hant"].gettext) == "2026年第53週"
    assert formats.week_label("2026-Q3") == "2026-Q3"
    assert formats.week_label(None) == formats.MISSING


def test_one_precision_per_column():
    """A column of mixed sizes is written with one number of decimals in every row."""
    kind, digits = formats.column_kind("weighted", [0.9123, 12.5, 1.0])
    written = [formats.cell(v, kind, digits) for v in (0.9123, 12.5, 1.0)]
    assert len({len(w.split(".")[1]) if "." in w else 0 for w in written}) == 1
    assert formats.column_kind("p_value") == ("p", 3)
    assert formats.column_kind("clv") == ("money", 0)


def test_interval_bounds_are_written_as_their_estimate():
    """An NPS of 19.0 with bounds 0.67 and 23.8 reads "0.7 … 23.8", not "0.67 … 23.8" (the lower
    bound's column alone would take two decimals); bounds without an estimate share one."""
    table = {"n": [857, 465], "nps": [19.0, 7.1], "ci_low": [14.2, 0.67], "ci_high": [23.8, 13.5]}
    kinds = formats.table_kinds(table, table.__getitem__)
    assert kinds["ci_low"] == kinds["ci_high"] == kinds["nps"] == ("number", 1)
    alone = {"ci_low": [0.5, 0.67], "ci_high": [23.8, 13.5]}
    kinds = formats.table_kinds(alone, alone.__getitem__)
    assert kinds["ci_low"] == kinds["ci_high"]
    assert formats.table_kinds({"lower": [0.1]}, {"lower": [0.1]}.__getitem__) == {
        "lower": formats.COLUMN_KINDS["lower"]}


# --- a new survey on a small panel ---------------------------------------------------------------

@pytest.fixture
def client(panel, db_url):
    engine, info = panel
    app = create_app(Settings(database_url=db_url, min_sample=30))
    with TestClient(app) as test_client:
        test_client.info = info
        test_client.engine = engine
        yield test_client




def _one_nps_answer(engine, answers_given: dict[str, object]) -> str:
    """A new survey from the NPS template with one answer and no waves; returns its code."""
    from patronage.surveys.program import create_survey, set_status
    from patronage.surveys.templates import load_template

    code = create_survey(engine, load_template("nps").to_dict() | {"code": "nps-new"})
    set_status(engine, code, "open")
    from sqlalchemy import select

    from patronage.storage.schema import surveys
    with write_transaction(engine) as conn:
        survey_id = conn.execute(select(surveys.c.id).where(surveys.c.code == code)).scalar_one()
        insert_rows(conn, responses, [{"external_id": "NEW-1", "survey_id": survey_id,
                                       "customer_id": 1, "channel": "web",
                                       "submitted_at": datetime(2026, 7, 2, 10, 0),
                                       "weight": 1.0}])
        response_id = conn.execute(select(responses.c.id).where(
            responses.c.external_id == "NEW-1")).scalar_one()
        insert_rows(conn, answers, [
            {"response_id": response_id, "item_code": item,
             "value_num": value if isinstance(value, float) else None,
             "value_text": value if isinstance(value, str) else None}
            for item, value in answers_given.items()])
    return code


def test_a_new_survey_with_one_answer_says_the_sample_is_too_small(client):
    code = _one_nps_answer(client.engine, {"nps": 0.0})
    log_in(client)
    page = BeautifulSoup(client.get(f"/?survey={code}").text, "html.parser")
    tile = page.select_one("#kpi-nps").text
    assert "样本太少 (n=1)" in tile
    assert "-100" not in tile and "−100" not in tile
    waves = page.select_one("#waves").text
    assert "全部回答" in waves and "all" not in waves
    assert "样本太少 (n=1)" in waves and "-100" not in waves
    # The chart does not plot a score from one answer either.
    figure = json.loads(page.select_one("#chart-trend")["data-figure"])
    assert all(y is None for y in figure["data"][0]["y"])
    # In English too, and never the raw "all".
    client.cookies.set("patronage_lang", "en")
    page = BeautifulSoup(client.get(f"/?survey={code}").text, "html.parser")
    assert "All responses" in page.select_one("#kpi-nps").text
    assert "Sample too small (n=1)" in page.select_one("#kpi-nps").text


def test_open_answers_of_every_template_appear_under_latest_comments(client):
    reason = "<b>价格</b> 太高 & 交货慢"
    code = _one_nps_answer(client.engine, {"nps": 4.0, "nps_reason": reason,
                                           "nps_improve": "更快交货"})
    log_in(client)
    html = client.get(f"/?survey={code}").text
    comments = BeautifulSoup(html, "html.parser").select_one("#comments")
    assert comments is not None
    assert reason in comments.text and "更快交货" in comments.text
    assert "<b>价格</b>" not in html  # escaped
    # The respondent's answer out of 10, not an NPS (a score of -100 to 100 over many answers).
    meta = comments.select_one("li .meta").text
    assert "推荐意愿 4/10" in meta and "NPS" not in meta, meta


def test_enough_answers_show_the_score_with_its_n(client):
    """The seeded survey has 30 answers per wave: the NPS is shown, with its n."""
    log_in(client)
    page = BeautifulSoup(client.get("/").text, "html.parser")
    tile = page.select_one("#kpi-nps").text
    assert "样本太少" not in tile and "n=30" in tile.replace(" ", "").replace("n =", "n=")
    assert "2026年第2季度" in tile
    rows = [tr.select("td")[0].text for tr in page.select("#waves tbody tr")]
    assert rows == ["2026年第1季度", "2026年第2季度"]
    figure = json.loads(page.select_one("#chart-trend")["data-figure"])
    assert figure["data"][0]["x"] == ["2026年第1季度", "2026年第2季度"]
    assert "hovertemplate" in figure["data"][0]


def test_notices_never_end_in_a_dangling_colon(client):
    log_in(client, "admin")
    page = client.get("/surveys")
    token = BeautifulSoup(page.text, "html.parser").find("input", {"name": "csrf_token"})["value"]
    client.post("/surveys", data={"template": "nps", "code": "nps-x", "title": "",
                                  "language": "zh_Hans", "csrf_token": token})
    survey = BeautifulSoup(client.get("/surveys/nps-x").text, "html.parser")
    definition = survey.select_one("textarea#definition-text").text
    token = survey.find("input", {"name": "csrf_token"})["value"]
    response = client.post("/surveys/nps-x/definition",
                           data={"definition": definition, "csrf_token": token})
    notice = BeautifulSoup(response.text, "html.parser").select_one("#notice").text.strip()
    assert notice == "问卷已保存。"


def test_charts_carry_a_translated_toolbar_config(client):
    log_in(client)
    page = BeautifulSoup(client.get("/").text, "html.parser")
    config = json.loads(page.select_one("script#chart-config").string)
    assert config["plotly"]["displaylogo"] is False
    assert config["labels"]["download"] == "下载为图片"
    assert config["plotly"]["locale"] == "zh-CN"


# --- the demo company ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_client(demo_company):
    url, summary, _company = demo_company
    app = create_app(Settings(database_url=url))
    with TestClient(app) as test_client:
        email = "analyst@demo.patronage"
        token = BeautifulSoup(test_client.get("/login").text, "html.parser").find(
            "input", {"name": "csrf_token"})["value"]
        test_client.post("/login", data={"email": email, "password": summary.users[email][1],
                                         "csrf_token": token}, follow_redirects=False)
        test_client.cookies.set("patronage_lang", "zh_Hans")
        yield test_client


def _column(section, header: str) -> list[str]:
    heads = [th.text for th in section.select("thead th")]
    index = heads.index(header)
    return [tr.select("td")[index].text for tr in section.select("tbody tr")]


def test_loyalty_money_and_shares(demo_client):
    page = BeautifulSoup(demo_client.get("/loyalty").text, "html.parser")
    clv = page.select_one("#section-clv")
    values = _column(clv, "客户终身价值 CLV")
    assert values and all(re.fullmatch(r"¥\d{1,3}(,\d{3})*", v) for v in values), values
    alive = _column(clv, "存活概率")
    assert all(re.fullmatch(r"\d{1,3}\.\d%", v) for v in alive), alive
    # The "top 20" chart shows the top 20 customers, by name, linked to their profiles.
    figure = json.loads(clv.select_one("[data-figure]")["data-figure"])
    names = _column(clv, "名称")
    assert len(figure["data"]) == 1 and len(figure["data"][0]["y"]) == 20
    shown = [re.sub(r"<[^>]+>", "", label) for label in figure["layout"]["yaxis"]["ticktext"]]
    assert shown == names
    assert all("/customers/" in label for label in figure["layout"]["yaxis"]["ticktext"])
    assert clv.select("tbody tr td a[href^='/customers/']")
    # The whale curve's shares of customers read as percentages like its other shares, and the
    # value tiers' summed CLV is money (issue 14: 15.44 and 20,871,523 before).
    whale = page.select_one("#section-whale")
    shares = [tr.select("td")[-1].text for tr in whale.select("tbody tr")
              if tr.select_one("th, td").text.strip().endswith("%")]
    assert len(shares) >= 6 and all(re.fullmatch(r"-?\d+\.\d%", v) for v in shares), shares
    segments = page.select_one("#section-segments")
    names = [tr.select_one("th, td").text.strip() for tr in segments.select("tbody tr")]
    assert names[:4] == ["价值等级 · 白金", "价值等级 · 金牌", "价值等级 · 银牌", "价值等级 · 铜牌"]
    tiers = _column(segments, "客户终身价值 CLV")
    assert any(v.startswith("¥") for v in tiers)
    assert all(re.fullmatch(r"¥\d{1,3}(,\d{3})*|–", v) for v in tiers), tiers
    # Cohorts are quarters spelled one way.
    cohorts = [tr.select("td")[0].text for tr in page.select("#section-cohorts tbody tr")]
    assert cohorts and all(re.fullmatch(r"\d{4}年第[1-4]季度", c) for c in cohorts), cohorts


def test_the_kano_chart_names_its_axes_in_words(demo_client):
    """The Kano chart's vertical axis is the Worse coefficient's size, said so in Chinese (not
    the formula |Worse|)."""
    page = BeautifulSoup(demo_client.get("/analysis").text, "html.parser")
    figure = json.loads(page.select_one("#section-kano [data-figure]")["data-figure"])
    assert figure["layout"]["yaxis"]["title"]["text"] == "Worse 系数（绝对值）"
    assert figure["layout"]["xaxis"]["title"]["text"] == "Better 系数"


def test_segment_shares_differ_in_percentage_points(demo_client):
    """Respondents against the customer base: the gap between two shares is in percentage points
    (差值（百分点）, one decimal as the shares), not in points of a score (差值（分）)."""
    page = BeautifulSoup(demo_client.get("/analysis").text, "html.parser")
    section = page.select_one("#section-composition")
    heads = [th.text for th in section.select("thead th")]
    assert "差值（百分点）" in heads and "差值（分）" not in heads, heads
    gaps = _column(section, "差值（百分点）")
    assert gaps and all(re.fullmatch(r"[-+]\d+\.\d", v) for v in gaps), gaps


def test_analysis_p_values_drivers_order_and_colours(demo_client):
    page = BeautifulSoup(demo_client.get("/analysis").text, "html.parser")
    drivers = page.select_one("#section-drivers")
    importance = [float(v) for v in _column(drivers, "重要性")]
    assert importance == sorted(importance, reverse=True)
    figure = json.loads(drivers.select_one("[data-figure]")["data-figure"])
    assert figure["data"][0]["x"] == sorted(figure["data"][0]["x"], reverse=True)
    p_values = []
    for section in page.select("section.card"):
        heads = [th.text for th in section.select("thead th")]
        for header in heads:
            if header.lower().startswith("p"):  # p, p 值, p (Holm) ...
                p_values += _column(section, header)
    assert p_values and all(re.fullmatch(r"< 0\.001|[01]\.\d{3}|–", v) for v in p_values), p_values
    assert "< 0.001" in p_values
    for section in page.select("section.card"):
        table = section.select_one("table.analysis")
        if table is None or "by-row" in table["class"]:  # a row per measure: one format a row
            continue
        heads = [th.text for th in table.select("thead th")]
        for index in range(1, len(heads)):
            cells = [tr.select("td")[index].text for tr in table.select("tbody tr")]
            numeric = [c for c in cells if re.fullmatch(r"[-+]?[\d,]+(\.\d+)?", c)]
            decimals = {len(c.split(".")[1]) if "." in c else 0 for c in numeric}
            assert len(decimals) <= 1, (section.get("id"), heads[index], cells)
    crosstab = json.loads(page.select_one("#chart-crosstab")["data-figure"])
    colours = {trace["name"]: trace["marker"]["color"] for trace in crosstab["data"]}
    assert colours == {"推荐者": formats_colour("promoter"), "被动者": formats_colour("passive"),
                       "贬损者": formats_colour("detractor")}


def formats_colour(group: str) -> str:
    from patronage.reporting.charts import NPS_COLOURS

    return NPS_COLOURS[group]


def test_the_profile_writes_money_in_yuan(client):
    log_in(client)
    page = BeautifulSoup(client.get("/customers/1").text, "html.parser")
    revenue = page.select_one("#revenue")
    assert re.fullmatch(r"¥\d{1,3}(,\d{3})*|¥\d+\.\d[万亿]", revenue.text), revenue.text
    assert re.fullmatch(r"¥\d{1,3}(,\d{3})*\.\d\d", revenue["title"])
    amounts = [tr.select("td")[-1].text for tr in page.select("#transactions tbody tr")]
    assert amounts and all(re.fullmatch(r"¥\d{1,3}(,\d{3})*\.\d\d", a) for a in amounts), amounts
