"""Customer summaries computed in the database (SQLite or PostgreSQL).

The same numbers as :func:`patronage.analytics.btyd.customer_summary` with ``freq="D"`` on the
stored sales (refunds left out), without loading the transaction log into Python: purchases are
grouped per customer and day, then per customer. ``frequency`` = purchase days − 1, ``recency`` =
days from the first to the last purchase day, ``T`` = days from the first purchase day to the
observation end, ``monetary_value`` = mean spend of the repeat purchase days (0 without repeats,
the convention of the spend model), plus first/last purchase, total spend and profit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Date, Engine, Float, and_, case, cast, func, literal, select

from patronage.storage.schema import customers, transactions


def _day(engine: Engine, column):
    return func.date(column) if engine.dialect.name == "sqlite" else cast(column, Date)


def _days_between(engine: Engine, later, earlier):
    if engine.dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return later - earlier


def _end_day(engine: Engine, observation_end) -> date | None:
    if observation_end is not None:
        value = pd.Timestamp(observation_end)
        return value.date()
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(transactions.c.occurred_at))).scalar_one()
    if latest is None:
        return None
    return pd.Timestamp(latest).date()


def read_customer_summary(engine: Engine, *, observation_end=None) -> pd.DataFrame:
    """Per-customer summary of sales up to ``observation_end`` (default: the last transaction).

    Columns: ``frequency, recency, T, monetary_value, first_purchase, last_purchase,
    total_spend, profit`` (profit counts a missing cost as 0), indexed by the customer's
    external id (``customer_id``). Customers without sales are left out.
    """
    end = _end_day(engine, observation_end)
    columns = ["frequency", "recency", "T", "monetary_value", "first_purchase", "last_purchase",
               "total_spend", "profit"]
    if end is None:
        return pd.DataFrame(columns=columns).rename_axis("customer_id")
    query = _summary_query(engine, end).order_by(customers.c.external_id)
    with engine.connect() as conn:
        result = conn.execute(query)
        frame = pd.DataFrame.from_records([tuple(r) for r in result.fetchall()],
                                          columns=list(result.keys()))
    for column in ("frequency", "recency", "T", "monetary_value", "total_spend", "profit"):
        frame[column] = frame[column].astype(float)
    for column in ("first_purchase", "last_purchase"):
        frame[column] = pd.to_datetime(frame[column])
    return frame.set_index("customer_id")[columns]


def read_summary_counts(engine: Engine, keys: tuple[str, ...], *, observation_end=None,
                        repeat_buyers: bool = False) -> pd.DataFrame:
    """Customers per distinct value of the summary columns ``keys`` (``customers``), counted in
    the database, sorted by ``keys``; ``repeat_buyers`` keeps customers with a repeat purchase
    and a positive mean repeat spend. The sufficient statistics of the value models."""
    end = _end_day(engine, observation_end)
    if end is None:
        return pd.DataFrame({**{k: [] for k in keys}, "customers": []})
    summary = _summary_query(engine, end).subquery("summary")
    columns = [summary.c[k] for k in keys]
    query = select(*columns, func.count().label("customers")).group_by(*columns)
    if repeat_buyers:
        query = query.where(summary.c.frequency > 0, summary.c.monetary_value > 0)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=[*keys, "customers"])
    frame[list(keys)] = frame[list(keys)].astype(float)
    frame["customers"] = frame["customers"].astype("int64")
    return frame.sort_values(list(keys), ignore_index=True)


def read_summary_totals(engine: Engine, *, observation_end=None) -> dict:
    """Total spend, profit and the first purchase day of the customers of the summary, and its
    observation end, summed in the database (``None`` values without sales)."""
    end = _end_day(engine, observation_end)
    if end is None:
        return {"total_spend": None, "profit": None, "first_purchase": None, "end": None}
    summary = _summary_query(engine, end).subquery("summary")
    query = select(func.sum(summary.c.total_spend), func.sum(summary.c.profit),
                   func.min(summary.c.first_purchase))
    with engine.connect() as conn:
        total, profit, first = conn.execute(query).one()
    return {"total_spend": None if total is None else float(total),
            "profit": None if profit is None else float(profit),
            "first_purchase": None if first is None else pd.Timestamp(first),
            "end": None if first is None else pd.Timestamp(end)}


def _cents(amount):
    """Whole cents: sums of them are exact in SQLite's floating point as in PostgreSQL's
    numeric, so every engine sums the same money."""
    return func.round(amount * 100)


def _money(cents):
    """Cents as a double, rounded once (as DuckDB casts its exact decimals)."""
    return cast(cast(cents, Float) / literal(100.0, Float), Float)


def _summary_query(engine: Engine, end: date):
    t = transactions.c
    day = _day(engine, t.occurred_at).label("day")
    cutoff = datetime.combine(end + timedelta(days=1), datetime.min.time())
    daily = (
        select(t.customer_id, day, func.sum(_cents(t.amount)).label("amount"),
               func.sum(_cents(func.coalesce(t.cost, 0))).label("cost"))
        .where(t.is_refund.is_(False), t.occurred_at < cutoff)
        .group_by(t.customer_id, day)
        .subquery("daily")
    )
    per_customer = (
        select(daily.c.customer_id, func.min(daily.c.day).label("first_day"),
               func.max(daily.c.day).label("last_day"), func.count().label("days"),
               func.sum(daily.c.amount).label("total"), func.sum(daily.c.cost).label("cost"))
        .group_by(daily.c.customer_id)
        .subquery("per_customer")
    )
    first = daily.alias("first_purchase")
    end_value = literal(end.isoformat()) if engine.dialect.name == "sqlite" else literal(end, Date)
    pc = per_customer.c
    query = (
        select(
            customers.c.external_id.label("customer_id"),
            (pc.days - 1).label("frequency"),
            _days_between(engine, pc.last_day, pc.first_day).label("recency"),
            _days_between(engine, end_value, pc.first_day).label("T"),
            case((pc.days > 1, _money(pc.total - first.c.amount) / (pc.days - 1)), else_=0.0)
            .label("monetary_value"),
            pc.first_day.label("first_purchase"), pc.last_day.label("last_purchase"),
            _money(pc.total).label("total_spend"), _money(pc.total - pc.cost).label("profit"),
        )
        .join(customers, customers.c.id == pc.customer_id)
        .join(first, and_(first.c.customer_id == pc.customer_id, first.c.day == pc.first_day))
    )
    return query


__all__ = ["read_customer_summary", "read_summary_counts", "read_summary_totals"]
