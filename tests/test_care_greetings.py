"""The greetings job: consent, quiet period, quiet hours, the customer's language and channel,
tasks with gifts, and exactly once with two workers at once or after a kill."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
from sqlalchemy import func, insert, select, update

from patronage.care import greetings
from patronage.care.greetings import run_greetings
from patronage.settings import Settings
from patronage.storage import make_engine, write_transaction
from patronage.storage.schema import outbox
from patronage.storage.schema_care import (
    care_greetings,
    care_occasions,
    care_tasks,
    contacts,
    sms_outbox,
)
from test_care_calendar import add_customers, switch_on

pytestmark = pytest.mark.db
# 10:00 on 6 February 2027 in Shanghai (春节): outside the quiet hours there.
SPRING = datetime(2027, 2, 6, 2, 0)


@pytest.fixture
def settings(db_url, tmp_path):
    return Settings(database_url=db_url, sms_sink_dir=str(tmp_path / "sms"))


def _count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()


def _bodies(engine):
    with engine.connect() as conn:
        return dict(conn.execute(select(sms_outbox.c.customer_id, sms_outbox.c.body)).all())


def test_greetings_follow_consent_language_and_channel(engine, settings):
    add_customers(engine, {"name": "王伟"}, {"name": "Ann Lee", "language": "en"},
                  {"name": "陳大文", "language": "zh_Hant"}, {"consent_care": False},
                  {"preferences": {"opted_out": "2027-01-02T08:00:00"}},
                  {"phone": None, "email": "li@example.com"}, {"phone": None})
    switch_on(engine, "spring_festival")
    done = run_greetings(engine, settings, now=SPRING)
    assert done["greetings"] == 4 and done["skipped (no phone or e-mail)"] == 1
    bodies = _bodies(engine)
    assert "春节快乐" in bodies[101] and bodies[101].endswith("回复TD退订")
    assert "Spring Festival" in bodies[102] and bodies[102].endswith("Reply STOP to opt out")
    assert "春節快樂" in bodies[103] and bodies[103].endswith("回覆TD退訂")
    assert {104, 105} & set(bodies) == set()
    with engine.connect() as conn:  # no phone: the e-mail instead, with its opt-out link
        mail = conn.execute(select(outbox.c.to_address, outbox.c.body_text, outbox.c.kind)).one()
    assert mail.to_address == "li@example.com" and mail.kind == "care" and "/u/106." in \
        mail.body_text
    assert _count(engine, contacts, contacts.c.kind == "greeting") == 4
    assert run_greetings(engine, settings, now=SPRING)["greetings"] == 0  # never twice


def test_quiet_period_birthday_on_spring_festival_gives_one_message(engine, settings):
    add_customers(engine, {"birthday": date(1980, 2, 6)}, {"name": "李娜"})
    switch_on(engine, "spring_festival", "birthday")
    with write_transaction(engine) as conn:  # 李娜 had a care message two days ago
        conn.execute(insert(contacts).values(customer_id=102, at=datetime(2027, 2, 4, 3),
                                             channel="sms", kind="message", direction="out",
                                             created_at=datetime(2027, 2, 4, 3)))
    done = run_greetings(engine, settings, now=SPRING)
    assert done["greetings"] == 1 and done["held back (quiet period)"] == 2
    assert "生日快乐" in _bodies(engine)[101]
    with engine.connect() as conn:
        decided = conn.execute(select(care_greetings.c.customer_id, care_greetings.c.contact_id)
                               .order_by(care_greetings.c.id)).all()
    assert len(decided) == 3 and sum(c is not None for _, c in decided) == 1
    assert run_greetings(engine, settings, now=SPRING)["greetings"] == 0


def test_quiet_hours_hold_text_messages_and_delay_mail(engine, settings):
    add_customers(engine, {}, {"phone": None, "email": "wang@example.com"})
    switch_on(engine, "spring_festival")
    late = datetime(2027, 2, 5, 16, 30)  # 00:30 on 春节 in Shanghai
    done = run_greetings(engine, settings, now=late)
    assert done["greetings"] == 1 and done["waiting (quiet hours)"] == 1
    with engine.connect() as conn:
        held = conn.execute(select(sms_outbox.c.not_before)).scalar_one()
    assert held == datetime(2027, 2, 6, 0, 0)  # 08:00 in Shanghai
    assert _count(engine, outbox) == 0
    assert run_greetings(engine, settings, now=SPRING)["greetings"] == 1
    assert _count(engine, outbox) == 1 and _count(engine, sms_outbox) == 1


def test_a_task_occasion_makes_one_thank_you_call_with_its_gift(engine, settings):
    add_customers(engine, {"tier": "gold", "name": "张总"}, {"tier": "silver"})
    switch_on(engine, "spring_festival")
    with write_transaction(engine) as conn:
        conn.execute(update(care_occasions).where(care_occasions.c.code == "spring_festival")
                     .values(action="task", task_type="visit", gift="茶叶礼盒", gift_cost=288,
                             tiers=["gold"], days_before=3))
    assert run_greetings(engine, settings, now=SPRING)["tasks"] == 0  # three days ahead only
    done = run_greetings(engine, settings, now=datetime(2027, 2, 3, 2, 0))
    assert done["tasks"] == 1 and done["greetings"] == 0
    with engine.connect() as conn:
        task = conn.execute(select(care_tasks)).mappings().one()
    assert (task["customer_id"], task["type"], task["gift"], float(task["gift_cost"])) == \
        (101, "visit", "茶叶礼盒", 288.0)
    assert task["source_key"].startswith("occasion:") and "张总" in task["subject"]
    assert run_greetings(engine, settings, now=datetime(2027, 2, 3, 5, 0))["tasks"] == 0


def test_two_workers_at_once_greet_each_customer_once(db_url, engine, settings):
    add_customers(engine, *({} for _ in range(12)))
    switch_on(engine, "spring_festival")
    barrier, results, errors = threading.Barrier(2), [], []

    def worker():
        own = make_engine(db_url)  # each worker its own engine and connections
        try:
            barrier.wait()
            results.append(run_greetings(own, settings, now=SPRING))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r["greetings"] for r in results) == 12
    assert _count(engine, sms_outbox) == 12 and _count(engine, care_greetings) == 12
    assert _count(engine, contacts, contacts.c.kind == "greeting") == 12


def test_a_run_killed_midway_then_rerun_greets_each_customer_once(engine, settings,
                                                                   monkeypatch):
    add_customers(engine, *({} for _ in range(6)))
    switch_on(engine, "spring_festival")
    real, calls = greetings.send_message, []

    def dies_on_the_fourth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(greetings, "send_message", dies_on_the_fourth)
    with pytest.raises(RuntimeError):
        run_greetings(engine, settings, now=SPRING)
    assert _count(engine, sms_outbox) == 3 and _count(engine, care_greetings) == 3
    monkeypatch.setattr(greetings, "send_message", real)
    assert run_greetings(engine, settings, now=SPRING)["greetings"] == 3
    assert _count(engine, sms_outbox) == 6 and _count(engine, care_greetings) == 6
    assert _count(engine, contacts) == 6
