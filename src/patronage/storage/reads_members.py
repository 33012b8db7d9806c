"""Reads of the membership programme's tables as DataFrames, for the programme's analytics
(:mod:`patronage.analytics.programme`, :mod:`patronage.analytics.incrementality`,
:mod:`patronage.analytics.loyalty_types`)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.storage.reads import _frame
from patronage.storage.schema import customers, transactions
from patronage.storage.schema_members import (
    earn_rules,
    member_programme,
    member_tier_changes,
    members,
    point_accounts,
    point_transfers,
    redemptions,
)

__all__ = ["membership_version", "read_customer_flags", "read_members", "read_point_transfers",
           "read_tier_changes"]


def read_members(engine: Engine) -> pd.DataFrame:
    """Members: ``member_id, customer_pk, customer_id`` (the customer's external id), ``name,
    card_no, joined_on, channel, status, tier_code, closed_on``."""
    m, c = members.c, customers.c
    query = (select(m.id.label("member_id"), c.id.label("customer_pk"),
                    c.external_id.label("customer_id"), c.name, m.card_no, m.joined_on,
                    m.channel, m.status, m.tier_code, m.closed_at.label("closed_on"))
             .join(customers, customers.c.id == m.customer_id).order_by(m.id))
    frame = _frame(engine, query)
    for column in ("joined_on", "closed_on"):
        frame[column] = pd.to_datetime(frame[column]).dt.normalize()
    return frame


def read_point_transfers(engine: Engine) -> pd.DataFrame:
    """Every transfer of points: ``transfer_id, member_id, kind, points, debit, credit`` (the
    kinds of the two accounts: ``points``/``owed`` of the member, ``issue``, ``redemption``,
    ``expiry``, ``adjustment``, ``write_off`` of the programme), ``occurred_at, earned_on,
    expires_on``, the purchase's external id ``transaction_ref``, ``redemption_id`` and the
    earning rule's kind ``rule_kind`` where there is one."""
    t = point_transfers.c
    debit, credit = point_accounts.alias("debit"), point_accounts.alias("credit")
    query = (select(t.id.label("transfer_id"), t.member_id, t.kind, t.points,
                    debit.c.kind.label("debit"), credit.c.kind.label("credit"), t.occurred_at,
                    t.earned_on, t.expires_on,
                    transactions.c.external_id.label("transaction_ref"), t.redemption_id,
                    earn_rules.c.kind.label("rule_kind"))
             .join(debit, debit.c.id == t.debit_account_id)
             .join(credit, credit.c.id == t.credit_account_id)
             .outerjoin(transactions, transactions.c.id == t.transaction_id)
             .outerjoin(earn_rules, earn_rules.c.id == t.rule_id)
             .order_by(t.id))
    frame = _frame(engine, query, parse_dates=["occurred_at"])
    for column in ("earned_on", "expires_on"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def read_tier_changes(engine: Engine) -> pd.DataFrame:
    """The tier history: ``member_id, from_tier, to_tier, kind, changed_on``."""
    h = member_tier_changes.c
    frame = _frame(engine, select(h.member_id, h.from_tier, h.to_tier, h.kind, h.changed_on)
                   .order_by(h.changed_on, h.id))
    frame["changed_on"] = pd.to_datetime(frame["changed_on"])
    return frame


def read_customer_flags(engine: Engine) -> pd.DataFrame:
    """Every customer's ``customer_pk, customer_id, name`` and custom ``attributes`` (a dict)."""
    c = customers.c
    frame = _frame(engine, select(c.id.label("customer_pk"), c.external_id.label("customer_id"),
                                  c.name, c.attributes).order_by(c.external_id))
    frame["attributes"] = [a if isinstance(a, dict) else {} for a in frame["attributes"]]
    return frame


def membership_version(engine: Engine) -> tuple:
    """A cheap token that changes when the programme's data change: transfers and tier changes
    are only ever added (their largest id moves), members are added or closed, redemptions
    cancelled and the policy saved (its time moves)."""
    with engine.connect() as conn:
        return tuple(conn.execute(select(
            select(func.max(point_transfers.c.id)).scalar_subquery(),
            select(func.max(member_tier_changes.c.id)).scalar_subquery(),
            select(func.count(members.c.id)).scalar_subquery(),
            select(func.count(members.c.closed_at)).scalar_subquery(),
            select(func.count(redemptions.c.cancelled_at)).scalar_subquery(),
            select(func.max(member_programme.c.updated_at)).scalar_subquery(),
        )).one())
