"""Key accounts (visit plans, visit reports, the health view) and lost customers (marking,
unmarking, the import, the list and its breakdown), through the library and the CLI."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from patronage.care.accounts import account_health, record_visit, set_visit_plan
from patronage.care.lost import import_lost, lost_breakdown, lost_customers, mark_lost, unmark_lost
from patronage.cli import main
from patronage.messages import UserError
from patronage.storage import write_transaction
from patronage.storage.schema import customers, transactions
from patronage.storage.schema_care import contacts, customer_changes

pytestmark = pytest.mark.db
TODAY = date(2026, 6, 1)


def _key_accounts(engine):
    """C001 a key account by size; C002 by a visit plan; C002 also bought recently."""
    with write_transaction(engine) as conn:
        conn.execute(update(customers).where(customers.c.external_id == "C001")
                     .values(size="Key account"))
        conn.execute(transactions.insert().values(
            external_id="T-recent", customer_id=2, occurred_at=datetime(2026, 5, 20),
            amount=250.0, is_refund=False))
    set_visit_plan(engine, "C001", 90, "analyst@example.com")
    set_visit_plan(engine, "C002", 60)


def test_visit_plans_and_the_health_view(panel):
    engine, _ = panel
    _key_accounts(engine)
    record_visit(engine, "C001", by="analyst@example.com", at=date(2026, 1, 15),
                 report="续签意向明确\n下季度追加订单", outcome="renewal")
    with engine.connect() as conn:
        visit = conn.execute(select(contacts)).mappings().one()
        changes = conn.execute(select(customer_changes.c.field, customer_changes.c.new_value)
                               .where(customer_changes.c.customer_id == 1)).all()
    assert (visit["kind"], visit["channel"], visit["subject"]) == ("visit", "visit", "续签意向明确")
    assert visit["user_id"] is not None and visit["at"] == datetime(2026, 1, 15)
    assert ("visit_every_days", "90") in changes and any(f == "account_owner_id"
                                                         for f, _ in changes)

    health = account_health(engine, TODAY).set_index("external_id")
    assert sorted(health.index) == ["C001", "C002"]  # C003 is no key account
    c1, c2 = health.loc["C001"], health.loc["C002"]
    # C001: visited 2026-01-15, every 90 days: due 2026-04-15, 47 days overdue on 2026-06-01
    assert c1["due_on"] == date(2026, 4, 15) and c1["overdue_days"] == 47
    assert c1["owner"] == "analyst@example.com"
    # Its purchases were all in 2025: nothing in the last 90 days against five earlier windows
    assert c1["recent_spend"] == 0 and c1["spend_windows"] == 5 and bool(c1["spend_drop"])
    # The seeded panel's latest NPS answers (conftest.seed_panel): C001 answer 54 (2026-05-27),
    # 54*7 mod 11 = 4; C002 answer 55 (2026-05-28), 55*7 mod 11 = 0; C002 has the open case
    assert c1["last_nps"] == 4 and c2["last_nps"] == 0
    assert c1["open_cases"] == 0 and c2["open_cases"] == 1
    assert c1["status"] == "at_risk" and c1["reasons"].split(";") == [
        "spend_drop", "visit_overdue", "detractor"]
    assert c2["never_visited"] and c2["recent_spend"] == 250
    assert c2["status"] == "at_risk" and "open_cases" in c2["reasons"]
    assert "47 days overdue" in c1["reason"]

    with pytest.raises(UserError, match="no customer"):
        set_visit_plan(engine, "C999", 30)
    with pytest.raises(UserError, match="between 1 and"):
        set_visit_plan(engine, "C001", -3)
    with pytest.raises(UserError, match="no active staff"):
        set_visit_plan(engine, "C001", 30, "nobody@example.com")
    with pytest.raises(UserError, match="required"):
        record_visit(engine, "C001", report="  ")
    set_visit_plan(engine, "C002", 0)  # the plan removed: C002 is no key account any more
    assert "C002" not in set(account_health(engine, TODAY)["external_id"])


def test_marking_a_customer_lost(panel):
    engine, _ = panel
    _key_accounts(engine)
    done = mark_lost(engine, "C001", date(2026, 5, 31), "价格", "Acme", "admin@example.com",
                     note="<b>报价高</b>", now=datetime(2026, 6, 1, 9))
    assert done["changed"]
    again = mark_lost(engine, "C001", date(2026, 5, 31), "价格", "Acme",
                      now=datetime(2026, 6, 1, 10))
    assert not again["changed"]
    with engine.connect() as conn:
        row = conn.execute(select(customers).where(customers.c.id == 1)).mappings().one()
        notes = conn.execute(select(contacts).where(contacts.c.kind == "note")).mappings().all()
        fields = {f for (f,) in conn.execute(select(customer_changes.c.field)
                                             .where(customer_changes.c.customer_id == 1))}
    assert (row["lost_on"], row["lost_reason"], row["lost_to"]) == (date(2026, 5, 31), "价格",
                                                                   "Acme")
    assert len(notes) == 1 and notes[0]["outcome"] == "lost" and notes[0]["subject"] == "价格 → Acme"
    assert {"lost_on", "lost_reason", "lost_to"} <= fields
    # a lost key account leaves the health view for the lost list
    assert "C001" not in set(account_health(engine, TODAY)["external_id"])
    with pytest.raises(UserError, match="reason is required"):
        mark_lost(engine, "C002", reason=" ")
    with pytest.raises(UserError, match="future"):
        mark_lost(engine, "C002", date(2030, 1, 1), "价格", now=datetime(2026, 6, 1))
    assert unmark_lost(engine, "C001") and not unmark_lost(engine, "C001")
    assert "C001" in set(account_health(engine, TODAY)["external_id"])


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_import_lost_all_or_nothing(panel, tmp_path):
    engine, _ = panel
    bad = _write(tmp_path / "bad.csv", "客户编号,流失日期,流失原因,去向\n"
                 "C001,2026-04-01,价格,Acme\n"
                 "C404,2026-04-02,服务,Beta\n"
                 "C002,2026-02-30,服务,\n"
                 "C003,2026-04-03,,Beta\n")
    report = import_lost(engine, bad, now=datetime(2026, 6, 1))
    assert not report.ok and report.inserted == 0
    problems = {(issue.line, issue.message.split(";")[0]) for issue in report.errors}
    assert {line for line, _ in problems} == {3, 4, 5}
    assert any("C404" in issue.message for issue in report.errors)
    assert lost_customers(engine).empty  # nothing written

    good = _write(tmp_path / "good.csv", "customer,lost_on,reason,competitor\n"
                  "C001,2026-04-01,价格,Acme\nC002,2026-05-02,服务,Acme\nC003,2026-05-20,价格,\n")
    assert import_lost(engine, good, dry_run=True, now=datetime(2026, 6, 1)).inserted == 0
    assert lost_customers(engine).empty
    report = import_lost(engine, good, now=datetime(2026, 6, 1))
    assert report.ok and report.inserted == 3
    assert import_lost(engine, good, now=datetime(2026, 6, 1)).inserted == 0  # again: unchanged
    lost = lost_customers(engine)
    assert list(lost["external_id"]) == ["C003", "C002", "C001"]  # most recent first
    # the seeded purchases (conftest): C001 bought T0, T3, ... T27 in 2025 (100 + i on month
    # 1 + i mod 12, day 1 + i mod 27); from 2025-04-01 on: T3, T6, T9, T15, T18, T21, T27
    c1 = lost.set_index("external_id").loc["C001"]
    assert c1["spend_year_before"] == pytest.approx(103 + 106 + 109 + 115 + 118 + 121 + 127)
    assert not c1["bought_again"]
    parts = lost_breakdown(lost)
    reasons = parts["reason"].set_index("value")
    assert reasons.loc["价格", "customers"] == 2 and reasons.loc["服务", "customers"] == 1
    competitors = parts["competitor"]
    assert competitors.attrs["recorded"] == 2 and competitors.attrs["not_recorded"] == 1
    assert competitors.iloc[0]["share"] == 1.0


def _cli(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_the_command_line(panel, db_url, tmp_path):
    db = ("--db", db_url)
    _cli("care", "account", "plan", "C001", "--every", "90", "--owner", "analyst@example.com", *db)
    _cli("care", "account", "visit", "C001", "--report", "年度回访", "--on", "2026-05-01", *db)
    rows = json.loads(_cli("analyze", "key-accounts", "--today", "2026-06-01", "--format", "json",
                           *db).output)["rows"]
    assert [(r["customer"], r["every_days"], r["last_visit"]) for r in rows] == [
        ("C001", 90, "2026-05-01")]
    _cli("care", "lost", "mark", "C003", "--reason", "价格", "--competitor", "Acme", "--on",
         "2026-05-01", *db)
    listed = _cli("care", "lost", "list", "--format", "csv", *db)
    assert "C003" in listed.output and "价格" in listed.output
    bad = _cli("care", "lost", "mark", "C999", "--reason", "x", *db, ok=False)
    assert bad.exit_code != 0 and "C999" in bad.output
    path = _write(tmp_path / "lost.csv", "customer,lost_on,reason\nC404,2026-05-01,价格\n")
    result = _cli("import", "lost", path, *db, ok=False)
    assert result.exit_code == 1 and "C404" in result.output


# -- the pages, in Chinese -----------------------------------------------------------------------

def _client(panel, db_url, role="analyst"):
    from bs4 import BeautifulSoup
    from fastapi.testclient import TestClient

    from patronage.settings import Settings
    from patronage.web import create_app

    _engine, info = panel
    client = TestClient(create_app(Settings(database_url=db_url)))
    email, password = info["logins"][role]
    token = BeautifulSoup(client.get("/login").text, "html.parser").find(
        "input", {"name": "csrf_token"})["value"]
    client.post("/login", data={"email": email, "password": password, "csrf_token": token,
                                "next": "/"})
    client.cookies.set("patronage_lang", "zh_Hans")
    return client


def _token(html: str) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser").find("input", {"name": "csrf_token"})["value"]


def _no_english(html: str) -> None:
    from visible_english import english_words

    # the seeded customer "<b>Northwind</b> Traders" is data
    assert not english_words(html, allowed={"Northwind", "Traders"}), english_words(html)


def test_pages_in_chinese(panel, db_url):
    engine, _ = panel
    set_visit_plan(engine, "C002", 60, "analyst@example.com")
    with _client(panel, db_url) as client:
        page = client.get("/care/accounts")
        assert page.status_code == 200
        _no_english(page.text)
        assert "&lt;b&gt;Northwind&lt;/b&gt;" in page.text and "<b>Northwind" not in page.text
        assert 'href="/customers/2"' in page.text and "大客户" in page.text
        token = _token(page.text)
        done = client.post("/care/accounts/C002/visit", data={
            "csrf_token": token, "on": "2026-05-02", "report": "<script>x</script>回访"},
            follow_redirects=False)
        assert done.status_code == 303
        bad = client.post("/care/accounts/C002/visit", data={"csrf_token": token, "report": ""})
        assert bad.status_code == 400 and "必填" in bad.text
        assert client.post("/care/accounts/C002/visit", data={"report": "x"}).status_code in (
            400, 403)  # no CSRF token

        form = client.get("/care/lost/new?customer=C002")
        assert form.status_code == 200 and 'href="/customers/2"' in form.text
        _no_english(form.text)
        assert client.get("/care/lost/new?customer=NOPE").status_code == 404
        marked = client.post("/care/lost/new", data={
            "csrf_token": token, "customer": "C002", "on": "2026-05-31",
            "reason": "<i>价格</i>", "competitor": "某竞争对手"}, follow_redirects=False)
        assert marked.status_code == 303
        lost_list = client.get("/care/lost")
        assert lost_list.status_code == 200
        _no_english(lost_list.text)
        assert "&lt;i&gt;价格&lt;/i&gt;" in lost_list.text and "<i>价格" not in lost_list.text
        assert "n=1" in lost_list.text and "某竞争对手" in lost_list.text
        future = client.post("/care/lost/new", data={
            "csrf_token": token, "customer": "C001", "on": "2099-01-01", "reason": "价格"})
        assert future.status_code == 400 and "未来" in future.text
        _no_english(client.get("/care/accounts").text)  # C002 is lost now: no key accounts
    with engine.connect() as conn:
        kinds = sorted(conn.execute(select(contacts.c.kind)).scalars())
    assert kinds == ["note", "visit"]
