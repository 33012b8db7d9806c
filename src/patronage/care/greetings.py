"""The greetings job: on each active occasion's day (less its ``days_before``), greet each
customer it is for, or make the thank-you call / gift task, once.

Run by the worker (:func:`patronage.work.work_once`). Per customer due for something:

* the customer must consent to care and not have opted out (checked again under a lock on the
  customer's row, so an opt-out that lands during the run counts);
* **quiet period** (``care_quiet_days``): no second greeting within that many days of a care
  message (greeting or message). When a customer has several occasions the same day, the most
  personal one wins: birthday, contract anniversary, first-purchase anniversary, company day,
  festival (:data:`~patronage.care.calendar.KIND_PRIORITY`). A birthday on 春节 therefore brings
  the birthday greeting; the festival is recorded as held back and not sent later;
* **quiet hours** (``care_quiet_hours``, the customer's own clock): a text message is queued but
  held until they end (``sms_outbox.not_before``); an e-mail greeting waits for the next run
  after them;
* **never twice**: the ``care_greetings`` row (unique per customer, occasion and date) is
  written in the same transaction as the message or task, after a lock on the customer row;
  two workers at once, or a rerun after a kill, greet once. Tasks are keyed
  ``occasion:{id}:{customer}:{date}`` as well.

Tasks (thank-you calls, gifts) are not messages: the quiet period does not hold them back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, Engine, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.care.calendar import (
    PERSONAL_KINDS,
    audience,
    ensure_builtin,
    in_audience,
    local_today,
    occasion_dates,
    occasions,
    personal_date,
    to_utc,
)
from patronage.care.outreach import (
    load_customer,
    parse_quiet_hours,
    quiet_until,
    reachable_channel,
    send_message,
    why_not,
)
from patronage.care.tasks import create_task
from patronage.care.texts import customer_language, fill, from_columns, pick
from patronage.storage import write_transaction
from patronage.storage.engine import is_sqlite
from patronage.storage.schema import customers
from patronage.storage.schema_care import care_greetings, contacts

#: What a run counts.
COUNTS = ("greetings", "tasks", "held back (quiet period)", "waiting (quiet hours)",
          "skipped (no consent)", "skipped (no phone or e-mail)")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _settings(settings):
    if settings is None:
        from patronage.settings import Settings
        return Settings()
    return settings


def due(occasion_rows: list[dict], people: list[dict], now: datetime) -> dict[int, list]:
    """``{customer id: [(occasion, date), ...]}``: what is due for each customer at ``now``
    (their local today plus the occasion's ``days_before`` is the occasion's date)."""
    found: dict[int, list] = {}
    dated: dict[tuple[int, date], bool] = {}
    for person in people:
        today = local_today(now, person["zone"])
        for occasion in occasion_rows:
            on = today + timedelta(days=occasion["days_before"])
            if not in_audience(occasion, person):
                continue
            if occasion["kind"] in PERSONAL_KINDS:
                hit = personal_date(occasion["kind"], person, on.year) == on
            else:
                if (occasion["id"], on) not in dated:
                    dated[occasion["id"], on] = bool(occasion_dates(occasion, on, on))
                hit = dated[occasion["id"], on]
            if hit:
                found.setdefault(person["id"], []).append((occasion, on))
    return found


def _name(occasion: Mapping, language: str) -> str:
    return pick(from_columns(occasion, "name"), language) or occasion["code"]


def _text(occasion: Mapping, person: Mapping, on: date, language: str) -> str:
    years = None
    start = {"contract": person.get("contract_on"),
             "first_purchase": person.get("first_purchase_on")}.get(occasion["kind"])
    if start is not None:
        years = on.year - start.year
    template = pick(from_columns(occasion, "template"), language) or "{occasion}"
    return fill(template, person, {"occasion": _name(occasion, language),
                                   "date": on.isoformat(), "years": years})


def _recently_messaged(conn: Connection, customer_id: int, since: datetime) -> bool:
    c = contacts.c
    return bool(conn.execute(select(exists().where(
        c.customer_id == customer_id, c.direction == "out", c.kind.in_(("greeting", "message")),
        c.channel.in_(("sms", "email")), c.at >= since))).scalar())


def _claim(conn: Connection, customer_id: int, occasion_id: int, on: date, now: datetime,
           channel: str | None = None) -> int | None:
    """The new ``care_greetings`` row, or None when this greeting was decided already."""
    savepoint = conn.begin_nested()
    try:
        new_id = conn.execute(insert(care_greetings).values(
            customer_id=customer_id, occasion_id=occasion_id, occasion_on=on, channel=channel,
            created_at=now)).inserted_primary_key[0]
    except IntegrityError:
        savepoint.rollback()
        return None
    savepoint.commit()
    return new_id


def _greet_customer(engine: Engine, person: dict, items: list, settings, now: datetime,
                    counts: Counter) -> None:
    hours = parse_quiet_hours(settings.care_quiet_hours)
    quiet_since = now - timedelta(days=settings.care_quiet_days)
    with write_transaction(engine) as conn:
        lock = select(customers.c.id).where(customers.c.id == person["id"])
        if not is_sqlite(engine):  # SQLite has one writer at a time already
            lock = lock.with_for_update()
        if conn.execute(lock).first() is None:
            return
        fresh = {**person, **(load_customer(conn, person["id"]) or {})}
        language = customer_language(fresh, settings.customer_language)
        g = care_greetings.c
        for occasion, on in items:
            if conn.execute(select(g.id).where(
                    g.customer_id == person["id"], g.occasion_id == occasion["id"],
                    g.occasion_on == on)).first() is not None:
                continue
            if why_not(fresh, "any") is not None:
                counts["skipped (no consent)"] += 1
                continue
            if occasion["action"] == "task":
                _make_task(conn, fresh, occasion, on, language, now, counts)
                continue
            channel = reachable_channel(fresh, occasion["channel"])
            if channel is None:
                counts["skipped (no phone or e-mail)"] += 1
                continue
            if channel == "email" and quiet_until(now, fresh["zone"], hours) is not None:
                counts["waiting (quiet hours)"] += 1
                continue
            if settings.care_quiet_days and _recently_messaged(conn, person["id"], quiet_since):
                if _claim(conn, person["id"], occasion["id"], on, now) is not None:
                    counts["held back (quiet period)"] += 1
                continue
            greeting_id = _claim(conn, person["id"], occasion["id"], on, now, channel)
            if greeting_id is None:
                continue
            contact_id = send_message(
                conn, customer=fresh, channel=channel, kind="greeting",
                body=_text(occasion, fresh, on, language), subject=_name(occasion, language),
                key=f"greeting:{occasion['id']}:{person['id']}:{on.isoformat()}",
                settings=settings, now=now)
            conn.execute(update(care_greetings).where(g.id == greeting_id)
                         .values(contact_id=contact_id))
            counts["greetings"] += 1


def _make_task(conn: Connection, person: dict, occasion: Mapping, on: date, language: str,
               now: datetime, counts: Counter) -> None:
    greeting_id = _claim(conn, person["id"], occasion["id"], on, now)
    if greeting_id is None:
        return
    send_on = on - timedelta(days=occasion["days_before"])
    due_at = max(to_utc(datetime.combine(send_on, time(9, 0)), person["zone"]), now)
    task_id = create_task(
        conn, customer_id=person["id"], type=occasion.get("task_type") or "call",
        subject=f"{_name(occasion, language)}: {person['name']}", due_at=due_at,
        script=_text(occasion, person, on, language), gift=occasion.get("gift"),
        gift_cost=occasion.get("gift_cost"),
        source_key=f"occasion:{occasion['id']}:{person['id']}:{on.isoformat()}", now=now)
    conn.execute(update(care_greetings).where(care_greetings.c.id == greeting_id)
                 .values(task_id=task_id))
    if task_id is not None:
        counts["tasks"] += 1


def run_greetings(engine: Engine, settings=None, *, now: datetime | None = None) -> dict[str, int]:
    """Greet (or make the task for) every customer whose occasion is due now; returns the
    counts of :data:`COUNTS`. Each customer's greetings commit in one transaction."""
    settings = _settings(settings)
    now = now or _now()
    ensure_builtin(engine, now)
    counts: Counter = Counter({name: 0 for name in COUNTS})
    with engine.connect() as conn:
        active = occasions(conn, active_only=True)
        if not active:
            return dict(counts)
        people = audience(conn, default_zone=settings.timezone, consenting=True)
    by_id = {person["id"]: person for person in people}
    for customer_id, items in due(active, people, now).items():
        _greet_customer(engine, by_id[customer_id], items, settings, now, counts)
    return dict(counts)


__all__ = ["COUNTS", "due", "run_greetings"]
