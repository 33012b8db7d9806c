"""Comments from the database: the service (survey comments and case descriptions with their
wave and segment), ``patronage analyze comments`` and the /comments page, on SQLite or
PostgreSQL. The seeded comments come from planted topics in three languages, with markup."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from fastapi.testclient import TestClient

from patronage.accounts import create_user
from patronage.analytics.comments.sentiment import trained_model
from patronage.cli import main
from patronage.satisfaction.comments import (
    analyse_case_descriptions, analyse_survey_comments, comment_table, model_cache_dir,
    survey_comments,
)
from patronage.settings import Settings
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import answers, cases, customers, responses, surveys, waves
from patronage.web import create_app
from test_web import csrf_of
from visible_english import english_words

pytestmark = pytest.mark.db
HOSTILE = "<script>alert('x')</script> 设备故障"
FORMULA = "=HYPERLINK(\"http://x\") 設備故障頻繁"   # a spreadsheet would run it
TOPICS = [  # planted: equipment in the East, delivery in the North, price in both
    ("East China", ["设备故障太多，影响生产", "設備故障頻繁，停機維修", "设备经常故障需要维修"]),
    ("North China", ["交货延迟了两周", "交貨延遲，沒人通知", "发货延迟，交货时间太长"]),
    ("East China", ["价格太贵，比同行高", "價格偏高，希望降價", "The price is too high"]),
]
LOGINS = {"analyst": ("analyst@example.com", "Quill-Meadow-8352"),
          "agent": ("agent@example.com", "Ferry-Cobalt-2961")}


@pytest.fixture(scope="module", autouse=True)
def sentiment_models():
    """The full-corpus sentiment models, ready before this module's first test. With no model in
    the cache folder yet (15-30 s of CPU per language), parallel test workers would each fit the
    same models on the same data: under a lock file one worker fits and writes them, the others
    wait and read the written files."""
    cache = model_cache_dir()
    try:
        import fcntl
        cache.mkdir(parents=True, exist_ok=True)
        lock = open(cache / "sentiment-fit.lock", "a")   # noqa: SIM115 (closed by the with below)
    except (ImportError, OSError):   # no POSIX locks or no writable cache: each fits or reads
        return {language: trained_model(language, cache) for language in ("zh", "en")}
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return {language: trained_model(language, cache) for language in ("zh", "en")}
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def commented(engine):
    """90 responses in two waves with planted comments, and two cases with descriptions."""
    now = datetime(2026, 6, 1, 9, 0)
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [
            {"id": i + 1, "external_id": f"C{i:03d}", "name": f"客户{i}",
             "region": "East China" if i % 2 == 0 else "North China", "tier": "gold",
             "created_at": now, "updated_at": now} for i in range(6)])
        insert_rows(conn, surveys, [{"id": 1, "code": "relationship", "title": "Relationship",
                                     "status": "closed", "definition": {}, "created_at": now}])
        insert_rows(conn, waves, [
            {"id": 1, "survey_id": 1, "name": "2026-Q1", "starts_on": date(2026, 1, 1)},
            {"id": 2, "survey_id": 1, "name": "2026-Q2", "starts_on": date(2026, 4, 1)}])
        rows, items = [], []
        for i in range(90):
            region, texts = TOPICS[i % 3]
            customer = (0 if region == "East China" else 1) + 2 * ((i // 3) % 3)
            rows.append({"id": i + 1, "external_id": f"R{i}", "survey_id": 1,
                         "wave_id": 1 if i < 45 else 2, "customer_id": customer + 1,
                         "channel": "web", "submitted_at": now, "weight": 1.0})
            text = HOSTILE if i == 0 else FORMULA if i == 3 else texts[(i // 3) % 3]
            items += [{"response_id": i + 1, "item_code": "nps", "value_num": 8.0,
                       "value_text": None},
                      {"response_id": i + 1, "item_code": "comment", "value_num": None,
                       "value_text": text}]
        insert_rows(conn, responses, rows)
        insert_rows(conn, answers, items)
        insert_rows(conn, cases, [
            {"customer_id": 1 + k % 2, "type": "complaint", "status": "new",
             "subject": "设备" if k % 2 == 0 else "交货", "opened_at": now,
             "description": ["设备故障，停机两天", "交貨延遲一週"][k % 2] + "。" * (k // 2)}
            for k in range(6)])
        if conn.dialect.name == "postgresql":
            from sqlalchemy import text as sql
            for table in ("customers", "surveys", "waves", "responses"):
                conn.execute(sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT MAX(id) FROM {table}))"))
    for role, (email, password) in LOGINS.items():
        create_user(engine, email, password, role)
    return engine


def test_survey_comments_come_with_wave_customer_and_segment(commented):
    texts, groups = survey_comments(commented, "relationship")
    assert len(texts) == 90 and texts.index.equals(groups.index)
    assert set(groups["wave"]) == {"2026-Q1", "2026-Q2"}
    assert groups["customer_pk"].notna().all()
    q2, _ = survey_comments(commented, "relationship", wave="2026-Q2")
    assert len(q2) == 45
    with pytest.raises(ValueError, match="No wave 'Q9'.*2026-Q1, 2026-Q2"):
        survey_comments(commented, "relationship", wave="Q9")


def test_planted_themes_found_and_filters_narrow_them(commented):
    result = analyse_survey_comments(commented, "relationship", n_themes=3)
    assert result.n == 90
    by_text = result.comments.assign(topic=[
        "equipment" if "故障" in t else "delivery" if "延" in t else "price"
        for t in result.comments["text"].map(lambda t: t.replace("頻", ""))])
    zh = by_text[by_text["language"] == "zh"]
    purity = zh.groupby("topic")["theme"].agg(lambda s: s.value_counts(normalize=True).iloc[0])
    assert (purity >= 0.9).all(), zh.groupby(["topic", "theme"]).size()
    north = analyse_survey_comments(commented, "relationship", segment="region=North China")
    assert north.n == 30 and north.comments["text"].str.contains("延").all()
    found = analyse_survey_comments(commented, "relationship", query="設備")   # Traditional
    assert found.n == 30 and found.comments["text"].str.contains("设备|設備").all()
    with pytest.raises(ValueError, match="COLUMN=VALUE"):
        analyse_survey_comments(commented, "relationship", segment="planet=Mars")
    with pytest.raises(ValueError, match="No comment matches"):
        analyse_survey_comments(commented, "relationship", query="不存在的词")


def test_tables_for_the_command_line(commented):
    result = analyse_survey_comments(commented, "relationship", n_themes=3)
    themes = comment_table(result, "themes")
    assert {"theme", "n", "share", "ci_low", "ci_high", "keywords"} <= set(themes.columns)
    assert (themes["ci_low"] <= themes["share"]).all()
    groups = comment_table(result, "groups", by="region")
    assert set(groups["region"]) == {"East China", "North China"}
    with pytest.raises(ValueError, match="--by"):
        comment_table(result, "groups")


def test_case_descriptions_are_analysed_too(commented):
    result = analyse_case_descriptions(commented, n_themes=2)
    assert result.n == 6 and set(result.comments["subject"]) == {"设备", "交货"}
    assert analyse_case_descriptions(commented, query="交货").n == 3
    assert set(result.comments.groupby("subject")["theme"].nunique()) == {1}


def test_analyze_comments_command(commented, db_url):
    runner = CliRunner()
    out = runner.invoke(main, ["analyze", "comments", "--db", db_url, "--survey",
                               "relationship", "--search", "设备", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)["rows"] if out.stdout.lstrip().startswith("{") else \
        json.loads(out.stdout)
    assert sum(r["n"] for r in rows) <= 30 and rows
    csv = runner.invoke(main, ["analyze", "comments", "--db", db_url, "--show", "comments",
                               "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    assert "<script>" in csv.stdout   # data as they are, but no formula a spreadsheet runs
    assert "'=HYPERLINK" in csv.stdout
    assert not re.search(r'(^|,)"?=HYPERLINK', csv.stdout, re.M)
    wrong = runner.invoke(main, ["analyze", "comments", "--db", db_url, "--wave", "Q9"])
    assert wrong.exit_code == 1 and "No wave 'Q9'" in wrong.output
    assert "Traceback" not in wrong.output
    by = runner.invoke(main, ["analyze", "comments", "--db", db_url, "--by", "wave"])
    assert by.exit_code == 0 and "2026-Q2" in by.stdout


@pytest.fixture
def web(commented, db_url):
    app = create_app(Settings(database_url=db_url, page_wait_seconds=120, warm_pages_seconds=0))
    with TestClient(app) as client:
        yield client


def _login(client, role, language="zh_Hans"):
    client.cookies.set("patronage_lang", language)
    email, password = LOGINS[role]
    page = client.get("/login")
    response = client.post("/login", data={"email": email, "password": password, "next": "/",
                                           "csrf_token": csrf_of(page.text)},
                           follow_redirects=False)
    assert response.status_code == 303


def test_comments_page_in_chinese_escapes_comments_and_links_profiles(web):
    _login(web, "analyst")
    page = web.get("/comments")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.find("a", href="/comments", attrs={"aria-current": "page"})
    assert soup.select("#themes table tbody tr")
    assert soup.select("#sentiment td") and "95%" in soup.select_one("#themes thead").text
    assert soup.select("#examples a[href^='/customers/']")
    assert soup.select("#by-wave th")   # two waves: a table by wave
    assert english_words(page.text, allowed={"price", "high", "The", "too", "alert",
                                             "script", "East", "North", "China"}) == []
    found = web.get("/comments", params={"q": "設備", "wave": "2026-Q1"})
    texts = [q.text for q in BeautifulSoup(found.text, "html.parser").select("#examples q")]
    assert texts and all("设备" in t or "設備" in t for t in texts)
    north = web.get("/comments", params={"segment": "region=North China"})
    assert "延" in BeautifulSoup(north.text, "html.parser").select_one("#examples").text
    bad = web.get("/comments", params={"segment": "planet=Mars"})
    assert bad.status_code == 200 and "COLUMN=VALUE" not in bad.text and "细分" in bad.text


def test_traditional_readers_get_traditional_theme_names_and_agents_no_page(web):
    _login(web, "analyst", "zh_Hant")
    page = web.get("/comments")
    names = " ".join(a.text for a in BeautifulSoup(page.text, "html.parser")
                     .select("#themes tbody a"))
    assert "設備" in names or "價格" in names or "交貨" in names
    assert "设备" not in names and "价格" not in names
    web.cookies.clear()
    _login(web, "agent")
    assert web.get("/comments", follow_redirects=False).status_code in (303, 403)


def test_edited_themes_are_kept_and_come_first(commented):
    from patronage.satisfaction import comment_themes as edits

    scope = edits.scope_of("relationship")
    edits.pin_theme(commented, scope, "交付延迟", "延迟、延遲, delay")
    assert edits.pinned_themes(commented, scope) == {"交付延迟": ["延迟", "延遲", "delay"]}
    result = analyse_survey_comments(commented, "relationship", n_themes=3)
    delayed = result.comments["text"].str.contains("延遲|延迟")
    assert (result.comments.loc[delayed, "theme"] == "交付延迟").all() and delayed.sum() == 30
    found = [t for t in result.themes["theme"] if "/" in t]
    edits.rename_theme(commented, scope, found[0], "第一主题")
    edits.merge_themes(commented, scope, ["交付延迟", "第一主题"], "合并后")
    assert list(edits.pinned_themes(commented, scope)) == ["合并后"]
    assert set(found[0].split("/")) < set(edits.pinned_themes(commented, scope)["合并后"])
    edits.drop_theme(commented, scope, "合并后")
    assert edits.pinned_themes(commented, scope) == {}
    for bad, message in ((lambda: edits.pin_theme(commented, scope, " ", "a"), "name"),
                         (lambda: edits.pin_theme(commented, scope, "x", " , "), "keyword"),
                         (lambda: edits.merge_themes(commented, scope, ["x"], "y"), "two"),
                         (lambda: edits.drop_theme(commented, scope, "nope"), "No edited")):
        with pytest.raises(ValueError, match=message):
            bad()
    assert edits.pinned_themes(commented, edits.scope_of(cases=True)) == {}


def test_comment_themes_command(commented, db_url):
    runner = CliRunner()
    pin = runner.invoke(main, ["analyze", "comment-themes", "pin", "交付延迟", "--keywords",
                               "延迟,延遲", "--db", db_url])
    assert pin.exit_code == 0, pin.output
    assert "交付延迟: 延迟, 延遲" in pin.stdout
    shown = runner.invoke(main, ["analyze", "comments", "--db", db_url, "--format", "json"])
    assert "交付延迟" in shown.stdout
    wrong = runner.invoke(main, ["analyze", "comment-themes", "merge", "交付延迟", "--into",
                                 "x", "--db", db_url])
    assert wrong.exit_code == 1 and "at least two" in wrong.output
    assert runner.invoke(main, ["analyze", "comment-themes", "drop", "交付延迟", "--db",
                                db_url]).exit_code == 0


def test_themes_are_edited_on_the_page(web):
    _login(web, "analyst")
    page = web.get("/comments", params={"wave": "2026-Q1"})
    soup = BeautifulSoup(page.text, "html.parser")
    csrf = soup.select_one("#edit input[name=csrf_token]")["value"]
    done = web.post("/comments/themes", data={"action": "pin", "name": "交付延迟",
                                              "keywords": "延迟，延遲", "csrf_token": csrf,
                                              "wave": "2026-Q1"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith(
        "/comments?wave=2026-Q1")
    shown = BeautifulSoup(web.get("/comments", params={"wave": "2026-Q1"}).text, "html.parser")
    assert "交付延迟" in shown.select_one("#themes").text
    bad = web.post("/comments/themes", data={"action": "merge", "themes": ["交付延迟"],
                                             "name": "x", "csrf_token": csrf})
    assert bad.status_code == 400
    assert "请至少选择两个主题" in BeautifulSoup(bad.text, "html.parser").select_one(
        "#edit .error").text
    forged = web.post("/comments/themes", data={"action": "drop", "themes": ["交付延迟"]},
                      follow_redirects=False)
    assert forged.status_code in (400, 403)


def test_case_descriptions_on_the_page(web):
    _login(web, "analyst")
    page = web.get("/comments", params={"source": "cases"})
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("#source strong").text == "工单描述"
    assert soup.select_one("select[name=wave]") is None
    examples = soup.select_one("#examples").text
    assert "停机两天" in examples or "交貨延遲" in examples
    assert "<script>" not in examples and "设备故障太多" not in examples
    csrf = soup.select_one("#edit input[name=csrf_token]")["value"]
    done = web.post("/comments/themes", data={"action": "pin", "name": "延迟", "keywords": "延遲",
                                              "source": "cases", "csrf_token": csrf},
                    follow_redirects=False)
    assert done.status_code == 303 and "source=cases" in done.headers["location"]
    from patronage.satisfaction.comment_themes import pinned_themes, scope_of
    assert pinned_themes(web.app.state.engine, scope_of(cases=True)) == {"延迟": ["延遲"]}
    assert pinned_themes(web.app.state.engine, scope_of("relationship")) == {}
