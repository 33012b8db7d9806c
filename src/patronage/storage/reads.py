"""``read_*`` functions: the panel as pandas DataFrames.

Each returns a new frame with documented columns; analytics work on these frames and never see
a connection. Customer-facing ids in results are the stored ``external_id`` values, under the
column ``customer_id``; the integer keys of the database appear as ``customer_pk`` where needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Engine, Select, func, select

from patronage.storage.schema import (
    answers,
    cases,
    customers,
    responses,
    surveys,
    touchpoints,
    transactions,
    waves,
)


def _frame(engine: Engine, query: Select, parse_dates: Sequence[str] = ()) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(query)
        # Plain tuples: pandas is several times slower on SQLAlchemy Row objects.
        frame = pd.DataFrame.from_records([tuple(row) for row in result.fetchall()],
                                          columns=list(result.keys()))
    for column in parse_dates:
        frame[column] = pd.to_datetime(frame[column])
    return frame


def read_customers(engine: Engine, *, search: str | None = None, limit: int | None = None,
                   offset: int = 0) -> pd.DataFrame:
    """Customer profiles: ``customer_pk, customer_id, name, phone, email, birthday, region,
    industry, size, channel, tier, consent_survey, consent_marketing, consent_care``.

    ``search`` matches id, name, phone or e-mail (case-insensitive substring).
    """
    c = customers.c
    query = select(
        c.id.label("customer_pk"),
        c.external_id.label("customer_id"),
        c.name, c.phone, c.email, c.birthday, c.region, c.industry, c.size, c.channel, c.tier,
        c.consent_survey, c.consent_marketing, c.consent_care,
    ).order_by(c.external_id)
    if search:
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            func.lower(c.external_id).like(pattern)
            | func.lower(c.name).like(pattern)
            | func.lower(func.coalesce(c.phone, "")).like(pattern)
            | func.lower(func.coalesce(c.email, "")).like(pattern)
        )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return _frame(engine, query)


def count_customers(engine: Engine, *, search: str | None = None) -> int:
    """Number of customers matching ``search`` (as in :func:`read_customers`)."""
    c = customers.c
    query = select(func.count()).select_from(customers)
    if search:
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            func.lower(c.external_id).like(pattern)
            | func.lower(c.name).like(pattern)
            | func.lower(func.coalesce(c.phone, "")).like(pattern)
            | func.lower(func.coalesce(c.email, "")).like(pattern)
        )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def read_transactions(engine: Engine, *, customer_pk: int | None = None) -> pd.DataFrame:
    """Transactions: ``transaction_id, customer_id, occurred_at, amount, cost, product,
    category, channel, is_refund`` (refunds carry negative amounts)."""
    t = transactions.c
    query = (
        select(
            t.external_id.label("transaction_id"),
            customers.c.external_id.label("customer_id"),
            t.occurred_at, t.amount, t.cost, t.product, t.category, t.channel, t.is_refund,
        )
        .join(customers, customers.c.id == t.customer_id)
        .order_by(t.occurred_at, t.id)
    )
    if customer_pk is not None:
        query = query.where(t.customer_id == customer_pk)
    return _frame(engine, query, parse_dates=["occurred_at"])


def read_touchpoints(engine: Engine, *, customer_pk: int | None = None) -> pd.DataFrame:
    """Touchpoints: ``customer_id, occurred_at, kind, channel, waiting_seconds,
    handling_seconds``."""
    tp = touchpoints.c
    query = select(
        customers.c.external_id.label("customer_id"),
        tp.occurred_at, tp.kind, tp.channel, tp.waiting_seconds, tp.handling_seconds,
    ).join(customers, customers.c.id == tp.customer_id).order_by(tp.occurred_at, tp.id)
    if customer_pk is not None:
        query = query.where(tp.customer_id == customer_pk)
    return _frame(engine, query, parse_dates=["occurred_at"])


def read_responses(engine: Engine, *, survey_code: str | None = None,
                   customer_pk: int | None = None) -> pd.DataFrame:
    """Responses: ``response_pk, response_id, survey, wave, wave_start, customer_id, channel,
    language, started_at, submitted_at, weight, quality_flags``."""
    r = responses.c
    query = (
        select(
            r.id.label("response_pk"),
            r.external_id.label("response_id"),
            surveys.c.code.label("survey"),
            waves.c.name.label("wave"),
            waves.c.starts_on.label("wave_start"),
            customers.c.external_id.label("customer_id"),
            r.channel, r.language, r.started_at, r.submitted_at, r.weight, r.quality_flags,
        )
        .join(surveys, surveys.c.id == r.survey_id)
        .outerjoin(waves, waves.c.id == r.wave_id)
        .outerjoin(customers, customers.c.id == r.customer_id)
        .order_by(r.submitted_at, r.id)
    )
    if survey_code is not None:
        query = query.where(surveys.c.code == survey_code)
    if customer_pk is not None:
        query = query.where(r.customer_id == customer_pk)
    return _frame(engine, query, parse_dates=["submitted_at", "started_at"])


def read_answers(engine: Engine, *, survey_code: str | None = None,
                 customer_pk: int | None = None,
                 item_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Answers in long form: ``response_pk, item_code, value_num, value_text``.

    An item a respondent skipped has no row: missing is missing, never zero.
    """
    a = answers.c
    query = select(a.response_id.label("response_pk"), a.item_code, a.value_num, a.value_text)
    if survey_code is not None or customer_pk is not None:
        query = query.join(responses, responses.c.id == a.response_id)
    if survey_code is not None:
        query = query.join(surveys, surveys.c.id == responses.c.survey_id).where(
            surveys.c.code == survey_code
        )
    if customer_pk is not None:
        query = query.where(responses.c.customer_id == customer_pk)
    if item_codes is not None:
        query = query.where(a.item_code.in_(list(item_codes)))
    return _frame(engine, query.order_by(a.response_id, a.item_code))


def read_cases(engine: Engine, *, customer_pk: int | None = None) -> pd.DataFrame:
    """Cases: ``case_id, customer_id, type, status, subject, description, touchpoint_kind,
    opened_at, closed_at``."""
    k = cases.c
    query = select(
        k.id.label("case_id"),
        customers.c.external_id.label("customer_id"),
        k.type, k.status, k.subject, k.description, k.touchpoint_kind, k.opened_at, k.closed_at,
    ).join(customers, customers.c.id == k.customer_id).order_by(k.opened_at, k.id)
    if customer_pk is not None:
        query = query.where(k.customer_id == customer_pk)
    return _frame(engine, query, parse_dates=["opened_at", "closed_at"])


def read_customer(engine: Engine, customer_pk: int) -> dict | None:
    """One customer profile as a dict, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(customers).where(customers.c.id == customer_pk)).mappings().first()
    return dict(row) if row else None


def read_surveys(engine: Engine) -> pd.DataFrame:
    """Surveys: ``survey_pk, code, title, language, status, created_at``."""
    s = surveys.c
    return _frame(engine, select(s.id.label("survey_pk"), s.code, s.title, s.language, s.status,
                                 s.created_at).order_by(s.id))


def read_waves(engine: Engine, *, survey_code: str | None = None) -> pd.DataFrame:
    """Waves: ``wave_pk, survey, wave, starts_on, ends_on`` in date order."""
    w = waves.c
    query = select(w.id.label("wave_pk"), surveys.c.code.label("survey"), w.name.label("wave"),
                   w.starts_on, w.ends_on).join(surveys, surveys.c.id == w.survey_id)
    if survey_code is not None:
        query = query.where(surveys.c.code == survey_code)
    return _frame(engine, query.order_by(w.starts_on, w.id))


__all__ = [
    "count_customers",
    "read_answers",
    "read_cases",
    "read_customer",
    "read_customers",
    "read_responses",
    "read_surveys",
    "read_touchpoints",
    "read_transactions",
    "read_waves",
]
