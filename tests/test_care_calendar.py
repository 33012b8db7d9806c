"""The care calendar: festival dates against published calendars, leap-day birthdays, customers'
own time zones, reach, the command and the page.

Published dates: 春节 2026 = 17 February 2026 (State Council General Office notice on the 2026
holidays, 国办发明电〔2025〕7号: Spring Festival holiday 15-23 February, 初一 on the 17th);
春节 2027 = 6 February, 元宵 2027 = 20 February, 端午 2027 = 9 June, 中秋 2027 = 15 September
(Hong Kong Observatory, Gregorian-Lunar Calendar Conversion Table for 2027).
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, update

from patronage.care.calendar import (
    audience,
    ensure_builtin,
    lunar_of,
    lunar_to_solar,
    occasion_dates,
    upcoming,
    yearly,
)
from patronage.care.greetings import due
from patronage.cli import main
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import customers
from patronage.storage.schema_care import care_occasions

pytestmark = pytest.mark.db
NOW = datetime(2027, 1, 1, 0, 0)


def add_customers(engine, *people: dict) -> None:
    """Customers with sensible defaults (ids from 101)."""
    with write_transaction(engine) as conn:
        for i, person in enumerate(people):
            row = {"id": 101 + i, "external_id": f"K{101 + i}", "name": f"客户{i}",
                   "phone": f"+86 139{i:08d}", "created_at": NOW, "updated_at": NOW, **person}
            conn.execute(insert(customers).values(**row))


def switch_on(engine, *codes: str) -> None:
    ensure_builtin(engine)
    with write_transaction(engine) as conn:
        conn.execute(update(care_occasions).where(care_occasions.c.code.in_(codes))
                     .values(active=True))


def _builtin(engine, code):
    ensure_builtin(engine)
    with engine.connect() as conn:
        return dict(conn.execute(select(care_occasions).where(care_occasions.c.code == code))
                    .mappings().one())


@pytest.mark.parametrize("code, published", [
    ("spring_festival", date(2026, 2, 17)), ("spring_festival", date(2027, 2, 6)),
    ("lantern_festival", date(2027, 2, 20)), ("dragon_boat", date(2027, 6, 9)),
    ("mid_autumn", date(2027, 9, 15)), ("national_day", date(2027, 10, 1)),
    ("new_year", date(2027, 1, 1))])
def test_festivals_fall_on_their_published_dates(engine, code, published):
    occasion = _builtin(engine, code)
    year = published.year
    assert occasion_dates(occasion, date(year, 1, 1), date(year, 12, 31)) == [published]


def test_lunar_dates_read_in_chinese_and_a_missing_thirtieth_is_the_twenty_ninth():
    assert lunar_of(date(2027, 2, 6))["zh_Hans"] == "正月初一"
    assert lunar_of(date(2027, 9, 15))["zh_Hant"] == "八月十五"
    # 除夕 (腊月三十) of lunar year 2026: that 腊月 has 29 days, so it is the eve of 春节 2027.
    assert lunar_to_solar(2026, 12, 30) == date(2027, 2, 5)
    assert lunar_of(date(2027, 2, 5))["zh_Hant"].startswith("臘月")


def test_a_leap_day_birthday_falls_on_28_february_in_a_common_year(engine):
    assert yearly(2, 29, 2027) == date(2027, 2, 28)
    assert yearly(2, 29, 2028) == date(2028, 2, 29)
    add_customers(engine, {"birthday": date(2000, 2, 29)})
    rows = [r for r in upcoming(engine, date(2027, 2, 1), 60) if r["code"] == "birthday"]
    assert [(r["date"], r["reach"]) for r in rows] == [(date(2027, 2, 28), 1)]
    leap = [r for r in upcoming(engine, date(2028, 2, 1), 60) if r["code"] == "birthday"]
    assert [r["date"] for r in leap] == [date(2028, 2, 29)]


def test_today_is_the_customers_own_date(engine):
    add_customers(engine, {"birthday": date(1985, 3, 15), "timezone": "Asia/Shanghai"},
                  {"birthday": date(1990, 3, 15), "timezone": "America/New_York"})
    birthday = _builtin(engine, "birthday")
    with engine.connect() as conn:
        people = audience(conn)

    def greeted(now):
        return sorted(due([birthday], people, now))

    # 00:30 on 15 March in Shanghai is 12:30 on 14 March in New York.
    assert greeted(datetime(2027, 3, 14, 16, 30)) == [101]
    # 08:00 on 15 March in New York is 20:00 in Shanghai: both have their birthday.
    assert greeted(datetime(2027, 3, 15, 12, 0)) == [101, 102]
    # 00:30 on 16 March in Shanghai: only New York (still the 15th, 12:30) is due.
    assert greeted(datetime(2027, 3, 15, 16, 30)) == [102]


def test_reach_counts_consenting_reachable_customers_of_the_tiers(engine):
    add_customers(engine, {"tier": "gold"}, {"tier": "silver"},
                  {"tier": "gold", "consent_care": False},
                  {"tier": "gold", "phone": None, "email": None},
                  {"tier": "gold", "preferences": {"opted_out": "2026-12-01T10:00:00"}})
    festival = [r for r in upcoming(engine, date(2027, 2, 1), 10)
                if r["code"] == "spring_festival"]
    assert [(r["date"], r["reach"], r["lunar_date"]["zh_Hans"]) for r in festival] == \
        [(date(2027, 2, 6), 2, "正月初一")]
    with write_transaction(engine) as conn:
        conn.execute(update(care_occasions).where(care_occasions.c.code == "spring_festival")
                     .values(tiers=["gold"]))
    festival = [r for r in upcoming(engine, date(2027, 2, 1), 10)
                if r["code"] == "spring_festival"]
    assert festival[0]["reach"] == 1


def test_anniversaries_of_first_purchase_and_contract(engine):
    from patronage.storage.schema import transactions

    add_customers(engine, {"contract_on": date(2024, 4, 10)})
    with write_transaction(engine) as conn:
        conn.execute(insert(transactions), [
            {"external_id": "R1", "customer_id": 101, "occurred_at": datetime(2023, 4, 1, 2),
             "amount": -5.0, "is_refund": True},
            {"external_id": "P1", "customer_id": 101, "occurred_at": datetime(2023, 4, 20, 2),
             "amount": 50.0, "is_refund": False}])
    rows = {(r["code"], r["date"]) for r in upcoming(engine, date(2027, 4, 1), 30)
            if r["code"] in ("contract", "first_purchase")}
    assert rows == {("contract", date(2027, 4, 10)), ("first_purchase", date(2027, 4, 20))}


def test_calendar_and_occasion_commands(db_url, engine):
    add_customers(engine, {})
    runner = CliRunner()
    out = runner.invoke(main, ["care", "calendar", "--db", db_url, "--from", "2027-01-20",
                               "--days", "60", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    spring = next(r for r in rows if r["code"] == "spring_festival")
    assert (spring["date"], spring["lunar_date"], spring["reach"], spring["active"]) == \
        ("2027-02-06", "正月初一", 1, False)
    added = runner.invoke(main, ["care", "occasion", "add", "founding", "--name", "公司十周年",
                                 "--on", "2027-03-01", "--db", db_url])
    assert added.exit_code == 0, added.output
    bad = runner.invoke(main, ["care", "occasion", "add", "odd", "--name", "x", "--every",
                               "02-30", "--db", db_url])
    assert bad.exit_code != 0 and "no day 2/30" in bad.output
    assert runner.invoke(main, ["care", "occasion", "on", "mid_autumn", "--db", db_url]) \
        .exit_code == 0
    refused = runner.invoke(main, ["care", "occasion", "remove", "birthday", "--db", db_url])
    assert refused.exit_code != 0 and "switch it off" in refused.output
    listed = json.loads(runner.invoke(main, ["care", "occasion", "list", "--db", db_url,
                                             "--format", "json"]).output)
    state = {r["code"]: r["active"] for r in listed}
    assert state["founding"] and state["mid_autumn"] and not state["spring_festival"]
    assert runner.invoke(main, ["care", "occasion", "remove", "founding", "--db", db_url]) \
        .exit_code == 0


def test_calendar_page_in_chinese_and_admin_forms(panel, db_url):
    from fastapi.testclient import TestClient

    from patronage.web import create_app
    from test_web import csrf_of, login

    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as client:
        client.info = panel[1]
        login(client, "admin")
        client.cookies.set("patronage_lang", "zh_Hans")
        page = client.get("/care/calendar?days=366")
        assert page.status_code == 200
        assert "关怀日历" in page.text and "春节" in page.text and "正月初一" in page.text
        token = csrf_of(page.text)
        added = client.post("/care/calendar/occasions", data={
            "csrf_token": token, "code": "founding", "name": "公司成立日", "month": "5",
            "day": "20", "action": "greeting", "channel": "sms",
            "template_zh_hans": "{name}，感谢您的陪伴！", "days_before": "0"},
            follow_redirects=True)
        assert added.status_code == 200 and "节日已添加" in added.text
        assert "公司成立日" in added.text
        bad = client.post("/care/calendar/occasions", data={
            "csrf_token": token, "code": "bad", "name": "x", "month": "2", "day": "30"})
        assert bad.status_code == 400 and "日历中没有 2/30 这一天" in bad.text
        switched = client.post("/care/calendar/occasions/spring_festival",
                               data={"csrf_token": token, "do": "on"}, follow_redirects=True)
        assert "节日已开启" in switched.text
        with client.app.state.engine.connect() as conn:
            assert conn.execute(select(care_occasions.c.active).where(
                care_occasions.c.code == "spring_festival")).scalar() is True
        client.post("/logout", data={"csrf_token": token})
        login(client, "analyst")
        assert client.get("/care/calendar").status_code == 200
        refused = client.post("/care/calendar/occasions/spring_festival",
                              data={"csrf_token": csrf_of(client.get("/care/calendar").text),
                                    "do": "off"})
        assert refused.status_code == 403
