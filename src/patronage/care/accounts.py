"""Key accounts: an owner, a visit plan (every N days), visit reports on the contact log, and
the account health view (:func:`account_health`): spend against the account's own history (the
latent-switching signal of :mod:`patronage.analytics.account_health`), visits overdue, open
cases and the last NPS, read as a status with its reasons.

A key account is a customer whose size reads as one (:func:`patronage.cases.routing.
is_key_account`) or who has a visit plan. Lost customers are not on the health view: they are
on the lost list (:mod:`patronage.care.lost`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, and_, func, or_, select, update

from patronage.analytics.account_health import health_status, spend_trend, visit_status
from patronage.care.contacts import log_contact
from patronage.care.profile import record_change
from patronage.cases.inputs import clean_text, user_id_of
from patronage.cases.routing import KEY_ACCOUNT_SIZES
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import (
    OPEN_CASE_STATUSES, answers, cases, customers, responses, transactions, users,
)
from patronage.storage.schema_care import contacts

#: The account health reasons as a reader reads them; ``{ratio}``, ``{days}``, ``{nps}`` and
#: ``{cases}`` are filled in from the row.
REASON_TEXTS = {
    "spend_drop": N_("spend fell to {ratio} of its own average"),
    "spend_softening": N_("spend at {ratio} of its own average"),
    "visit_overdue_long": N_("visit {days} days overdue"),
    "visit_overdue": N_("visit {days} days overdue"),
    "never_visited": N_("never visited"),
    "detractor": N_("last NPS {nps}"),
    "open_cases": N_("open cases: {cases}"),
}
STATUS_TEXTS = {"healthy": N_("healthy"), "watch": N_("watch"), "at_risk": N_("at risk")}
MAX_EVERY_DAYS = 3660
MAX_REPORT = 20_000


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def key_account_clause():
    """The SQL condition that a customer is a key account (size or visit plan)."""
    return or_(customers.c.visit_every_days.is_not(None),
               func.lower(func.trim(customers.c.size)).in_(KEY_ACCOUNT_SIZES))


def find_customer(conn: Connection, customer) -> dict:
    """The customer row of ``customer`` (its id in your system, or the panel's number)."""
    column = customers.c.id if isinstance(customer, int) else customers.c.external_id
    value = customer if isinstance(customer, int) else str(customer or "").strip()
    row = conn.execute(select(customers).where(column == value)).mappings().first()
    if row is None:
        raise UserError(N_("There is no customer {customer!r}; check the customer id."),
                        customer=str(customer)[:64])
    return dict(row)


def set_visit_plan(engine: Engine, customer, every_days: int | None,
                   owner_email: str | None = None, *, by: int | None = None,
                   now: datetime | None = None) -> dict:
    """Visit ``customer`` every ``every_days`` days (None or 0 removes the plan), looked after
    by the staff member ``owner_email`` (the account owner; unchanged when not given). Returns
    ``{"customer": external id, "every_days": ..., "owner_id": ...}``."""
    now = now or _now()
    if every_days is not None:
        try:
            every_days = int(every_days)
        except (TypeError, ValueError):
            raise UserError(N_("The visit plan must be a whole number of days; not {value!r}."),
                            value=str(every_days)[:20]) from None
        if every_days == 0:
            every_days = None
        elif not 1 <= every_days <= MAX_EVERY_DAYS:
            raise UserError(N_("The visit plan must be between 1 and {maximum} days."),
                            maximum=MAX_EVERY_DAYS)
    with write_transaction(engine) as conn:
        row = find_customer(conn, customer)
        owner = row["account_owner_id"] if owner_email in (None, "") else user_id_of(
            conn, owner_email)
        conn.execute(update(customers).where(customers.c.id == row["id"]).values(
            visit_every_days=every_days, account_owner_id=owner, updated_at=now))
        record_change(conn, row["id"], "visit_every_days", row["visit_every_days"], every_days,
                      by=by, at=now)
        record_change(conn, row["id"], "account_owner_id", row["account_owner_id"], owner,
                      by=by, at=now)
    return {"customer": row["external_id"], "every_days": every_days, "owner_id": owner}


def record_visit(engine: Engine, customer, by=None, at: datetime | date | None = None,
                 report: str | None = None, outcome: str | None = None, *,
                 now: datetime | None = None) -> int:
    """A visit to ``customer`` on the contact log (kind and channel ``visit``) with its
    ``report``, made by the staff member ``by`` (e-mail or user id) at ``at`` (default now; a
    date means that day). Returns the contact's id."""
    now = now or _now()
    report = clean_text(report, "body", required=True)
    if isinstance(at, date) and not isinstance(at, datetime):
        at = datetime.combine(at, datetime.min.time())
    at = at or now
    if at > now + timedelta(days=1):
        raise UserError(N_("A visit cannot be recorded in the future ({day})."),
                        day=at.date().isoformat())
    outcome = clean_text(outcome, "code")
    with write_transaction(engine) as conn:
        row = find_customer(conn, customer)
        user = user_id_of(conn, by) if by not in (None, "") else None
        first_line = report.splitlines()[0] if report else None
        return log_contact(conn, customer_id=row["id"], channel="visit", kind="visit",
                           user_id=user, at=at, outcome=outcome, subject=first_line,
                           body=report, now=now)


def as_of(engine: Engine) -> date:
    """Today, or the day of the panel's latest purchase or contact when that is earlier."""
    today = _now().date()
    with engine.connect() as conn:
        latest = [conn.execute(select(func.max(transactions.c.occurred_at))).scalar(),
                  conn.execute(select(func.max(contacts.c.at))).scalar()]
    latest = [pd.Timestamp(v).date() for v in latest if v is not None]
    return min(today, max(latest)) if latest else today


def _read(conn, query, columns) -> pd.DataFrame:
    return pd.DataFrame(conn.execute(query).all(), columns=columns)


def account_health(engine: Engine, today: date | None = None, *, window_days: int = 90,
                   history_windows: int = 8) -> pd.DataFrame:
    """One row per key account not lost by ``today`` (default: today): owner, visit plan, last
    visit, days overdue, the spend-against-own-history signal, open cases, the last NPS and a
    status (``healthy`` / ``watch`` / ``at_risk``) with its reasons (codes in ``reasons``,
    English in ``reason``), the accounts at risk first.

    Without ``today`` the view is as of the panel's latest activity (the last purchase or
    contact) when that is earlier than today: a panel whose imports stopped (or a demo) is
    judged at its own end rather than showing every account as lapsed."""
    today = today or as_of(engine)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time())
    c = customers.c
    key = and_(key_account_clause(), or_(c.lost_on.is_(None), c.lost_on > today))
    ids = select(c.id).where(key)
    with engine.connect() as conn:
        accounts = _read(conn, select(
            c.id, c.external_id, c.name, c.tier, c.size, c.region, c.account_owner_id,
            func.coalesce(users.c.display_name, users.c.email), c.visit_every_days)
            .select_from(customers.outerjoin(users, users.c.id == c.account_owner_id))
            .where(key).order_by(c.id),
            ["customer_id", "external_id", "name", "tier", "size", "region", "owner_id",
             "owner", "every_days"])
        visits = _read(conn, select(contacts.c.customer_id, func.max(contacts.c.at))
                       .where(contacts.c.kind == "visit", contacts.c.at < end,
                              contacts.c.customer_id.in_(ids))
                       .group_by(contacts.c.customer_id), ["customer_id", "last_visit"])
        open_cases = _read(conn, select(cases.c.customer_id, func.count())
                           .where(cases.c.status.in_(OPEN_CASE_STATUSES),
                                  cases.c.customer_id.in_(ids))
                           .group_by(cases.c.customer_id), ["customer_id", "open_cases"])
        nps = _read(conn, select(responses.c.customer_id, responses.c.submitted_at,
                                 answers.c.value_num)
                    .join(answers, answers.c.response_id == responses.c.id)
                    .where(answers.c.item_code == "nps", answers.c.value_num.is_not(None),
                           responses.c.submitted_at < end, responses.c.customer_id.in_(ids))
                    .order_by(responses.c.submitted_at, responses.c.id),
                    ["customer_id", "last_nps_at", "last_nps"])
        sales = _read(conn, select(transactions.c.customer_id, transactions.c.occurred_at,
                                   transactions.c.amount, transactions.c.is_refund)
                      .where(transactions.c.customer_id.in_(ids),
                             transactions.c.occurred_at < end),
                      ["customer_id", "occurred_at", "amount", "is_refund"])
    table = accounts.set_index("customer_id")
    table["last_visit"] = visits.set_index("customer_id")["last_visit"]
    table["open_cases"] = (open_cases.set_index("customer_id")["open_cases"]
                           .reindex(table.index).fillna(0).astype(int))
    last = nps.groupby("customer_id").last()
    table["last_nps"] = last["last_nps"]
    table["last_nps_at"] = last["last_nps_at"]
    if not sales.empty:
        sales["amount"] = sales["amount"].astype(float)
    trend = spend_trend(sales, today, window_days=window_days, history_windows=history_windows)
    table = table.join(trend.rename(columns={
        "recent": "recent_spend", "baseline": "baseline_spend", "sd": "spend_sd",
        "windows": "spend_windows", "ratio": "spend_ratio", "z": "spend_z",
        "percentile": "spend_percentile", "drop": "spend_drop"}))
    table["spend_drop"] = table["spend_drop"].fillna(False).astype(bool)
    table["spend_windows"] = table["spend_windows"].fillna(0).astype(int)
    rows = [_status(row, today) for row in table.to_dict(orient="records")]
    table = pd.concat([table, pd.DataFrame(rows, index=table.index)], axis=1)
    order = {"at_risk": 0, "watch": 1, "healthy": 2}
    table = table.assign(_order=table["status"].map(order)).sort_values(
        ["_order", "overdue_days", "name"], ascending=[True, False, True],
        na_position="last").drop(columns="_order")
    table.attrs["about"] = {"today": today.isoformat(), "window_days": window_days,
                            "history_windows": history_windows}
    return table


def _status(row: dict, today: date) -> dict:
    every = row.get("every_days")
    every = None if every is None or pd.isna(every) else int(every)
    last_visit = row.get("last_visit")
    plan = visit_status(None if last_visit is None or pd.isna(last_visit) else last_visit,
                        every, today)
    status, reasons = health_status(
        drop=bool(row["spend_drop"]), ratio=row.get("spend_ratio"),
        overdue_days=plan["overdue_days"], every_days=every, never_visited=plan["never"],
        open_cases=int(row["open_cases"]), last_nps=row.get("last_nps"))
    return {"due_on": plan["due_on"], "overdue_days": plan["overdue_days"],
            "never_visited": plan["never"], "status": status, "reasons": ";".join(reasons),
            "reason": reason_text(reasons, row, plan["overdue_days"])}


def reason_text(reasons: list[str], row: dict, overdue_days, gettext=lambda s: s) -> str:
    """The reasons of one account joined into one line, in the language of ``gettext``."""
    ratio = row.get("spend_ratio")
    nps = row.get("last_nps")
    values = {"ratio": "–" if ratio is None or pd.isna(ratio) else f"{ratio:.0%}",
              "days": overdue_days or 0,
              "nps": "–" if nps is None or pd.isna(nps) else f"{nps:.0f}",
              "cases": int(row.get("open_cases") or 0)}
    return " · ".join(gettext(REASON_TEXTS[code]).format(**values) for code in reasons)


def key_accounts_table(engine: Engine, today: date | None = None) -> pd.DataFrame:
    """``patronage analyze key-accounts``: the health view's columns people read."""
    table = account_health(engine, today)
    columns = ["external_id", "name", "owner", "every_days", "last_visit", "overdue_days",
               "recent_spend", "baseline_spend", "spend_ratio", "spend_z", "spend_windows",
               "open_cases", "last_nps", "status", "reasons", "reason"]
    out = table.reset_index()[columns].rename(columns={"external_id": "customer"})
    out["last_visit"] = pd.to_datetime(out["last_visit"]).dt.date
    for column in ("recent_spend", "baseline_spend"):
        out[column] = out[column].astype(float).round(0).astype("Int64")
    out["spend_ratio"] = out["spend_ratio"].astype(float).round(3)
    out["spend_z"] = out["spend_z"].astype(float).round(2)
    out.attrs["about"] = table.attrs.get("about")
    counts = out["status"].value_counts()
    out.attrs["notes"] = [
        f"{len(out)} key accounts on {table.attrs['about']['today']}: "
        + ", ".join(f"{counts.get(s, 0)} {STATUS_TEXTS[s]}" for s in ("at_risk", "watch",
                                                                       "healthy")),
        "spend: the last 90 days against each earlier 90 days of the last 24 months "
        "(ratio to its own mean, z-score)"]
    return out


__all__ = ["REASON_TEXTS", "STATUS_TEXTS", "account_health", "as_of", "find_customer",
           "key_account_clause", "key_accounts_table", "reason_text",
           "record_visit", "set_visit_plan"]
