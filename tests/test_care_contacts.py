"""The contact log: an agent's contact, listing, import (good, bad, twice) and the timeline's
filters and pages."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from patronage.care.contacts import (
    contacts_of, import_contacts, list_contacts, log_contact, record_contact,
)
from patronage.care.profile import update_customer
from patronage.messages import UserError
from patronage.reporting.customer360 import customer_timeline
from patronage.storage import write_transaction
from patronage.storage.schema_care import contacts

pytestmark = pytest.mark.db
NOW = datetime(2026, 6, 1, 9, 0)


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(contacts)).scalar_one()


def test_an_agent_logs_a_contact_and_reads_the_log(panel):
    engine, _info = panel
    first = record_contact(engine, customer_id=1, channel="phone", kind="call", user_id=3,
                           outcome="reached", body="满意", at="2026-05-30 10:00", now=NOW)
    record_contact(engine, customer_id=1, channel="visit", kind="visit", cost="¥1,200.50",
                   at="2026-05-31T08:00", now=NOW)
    log = list_contacts(engine, 1)
    assert log["kind"].tolist() == ["visit", "call"]  # newest first
    assert log.loc[log["id"] == first, "user"].item() == "agent@example.com"
    assert log.loc[log["kind"] == "visit", "cost"].item() == 1200.5
    assert contacts_of(engine, "C001")["id"].tolist() == log["id"].tolist()
    for bad, field in (({"channel": "fax"}, "channel"), ({"kind": "chat"}, "kind"),
                       ({"cost": "-3"}, "cost"), ({"at": "2027-01-01"}, "at"),
                       ({"at": "yesterday"}, "at")):
        with pytest.raises(UserError) as error:
            record_contact(engine, customer_id=1, **{"channel": "phone", "kind": "call", **bad},
                           now=NOW)
        assert error.value.params["column"] == field
    with pytest.raises(UserError, match="NOPE"):
        contacts_of(engine, "NOPE")
    assert _count(engine) == 2


def test_a_contact_with_an_external_id_is_logged_once(panel):
    engine, _info = panel
    with write_transaction(engine) as conn:
        one = log_contact(conn, customer_id=2, channel="sms", kind="greeting", external_id="k1")
        two = log_contact(conn, customer_id=2, channel="sms", kind="greeting", external_id="k1")
    assert one == two and _count(engine) == 1


def _csv(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_importing_contacts_all_or_nothing_and_once(panel, tmp_path):
    engine, _info = panel
    good = _csv(tmp_path, "calls.csv",
                "客户编号,时间,渠道,类型,结果,备注,坐席,记录编号,费用\n"
                "C001,2026-05-01 10:00,phone,call,reached,回访满意,agent@example.com,X1,\n"
                "C002,2026/5/2 11:00,visit,visit,,上门,,X2,¥300\n")
    report = import_contacts(engine, good, now=NOW)
    assert report.ok and report.inserted == 2
    again = import_contacts(engine, good, now=NOW)
    assert again.ok and again.inserted == 0 and again.unchanged == 2
    assert _count(engine) == 2
    visit = list_contacts(engine, 2).iloc[0]
    assert (visit["cost"], visit["at"]) == (300.0, datetime(2026, 5, 2, 11, 0))
    bad = _csv(tmp_path, "bad.csv",
               "customer,at,channel,kind,user,id\n"
               "C003,2026-05-03,phone,call,,Y1\n"
               "NOPE,2026-05-03,fax,call,,Y2\n"
               "C002,yesterday,phone,chat,nobody@example.com,Y3\n")
    report = import_contacts(engine, bad, now=NOW)
    assert not report.ok and report.inserted == 0 and _count(engine) == 2  # nothing written
    named = {(issue.line, issue.column) for issue in report.errors}
    assert named == {(3, "customer"), (3, "channel"), (4, "at"), (4, "kind"), (4, "user")}
    assert "NOPE" in report.to_text() and "line 3" in report.to_text()
    missing = _csv(tmp_path, "missing.csv", "customer,channel\nC001,phone\n")
    problems = import_contacts(engine, missing, now=NOW).errors
    assert {issue.column for issue in problems} == {"at", "kind"}


def test_the_timeline_filters_by_kind_and_date_and_pages(panel):
    engine, _info = panel
    for day in (3, 10, 20):
        record_contact(engine, customer_id=1, channel="phone", kind="call",
                       at=f"2025-02-{day:02d} 09:00", now=NOW)
    update_customer(engine, 1, {"phone": "+86 139 0000 0000"}, by_user_id=1,
                    now=datetime(2025, 2, 15, 12, 0))
    everything = customer_timeline(engine, 1)
    assert {e["kind"] for e in everything.events} >= {"purchase", "survey", "contact", "change"}
    ats = [e["at"] for e in everything.events]
    assert ats == sorted(ats, reverse=True)
    february = customer_timeline(engine, 1, kinds=["contact", "change"], since="2025-02-05",
                                 until="2025-02-20")
    assert [(e["kind"], e["at"].day) for e in february.events] == [
        ("contact", 20), ("change", 15), ("contact", 10)]
    assert february.since == date(2025, 2, 5)
    paged = customer_timeline(engine, 1, kinds=["purchase"], per_page=4, page=2)
    purchases = customer_timeline(engine, 1, kinds=["purchase"], per_page=100).events
    assert paged.total == len(purchases) == 10 and paged.pages == 3
    assert [e["number"] for e in paged.events] == [e["number"] for e in purchases[4:8]]
    assert "kind=purchase" in paged.query(3) and "page=3" in paged.query(3)
    assert customer_timeline(engine, 1, kinds=["purchase"], per_page=4, page=99).page == 3
