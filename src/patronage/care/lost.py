"""Lost customers: mark a customer lost with the date, the reason and the competitor they left
for (on the profile, the command line or by import), take the mark back, and the lost list with
its breakdown by reason and competitor.

Reasons and competitors are stored as written (``价格``, ``price``, ``Acme``) and shown through
the company's labels (kinds ``churn_reason`` and ``competitor``, :mod:`patronage.labels`).
Marking records the change on the profile's history and a note on the contact log.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, func, select, update

from patronage.care.accounts import as_of, find_customer
from patronage.care.contacts import log_contact
from patronage.care.profile import record_change
from patronage.cases.inputs import user_id_of
from patronage.messages import N_, Term, UserError
from patronage.storage import write_transaction
from patronage.storage.importing.mapping import ALIASES as PANEL_ALIASES
from patronage.storage.importing.parsing import parse_date
from patronage.storage.importing.report import ImportReport
from patronage.storage.importing.rows import open_rows, write_rows
from patronage.storage.schema import customers, transactions

#: Outcomes of the contact-log notes written here.
LOST, WON_BACK = "lost", "unmarked_lost"
MAX_REASON, MAX_COMPETITOR = 100, 200
IMPORT_ALIASES = {
    "customer": PANEL_ALIASES["transactions"]["customer"],
    "lost_on": ("lost_on", "lost on", "lost", "date", "lost date", "churn date", "日期",
                "流失日期", "流失时间", "流失時間"),
    "reason": ("reason", "lost_reason", "churn reason", "why", "原因", "流失原因"),
    "competitor": ("competitor", "lost_to", "lost to", "went to", "竞争对手", "競爭對手",
                   "去向", "转向", "轉向", "流向"),
    "note": ("note", "notes", "comment", "备注", "備註", "说明", "說明"),
}


#: Field names as people read them (translated with the message).
WHAT = {"reason": Term(N_("reason")), "competitor": Term(N_("competitor")),
        "note": Term(N_("note")), "date": Term(N_("date"))}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _text(value, limit: int, what: str, required: bool = False) -> str | None:
    text = None if value is None or (isinstance(value, float) and pd.isna(value)) \
        else str(value).strip()
    if not text:
        if required:
            raise UserError(N_("The {what} is required."), what=WHAT.get(what, what))
        return None
    if "\x00" in text:
        raise UserError(N_("The {what} contains a NUL character; remove it."),
                        what=WHAT.get(what, what))
    if len(text) > limit:
        raise UserError(N_("The {what} can have at most {maximum} characters."),
                        what=WHAT.get(what, what), maximum=limit)
    return text


def _mark(conn: Connection, row: dict, on: date, reason: str, competitor: str | None,
          note: str | None, by: int | None, now: datetime) -> bool:
    """Mark one customer lost on the open connection; False when already so marked."""
    if (row["lost_on"], row["lost_reason"], row["lost_to"]) == (on, reason, competitor):
        return False
    conn.execute(update(customers).where(customers.c.id == row["id"]).values(
        lost_on=on, lost_reason=reason, lost_to=competitor, updated_at=now))
    for field, new in (("lost_on", on), ("lost_reason", reason), ("lost_to", competitor)):
        record_change(conn, row["id"], field, row[field], new, by=by, at=now)
    subject = reason + (f" → {competitor}" if competitor else "")
    log_contact(conn, customer_id=row["id"], channel="other", kind="note", user_id=by,
                at=datetime.combine(on, datetime.min.time()), outcome=LOST, subject=subject,
                body=note, now=now)
    return True


def parse_day(value, what: str = "date") -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise UserError(N_("The {what} must be a date like 2026-03-31; not {value!r}."),
                        what=WHAT.get(what, what), value=str(value)[:40]) from None


def mark_lost(engine: Engine, customer, on: date | str | None = None,
              reason: str | None = None, competitor: str | None = None, by=None, *,
              note: str | None = None, now: datetime | None = None) -> dict:
    """Mark ``customer`` (its id in your system) lost on ``on`` (default today) for ``reason``,
    gone to ``competitor`` (when known); ``by`` is a staff e-mail or user id. Returns
    ``{"customer", "lost_on", "reason", "competitor", "changed"}``."""
    now = now or _now()
    on = parse_day(on) if on not in (None, "") else now.date()
    if on > now.date() + timedelta(days=1):
        raise UserError(N_("A customer cannot be marked lost in the future ({day})."),
                        day=on.isoformat())
    reason = _text(reason, MAX_REASON, "reason", required=True)
    competitor = _text(competitor, MAX_COMPETITOR, "competitor")
    note = _text(note, 20_000, "note")
    with write_transaction(engine) as conn:
        row = find_customer(conn, customer)
        user = user_id_of(conn, by) if by not in (None, "") else None
        changed = _mark(conn, row, on, reason, competitor, note, user, now)
    return {"customer": row["external_id"], "lost_on": on, "reason": reason,
            "competitor": competitor, "changed": changed}


def unmark_lost(engine: Engine, customer, by=None, *, note: str | None = None,
                now: datetime | None = None) -> bool:
    """Take back the lost mark of ``customer`` (won back, or marked by mistake); False when
    the customer was not marked lost."""
    now = now or _now()
    with write_transaction(engine) as conn:
        row = find_customer(conn, customer)
        if row["lost_on"] is None and not row["lost_reason"] and not row["lost_to"]:
            return False
        user = user_id_of(conn, by) if by not in (None, "") else None
        conn.execute(update(customers).where(customers.c.id == row["id"]).values(
            lost_on=None, lost_reason=None, lost_to=None, updated_at=now))
        for field in ("lost_on", "lost_reason", "lost_to"):
            record_change(conn, row["id"], field, row[field], None, by=user, at=now)
        log_contact(conn, customer_id=row["id"], channel="other", kind="note", user_id=user,
                    outcome=WON_BACK, subject=row["lost_reason"], body=_text(note, 20_000,
                                                                             "note"), now=now)
    return True


def import_lost(engine: Engine, path, *, dry_run: bool = False, encoding: str | None = None,
                sheet: str | None = None, date_order: str | None = None, by=None,
                now: datetime | None = None) -> ImportReport:
    """``patronage import lost FILE``: columns customer, lost_on, reason, competitor (and a
    note). All or nothing: one bad row (unknown customer, bad date, no reason, too long) and
    nothing is written, every problem named by line and column. A customer already marked with
    the same date, reason and competitor is left as it is, so a file can be imported again."""
    now = now or _now()
    rows = open_rows(Path(path), kind="lost customers", aliases=IMPORT_ALIASES,
                     required=("customer", "reason"), dry_run=dry_run, encoding=encoding,
                     sheet=sheet)
    if isinstance(rows, ImportReport):
        return rows
    frame, problems = rows.frame, rows.problems
    days = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if "lost_on" in frame:
        days, bad, _serials = parse_date(frame["lost_on"], date_order)
        problems.flag(bad.notna(), "lost_on", frame["lost_on"], bad)
    user = []

    def prepare(conn) -> None:
        user.append(user_id_of(conn, by) if by not in (None, "") else None)

    return write_rows(engine, rows, lambda conn, position, line: _import_row(
        conn, frame.iloc[position], line, days.iloc[position], problems, rows.labels, user[0],
        now), dry_run=dry_run, prepare=prepare)


def _import_row(conn, row, line, day, problems, labels, user, now) -> int:
    def cell(name):
        value = row.get(name)
        return None if value is None or (isinstance(value, float) and pd.isna(value)) \
            else str(value).strip() or None

    ext = cell("customer")
    found = conn.execute(select(customers).where(customers.c.external_id == (ext or ""))
                         ).mappings().first()
    if found is None:
        problems.add(line, labels.get("customer", "customer"), ext,
                     f"there is no customer {ext!r}; import the customer first or fix the id"
                     if ext else "the customer id is empty")
        return 0
    on = now.date() if day is None or pd.isna(day) else day
    if on > now.date() + timedelta(days=1):
        problems.add(line, labels.get("lost_on", "lost_on"), cell("lost_on"),
                     "the date is in the future")
        return 0
    try:
        reason = _text(cell("reason"), MAX_REASON, "reason", required=True)
        competitor = _text(cell("competitor"), MAX_COMPETITOR, "competitor")
        note = _text(cell("note"), 20_000, "note")
    except UserError as exc:
        name = str(exc.params.get("what"))
        problems.add(line, labels.get(name, name), cell(name), str(exc))
        return 0
    return int(_mark(conn, dict(found), on, reason, competitor, note, user, now))


def lost_customers(engine: Engine, *, since: date | None = None,
                   until: date | None = None) -> pd.DataFrame:
    """The customers marked lost (on or after ``since``, up to ``until``), most recent first:
    their reason and competitor, spend in the year before they were lost, their last purchase
    and whether they bought again after it (won back)."""
    c, t = customers.c, transactions.c
    query = select(c.id, c.external_id, c.name, c.tier, c.region, c.lost_on, c.lost_reason,
                   c.lost_to).where(c.lost_on.is_not(None))
    if since is not None:
        query = query.where(c.lost_on >= since)
    if until is not None:
        query = query.where(c.lost_on <= until)
    with engine.connect() as conn:
        lost = pd.DataFrame(conn.execute(query.order_by(c.lost_on.desc(), c.id)).all(),
                            columns=["customer_id", "external_id", "name", "tier", "region",
                                     "lost_on", "reason", "competitor"])
        ids = select(c.id).where(c.lost_on.is_not(None))
        sales = pd.DataFrame(conn.execute(
            select(t.customer_id, t.occurred_at, t.amount, t.is_refund)
            .where(t.customer_id.in_(ids))).all(),
            columns=["customer_id", "occurred_at", "amount", "is_refund"])
    lost["last_purchase"] = pd.NaT
    lost["spend_year_before"] = 0.0
    lost["bought_again"] = False
    if not sales.empty and not lost.empty:
        sales["amount"] = sales["amount"].astype(float)
        sales["amount"] = sales["amount"].where(~sales["is_refund"].astype(bool),
                                                -sales["amount"].abs())
        sales = sales.merge(lost[["customer_id", "lost_on"]], on="customer_id")
        lost_at = pd.to_datetime(sales["lost_on"])
        before = sales["occurred_at"] < lost_at + pd.Timedelta(days=1)
        year = before & (sales["occurred_at"] >= lost_at - pd.Timedelta(days=365))
        by = lost.set_index("customer_id").index
        lost["last_purchase"] = sales.groupby("customer_id")["occurred_at"].max().reindex(
            by).to_numpy()
        lost["spend_year_before"] = (sales[year].groupby("customer_id")["amount"].sum()
                                     .reindex(by).fillna(0.0).to_numpy())
        lost["bought_again"] = (sales[~before].groupby("customer_id").size()
                                .reindex(by).fillna(0).to_numpy() > 0)
    return lost


def lost_breakdown(lost: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Counts and shares of the lost customers by ``reason`` and by ``competitor`` (a blank
    one counted as not recorded, share of the recorded ones), most frequent first, with
    ``n`` (the lost customers counted) in ``attrs``."""
    out = {}
    for column in ("reason", "competitor"):
        values = lost[column] if column in lost else pd.Series(dtype=object)
        known = values.dropna().astype(str).str.strip()
        known = known[known != ""]
        counts = known.value_counts()
        frame = pd.DataFrame({"value": counts.index, "customers": counts.to_numpy(),
                              "share": counts.to_numpy() / max(len(known), 1)})
        frame.attrs.update(n=len(values), recorded=len(known),
                           not_recorded=len(values) - len(known))
        out[column] = frame
    return out


def lost_table(engine: Engine, *, days: int | None = None,
               today: date | None = None) -> pd.DataFrame:
    """``patronage care lost list``: the lost customers (of the last ``days`` days before
    ``today``, by default the panel's latest activity, see :func:`~patronage.care.accounts.
    as_of`), with a note of the breakdown by reason and competitor."""
    today = today or as_of(engine)
    since = today - timedelta(days=int(days)) if days else None
    lost = lost_customers(engine, since=since)
    out = lost.drop(columns=["customer_id"]).rename(columns={"external_id": "customer"})
    out["last_purchase"] = pd.to_datetime(out["last_purchase"]).dt.date
    out["spend_year_before"] = out["spend_year_before"].astype(float).round(2)
    parts = lost_breakdown(lost)
    notes = [f"{len(lost)} lost customers" + (f" in the last {days} days" if days else "")]
    for column, frame in parts.items():
        shown = ", ".join(f"{v} {n} ({s:.0%})" for v, n, s in frame.head(8).itertuples(
            index=False))
        notes.append(f"by {column} (n={frame.attrs['recorded']}): {shown or '-'}")
    out.attrs["notes"] = notes
    return out


def lost_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(customers)
                                .where(customers.c.lost_on.is_not(None))).scalar())


__all__ = ["IMPORT_ALIASES", "LOST", "WON_BACK", "import_lost", "lost_breakdown", "parse_day",
           "lost_count", "lost_customers", "lost_table", "mark_lost", "unmark_lost"]
