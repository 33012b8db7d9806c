"""Importing transactions: one row per order line, refunds included.

A refund is a row whose refund column says yes or whose amount is negative (``-12.00`` or the
accounting ``(12.00)``); refunds are stored with negative amounts, as :func:`read_transactions`
documents. A column present in the file replaces the stored value on re-import (a blank cell
clears it); a column absent from the file leaves stored values alone.

A refund may name the purchase it gives money back for (column ``refund_of``, ``原订单号``): the
membership programme then takes back that purchase's points pro rata. The purchase must be
imported already or be a row of the same file, be a purchase (not a refund) and belong to the
same customer; a row naming anything else is reported with its line, and so is a purchase row
that names one. New refunds are written after the file's purchases, so a purchase always has
the smaller id (the accrual reads transactions in id order).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from patronage.messages import N_, Message
from patronage.storage.importing import bulk
from patronage.storage.importing.checks import Fields, customer_keys
from patronage.storage.importing.parsing import parse_amount, parse_bool, parse_code, parse_text
from patronage.storage.importing.report import shorten
from patronage.storage.schema import customers, transactions

TABLE = "transactions"
KINDS = {"occurred_at": "datetime", "amount": "float", "cost": "float", "is_refund": "bool",
         "customer_id": "int"}
_TEXT = {"product": 200, "category": 100, "channel": 50}


def validate(fields: Fields) -> pd.DataFrame:
    """Typed columns of the file (customer still as the external id in ``customer``)."""
    ids = fields.parse("external_id", parse_code, 64)
    fields.require("external_id", N_("missing transaction id; every row needs one"))
    fields.unique("external_id", ids, N_("transaction id {value!r} appears twice: lines "
                                         "{first} and {line}; keep one of them"))
    customer = fields.parse("customer", parse_code, 64)
    fields.require("customer", N_("missing customer id; every row needs one"))
    occurred = fields.dates("occurred_at")
    fields.require("occurred_at", N_("missing date; every row needs one"))
    amount = fields.parse("amount", parse_amount)
    fields.require("amount", N_("missing amount; every row needs one"))
    out = {"external_id": ids, "customer": customer, "occurred_at": occurred}
    if "cost" in fields:
        out["cost"] = fields.parse("cost", parse_amount)
    for name, length in _TEXT.items():
        if name in fields:
            out[name] = fields.parse(name, parse_text, length)
    negative = (amount < 0).to_numpy()
    if "is_refund" in fields:
        flag = fields.parse("is_refund", parse_bool)
        said_no = (flag == False).to_numpy(dtype=bool)  # noqa: E712 - elementwise
        conflict = said_no & negative
        if conflict.any():
            messages = pd.Series(None, index=amount.index, dtype=object)
            messages[conflict] = Message(N_(
                "the amount is negative but column {column} says it is not a refund; a "
                "negative amount is a refund: fix one of the two"),
                column=fields.problems.label("is_refund"))
            fields.record("amount", fields.raw("amount"), messages)
        refund = (flag == True).to_numpy(dtype=bool) | negative  # noqa: E712
    else:
        refund = negative
    out["amount"] = pd.Series(np.where(refund, -np.abs(amount), amount), index=amount.index)
    out["is_refund"] = pd.Series(refund, index=amount.index)
    if "refund_of" in fields:
        out["refund_of"] = _refund_of(fields, ids, refund)
    return pd.DataFrame(out)


def _refund_of(fields: Fields, ids: pd.Series, refund: np.ndarray) -> pd.Series:
    """The purchase each refund names; a purchase row naming one, or a refund naming
    itself, is a problem."""
    named = fields.parse("refund_of", parse_code, 64)
    label = fields.problems.label("refund_of")
    messages = pd.Series(None, index=named.index, dtype=object)
    given = named.notna().to_numpy()
    messages[given & ~refund] = Message(N_(
        "column {column} names the purchase a refund is for, but this row is a purchase (its "
        "amount is not negative): make it a refund or clear the cell"), column=label)
    messages[given & refund & (named == ids).to_numpy()] = Message(
        N_("a refund cannot name itself"))
    fields.record("refund_of", fields.raw("refund_of"), messages)
    return named


def _check_purchases(conn: Connection, fields: Fields, typed: pd.DataFrame,
                     keys: pd.Series) -> None:
    """Each refund's ``refund_of`` names a purchase of the same customer, stored already or
    in the file."""
    named = typed["refund_of"]
    rows = np.flatnonzero(named.notna().to_numpy() & typed["is_refund"].to_numpy(dtype=bool))
    if len(rows) == 0:
        return
    in_file = typed[~typed["is_refund"].to_numpy(dtype=bool)]
    in_file = dict(zip(in_file["external_id"], in_file["customer"], strict=True))
    wanted = sorted({str(named.iloc[i]) for i in rows} - in_file.keys())
    stored: dict[str, tuple[int, bool, str]] = {}
    t, c = transactions.c, customers.c
    for start in range(0, len(wanted), 500):
        stored.update({ext: (int(customer), bool(is_refund), ref) for ext, customer, is_refund, ref
                       in conn.execute(select(t.external_id, t.customer_id, t.is_refund,
                                              c.external_id)
                                       .join(customers, c.id == t.customer_id)
                                       .where(t.external_id.in_(wanted[start:start + 500])))})
    messages = pd.Series(None, index=named.index, dtype=object)
    for i in rows:
        purchase, customer = str(named.iloc[i]), typed["customer"].iloc[i]
        if purchase == typed["external_id"].iloc[i]:
            continue  # reported already
        if purchase in in_file:
            other = in_file[purchase]
            owner_matches = other == customer
        elif purchase in stored:
            owner, is_refund, other = stored[purchase]
            if is_refund:
                messages.iloc[i] = Message(N_(
                    "{purchase!r} is a refund, not a purchase; name the purchase the money was "
                    "paid for"), purchase=shorten(purchase))
                continue
            owner_matches = keys.iloc[i] != keys.iloc[i] or owner == int(keys.iloc[i])
        else:
            messages.iloc[i] = Message(N_(
                "no purchase {purchase!r} is imported or in this file; import the purchase first "
                "(or in the same file), or clear the cell"), purchase=shorten(purchase))
            continue
        if not owner_matches:
            messages.iloc[i] = Message(N_(
                "purchase {purchase!r} belongs to customer {owner!r}, not {customer!r}; a refund "
                "goes to the customer who paid"), purchase=shorten(purchase), owner=shorten(other),
                customer=shorten(customer))
    fields.record("refund_of", fields.raw("refund_of"), messages)


_UNKNOWN_CUSTOMER = N_("customer {customer!r} is not in the panel; import customers first, or "
                       "import with --create-customers to create bare customers for the unknown "
                       "ids")


def resolve(conn: Connection, fields: Fields, typed: pd.DataFrame, *,
            create_customers: str | None = None) -> pd.DataFrame:
    """Rows ready to write: the customer's database id in ``customer_id``.

    ``create_customers``: ``"write"`` inserts a bare customer (name = the id) for every unknown
    customer id, on ``conn`` (so in the import's transaction); ``"plan"`` only counts them (a
    dry run). The ids are in ``rows.attrs["customers_created"]``.
    """
    known = bulk.existing_keys(conn, "customers", "external_id")
    refs = typed["customer"]
    created: list[str] = []
    if create_customers:
        created = sorted(str(r) for r in pd.unique(refs[refs.notna() & ~refs.isin(known)]))
    if created and create_customers == "write":
        now = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
        bulk.insert(conn, "customers", pd.DataFrame(
            {"external_id": created, "name": created, "created_at": now, "updated_at": now}),
            kinds={"created_at": "datetime", "updated_at": "datetime"})
        known = bulk.existing_keys(conn, "customers", "external_id")
    elif created:
        known = {**known, **dict.fromkeys(created, -1)}  # counted only: nothing is written
    keys = customer_keys(fields, "customer", refs, known, _UNKNOWN_CUSTOMER)
    if "refund_of" in typed:
        _check_purchases(conn, fields, typed, keys)
    rows = typed.drop(columns=["customer"])
    rows.insert(1, "customer_id", keys)
    rows.attrs["customers_created"] = created
    return rows


def count_new(conn: Connection, rows: pd.DataFrame) -> int:
    stored = bulk.existing_keys(conn, TABLE, "external_id")
    return int((~rows["external_id"].isin(stored.keys())).sum())


def write(conn: Connection, rows: pd.DataFrame, on_progress=None) -> tuple[int, int]:
    rows = rows.assign(customer_id=rows["customer_id"].astype("int64"))
    if "refund_of" in rows:  # purchases first: a refund gets a larger id than its purchase
        rows = rows.sort_values("is_refund", kind="stable")
    compare = [c for c in rows.columns if c != "external_id"]
    return bulk.upsert(conn, TABLE, rows, key="external_id", kinds=KINDS, compare=compare,
                       on_progress=on_progress)


__all__ = ["count_new", "resolve", "validate", "write"]
