"""Transactional surveys: invite customers a while after a purchase, a touchpoint or a closed
case. The invitation names the touchpoint asked about (the touchpoint, or the case's), and the
answer is tagged with it (``responses.touchpoint_id``).

A trigger watches one event type of one survey. ``last_run_at`` holds the event time up to
which the trigger has run: a run at ``now`` with delay ``d`` covers the events in
``(last_run_at, now - d]`` and then sets ``last_run_at = now - d``, so consecutive runs cover
time without gaps or overlaps and a second run at the same ``now`` invites nobody. It starts at
the moment the trigger is added, so events from before it are never surveyed. The survey's
quiet period and consent hold as for samples; each customer gets at most one invitation per
run. Events that fall due while the survey is not open are surveyed once it opens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, func, insert, null, select, update

from patronage.storage.engine import is_sqlite, write_transaction
from patronage.storage.schema import (
    TOUCHPOINT_KINDS,
    TRIGGER_EVENTS,
    cases,
    customers,
    touchpoints,
    invitations,
    survey_triggers,
    surveys,
    transactions,
    waves,
)
from patronage.surveys import outbox as mail
from patronage.surveys.program import get_survey, new_token
from patronage.surveys.sampling import eligible


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def add_trigger(engine: Engine, code: str, event: str = "purchase", delay_hours: int = 24, *,
                now: datetime | None = None, reopen_condition: dict | None = None,
                touchpoint_kind: str | None = None) -> int:
    """Invite customers to survey ``code`` ``delay_hours`` after each ``event``; returns its id.

    ``event`` is ``"purchase"`` (a transaction that is not a refund), ``"touchpoint"`` (a
    delivery, an installation, a call ... of ``touchpoint_kind``, or any touchpoint but a
    survey; the answer is tagged with it) or ``"case_closed"`` (a case resolved or closed: the invitation carries the case
    and its touchpoint, and an answer matching ``reopen_condition``, a parsed alert-rule
    condition, reopens it). Only events after ``now`` (default: the current time) are
    surveyed.
    """
    if event not in TRIGGER_EVENTS:
        raise ValueError(f"event must be one of {list(TRIGGER_EVENTS)}; got {event!r}")
    if touchpoint_kind is not None and (event != "touchpoint"
                                        or touchpoint_kind not in TOUCHPOINT_KINDS):
        raise ValueError(f"a touchpoint kind goes only with the event 'touchpoint' and is one "
                         f"of {', '.join(TOUCHPOINT_KINDS)}; got {touchpoint_kind!r}")
    if isinstance(delay_hours, bool) or not isinstance(delay_hours, int) or delay_hours < 0:
        raise ValueError(f"delay_hours must be a whole number >= 0; got {delay_hours!r}")
    with write_transaction(engine) as conn:
        survey = get_survey(conn, code)
        if survey.status == "closed":
            raise ValueError(f"survey {code!r} is closed; triggers need a draft or open survey")
        result = conn.execute(insert(survey_triggers).values(
            survey_id=survey.id, event=event, delay_hours=delay_hours, active=True,
            last_run_at=now or _now(),
            reopen_condition=reopen_condition if event == "case_closed" else None,
            touchpoint_kind=touchpoint_kind))
        return int(result.inserted_primary_key[0])


def _events(conn, event: str, start: datetime, end: datetime,
            kind: str | None = None) -> pd.DataFrame:
    if event == "purchase":
        t = transactions.c
        query = (select(t.customer_id, t.occurred_at.label("at"), null().label("case_id"),
                        null().label("touchpoint_id"))
                 .where(~t.is_refund & (t.occurred_at > start) & (t.occurred_at <= end)))
    elif event == "touchpoint":
        p = touchpoints.c
        query = (select(p.customer_id, p.occurred_at.label("at"), null().label("case_id"),
                        p.id.label("touchpoint_id"))
                 .where((p.kind == kind if kind else p.kind != "survey")
                        & (p.occurred_at > start) & (p.occurred_at <= end)))
    else:
        k = cases.c
        done = func.coalesce(k.resolved_at, k.closed_at)
        query = (select(k.customer_id, done.label("at"), k.id.label("case_id"),
                        k.touchpoint_id)
                 .where(done.is_not(None) & k.status.in_(("resolved", "closed"))
                        & (done > start) & (done <= end)))
    rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows],
                        columns=["customer_pk", "at", "case_id", "touchpoint_id"])


def _key(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _panel(conn, pks: list[int]) -> pd.DataFrame:
    c = customers.c
    rows = conn.execute(select(c.id, c.external_id, c.email, c.consent_survey)
                        .where(c.id.in_(pks))).all()
    return pd.DataFrame([tuple(r) for r in rows],
                        columns=["customer_pk", "customer_id", "email", "consent_survey"])


def _history(conn, pks: list[int]) -> pd.DataFrame:
    rows = conn.execute(select(customers.c.external_id, invitations.c.created_at)
                        .join(customers, customers.c.id == invitations.c.customer_id)
                        .where(invitations.c.customer_id.in_(pks))).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["customer_id", "invited_at"])


def _run_one(engine: Engine, trigger_id: int, now: datetime, base_url: str | None) -> int:
    with write_transaction(engine) as conn:
        query = select(survey_triggers).where(survey_triggers.c.id == trigger_id)
        if not is_sqlite(engine):
            query = query.with_for_update()
        trig = conn.execute(query).first()
        survey_row = conn.execute(select(surveys).where(surveys.c.id == trig.survey_id)).first()
        cutoff = now - timedelta(hours=trig.delay_hours)
        if not trig.active or survey_row.status != "open" or trig.last_run_at >= cutoff:
            return 0
        survey = get_survey(conn, survey_row.code)
        events = _events(conn, trig.event, trig.last_run_at, cutoff, trig.touchpoint_kind)
        created = 0
        if len(events):
            first = events.sort_values("at").drop_duplicates("customer_pk")
            pks = [int(p) for p in first["customer_pk"]]
            panel = _panel(conn, pks)
            # The check after a case asks about that case: the quiet period does not hold it back.
            quiet = 0 if trig.event == "case_closed" else survey.quiet_days
            pool, _ = eligible(panel, history=_history(conn, pks), quiet_days=quiet,
                               today=now.date(), require_email=True)
            w = waves.c
            wave_id = conn.execute(select(w.id).where(
                (w.survey_id == survey.id) & (w.starts_on <= now.date())
                & (w.ends_on.is_(None) | (w.ends_on >= now.date())))
                .order_by(w.starts_on.desc(), w.id.desc())).scalar()
            about = first.set_index(first["customer_pk"].astype(int))
            for pk, address in zip(pool["customer_pk"], pool["email"], strict=True):
                token = new_token()
                event = about.loc[int(pk)]
                invitation_id = conn.execute(insert(invitations).values(
                    survey_id=survey.id, wave_id=wave_id, customer_id=int(pk), token=token,
                    channel="email", stratum=trig.event, design_weight=1.0, created_at=now,
                    case_id=_key(event["case_id"]), touchpoint_id=_key(event["touchpoint_id"]),
                )).inserted_primary_key[0]
                mail.enqueue_invitation(conn, invitation_id=invitation_id, token=token,
                                        to_address=address, language=survey.language,
                                        title=survey.title, base_url=base_url, now=now)
                created += 1
        conn.execute(update(survey_triggers).where(survey_triggers.c.id == trigger_id)
                     .values(last_run_at=cutoff))
        return created


def run_triggers(engine: Engine, now: datetime | None = None, *,
                 base_url: str | None = None) -> int:
    """Run every active trigger of an open survey; returns the number of invitations created.

    Each trigger runs in its own write transaction: its invitations, their outbox mail and the
    advanced ``last_run_at`` are committed together, so a crash never invites anyone twice.
    """
    now = now or _now()
    with engine.connect() as conn:
        ids = list(conn.execute(select(survey_triggers.c.id)
                                .where(survey_triggers.c.active).order_by(survey_triggers.c.id))
                   .scalars())
    return sum(_run_one(engine, trigger_id, now, base_url) for trigger_id in ids)


__all__ = ["add_trigger", "run_triggers"]
