"""The contact log: every call, visit, message, greeting, gift and note with a customer.

Tasks, cases, surveys, greetings, campaigns and agents all write here through
:func:`log_contact`, in the transaction of what the contact is about. An agent's contact typed
on the profile or the command line goes through :func:`record_contact` (checked, with reasons a
user can act on); a call centre's or CRM's export comes in with :func:`import_contacts`
(``patronage import contacts FILE``), all or nothing, each row once by its id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.messages import N_, Term, UserError
from patronage.storage import write_transaction
from patronage.storage.importing.mapping import ALIASES as PANEL_ALIASES
from patronage.storage.importing.parsing import parse_amount, parse_datetime
from patronage.storage.importing.report import ImportReport
from patronage.storage.importing.rows import open_rows, write_rows
from patronage.storage.schema import customers, users
from patronage.storage.schema_care import (
    CONTACT_CHANNELS, CONTACT_DIRECTIONS, CONTACT_KINDS, care_outcomes, contacts,
)

#: How channels, kinds and directions read on pages (translated there).
CHANNEL_NAMES = {"phone": N_("Phone call"), "visit": N_("Visit"), "sms": N_("SMS"),
                 "email": N_("E-mail"), "wechat": N_("WeChat"), "letter": N_("Letter"),
                 "web": N_("Website"), "other": N_("Other")}
KIND_NAMES = {"call": N_("Call"), "visit": N_("Visit"), "message": N_("Message"),
              "greeting": N_("Greeting"), "gift": N_("Gift"), "note": N_("Internal note"),
              "survey": N_("Survey"), "case": N_("Case"), "reply": N_("Reply"),
              "opt_out": N_("Opt-out")}
DIRECTION_NAMES = {"out": N_("we contacted the customer"), "in": N_("the customer contacted us")}
MAX_BODY = 20000


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def log_contact(conn: Connection, *, customer_id: int, channel: str, kind: str,
                user_id: int | None = None, at: datetime | None = None,
                direction: str = "out", outcome: str | None = None, subject: str | None = None,
                body: str | None = None, cost: float | None = None, task_id: int | None = None,
                case_id: int | None = None, campaign_id: int | None = None,
                external_id: str | None = None, now: datetime | None = None) -> int | None:
    """Add one contact on the open write connection ``conn``; returns its id.

    With ``external_id`` (an imported row's id, a message's key) a second call for the same id
    logs nothing and returns the first contact's id: importing or sending twice logs once.
    """
    if channel not in CONTACT_CHANNELS:
        raise ValueError(f"contact channel must be one of {list(CONTACT_CHANNELS)}; got {channel!r}")
    if kind not in CONTACT_KINDS:
        raise ValueError(f"contact kind must be one of {list(CONTACT_KINDS)}; got {kind!r}")
    now = now or _now()
    values = dict(customer_id=customer_id, at=at or now, user_id=user_id, channel=channel,
                  kind=kind, direction=direction, outcome=outcome,
                  subject=subject[:300] if subject else subject, body=body, cost=cost,
                  task_id=task_id, case_id=case_id, campaign_id=campaign_id,
                  external_id=external_id, created_at=now)
    if external_id is None:
        return conn.execute(insert(contacts).values(**values)).inserted_primary_key[0]
    savepoint = conn.begin_nested()
    try:
        new_id = conn.execute(insert(contacts).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        savepoint.rollback()
        return conn.execute(select(contacts.c.id)
                            .where(contacts.c.external_id == external_id)).scalar_one_or_none()
    savepoint.commit()
    return new_id


def customer_pk(conn_or_engine, external_id: str) -> int:
    """The key of the customer with ``external_id``; a UserError naming the id otherwise."""
    ref = (external_id or "").strip()
    if not ref:
        raise UserError(N_("Give the customer's id."))
    query = select(customers.c.id).where(customers.c.external_id == ref)
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
    else:
        found = conn_or_engine.execute(query).scalar_one_or_none()
    if found is None:
        raise UserError(N_("No customer has the id {customer!r}; check it on the customer list."),
                        customer=ref)
    return int(found)


def user_id_of(conn: Connection, email: str | None) -> int | None:
    """The id of the staff member with ``email`` (None for no e-mail); a UserError otherwise."""
    if not email or not str(email).strip():
        return None
    found = conn.execute(select(users.c.id).where(
        func.lower(users.c.email) == str(email).strip().lower())).scalar_one_or_none()
    if found is None:
        raise UserError(N_("No staff member has the e-mail {email!r}; see patronage user list."),
                        email=str(email).strip())
    return int(found)


def _choice(value, allowed, field: str, column: str, default: str | None = None) -> str:
    value = (value or "").strip().lower() if isinstance(value, str) else value
    if not value and default is not None:
        return default
    if value not in allowed:
        raise UserError(N_("The {field} must be one of {choices}; got {value!r}."),
                        field=Term(field), choices=", ".join(allowed), value=value or "",
                        column=column)
    return value


def checked_contact(*, channel, kind, direction="out", outcome=None, subject=None, body=None,
                    cost=None, at=None, now: datetime) -> dict:
    """The fields of a contact as :func:`log_contact` takes them, checked; a UserError naming
    the field otherwise."""
    channel = _choice(channel, CONTACT_CHANNELS, N_("channel"), "channel")
    kind = _choice(kind, CONTACT_KINDS, N_("kind"), "kind")
    direction = _choice(direction, CONTACT_DIRECTIONS, N_("direction"), "direction",
                        default="out")
    outcome = (outcome or "").strip() or None
    if outcome and len(outcome) > 40:
        raise UserError(N_("The outcome is too long (at most {n} characters)."), n=40,
                        column="outcome")
    subject = (subject or "").strip() or None
    body = (body or "").strip() or None
    if body and len(body) > MAX_BODY:
        raise UserError(N_("The note is too long (at most {n} characters)."), n=MAX_BODY,
                        column="body")
    if cost is not None and cost != "":
        try:
            cost = round(float(str(cost).replace(",", "").replace("¥", "").strip()), 2)
        except ValueError:
            raise UserError(N_("The cost must be an amount such as 120.50; got {value!r}."),
                            value=str(cost), column="cost") from None
        if cost < 0 or cost >= 1e12:
            raise UserError(N_("The cost must be an amount such as 120.50; got {value!r}."),
                            value=str(cost), column="cost")
    else:
        cost = None
    if isinstance(at, str):
        at = at.strip()
        try:
            at = datetime.fromisoformat(at) if at else None
        except ValueError:
            raise UserError(N_("The time must be written like 2026-06-01 14:30; got {value!r}."),
                            value=at, column="at") from None
    if at is not None:
        at = at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
        if at > now + pd.Timedelta(days=1):
            raise UserError(N_("The time of a contact cannot be in the future; got {value}."),
                            value=f"{at:%Y-%m-%d %H:%M}", column="at")
    return dict(channel=channel, kind=kind, direction=direction, outcome=outcome,
                subject=subject, body=body, cost=cost, at=at)


def record_contact(engine: Engine, *, customer_id: int, channel: str, kind: str,
                   user_id: int | None = None, at=None, direction: str = "out",
                   outcome: str | None = None, subject: str | None = None,
                   body: str | None = None, cost=None, timezone: str | None = None,
                   now: datetime | None = None) -> int:
    """Log a contact an agent made or took (the profile's form, ``patronage care contact``);
    checked first: a UserError names the field that is wrong. A naive ``at`` is a time in
    ``timezone`` (default UTC, as stored)."""
    now = now or _now()
    if isinstance(at, str) and at.strip() and timezone:
        try:
            parsed = datetime.fromisoformat(at.strip())
        except ValueError:
            parsed = None  # checked_contact names the field
        if parsed is not None and parsed.tzinfo is None:
            at = parsed.replace(tzinfo=ZoneInfo(timezone))
    fields = checked_contact(channel=channel, kind=kind, direction=direction, outcome=outcome,
                             subject=subject, body=body, cost=cost, at=at, now=now)
    with write_transaction(engine) as conn:
        if conn.execute(select(customers.c.id).where(customers.c.id == customer_id)).first() \
                is None:
            raise UserError(N_("There is no such customer."))
        return log_contact(conn, customer_id=customer_id, user_id=user_id, now=now, **fields)


def list_contacts(engine: Engine, customer_id: int, *, limit: int | None = None
                  ) -> pd.DataFrame:
    """The customer's contacts, newest first, with who logged each (``user``: name or e-mail)
    and the outcome's names where it is one of the care outcomes."""
    c, u, o = contacts.c, users.c, care_outcomes.c
    query = (select(c.id, c.at, c.channel, c.kind, c.direction, c.outcome, c.subject, c.body,
                    c.cost, c.task_id, c.case_id, c.campaign_id, c.external_id,
                    func.coalesce(u.display_name, u.email).label("user"),
                    o.name_en.label("outcome_en"), o.name_zh_hans.label("outcome_zh_hans"),
                    o.name_zh_hant.label("outcome_zh_hant"))
             .select_from(contacts.outerjoin(users, users.c.id == c.user_id)
                          .outerjoin(care_outcomes, care_outcomes.c.code == c.outcome))
             .where(c.customer_id == customer_id).order_by(c.at.desc(), c.id.desc()))
    if limit:
        query = query.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    columns = ["id", "at", "channel", "kind", "direction", "outcome", "subject", "body", "cost",
               "task_id", "case_id", "campaign_id", "external_id", "user", "outcome_en",
               "outcome_zh_hans", "outcome_zh_hant"]
    return pd.DataFrame([dict(r) for r in rows], columns=columns)


def contacts_of(engine: Engine, external_id: str, *, limit: int | None = None) -> pd.DataFrame:
    """:func:`list_contacts` of the customer with ``external_id`` (``patronage care contacts``)."""
    frame = list_contacts(engine, customer_pk(engine, external_id), limit=limit)
    return frame.drop(columns=["outcome_en", "outcome_zh_hans", "outcome_zh_hant"])


# -- importing -----------------------------------------------------------------------------------

IMPORT_ALIASES = {
    "external_id": ("id", "external_id", "contact id", "contact_id", "record id", "记录编号",
                    "記錄編號", "联络编号", "聯絡編號", "通话编号", "通話編號"),
    "customer": PANEL_ALIASES["transactions"]["customer"],
    "at": ("at", "date", "time", "datetime", "contacted at", "日期", "时间", "時間",
           "联络时间", "聯絡時間", "通话时间", "通話時間"),
    "channel": ("channel", "渠道", "通路", "方式", "联络方式", "聯絡方式"),
    "kind": ("kind", "type", "类型", "類型"),
    "direction": ("direction", "方向", "呼入呼出"),
    "outcome": ("outcome", "result", "结果", "結果"),
    "subject": ("subject", "title", "主题", "主題", "标题", "標題"),
    "body": ("note", "body", "notes", "content", "备注", "備註", "内容", "內容", "记录", "記錄"),
    "cost": ("cost", "费用", "費用", "成本"),
    "user": ("user", "agent", "staff", "by", "坐席", "客服", "经办人", "經辦人"),
}
IMPORT_REQUIRED = ("customer", "at", "channel", "kind")


def import_contacts(engine: Engine, source, *, dry_run: bool = False,
                    encoding: str | None = None, sheet: str | None = None,
                    date_order: str | None = None, now: datetime | None = None) -> ImportReport:
    """Import the contacts of a CSV/XLSX file (or a DataFrame of its cells): all or nothing,
    every bad row named by line and column; a row whose ``id`` was imported before is left
    alone (imported ids are kept as ``import:<id>``). Never raises for bad rows."""
    rows = open_rows(source if isinstance(source, pd.DataFrame) else Path(source),
                     kind="contacts", aliases=IMPORT_ALIASES, required=IMPORT_REQUIRED,
                     dry_run=dry_run, encoding=encoding, sheet=sheet)
    if isinstance(rows, ImportReport):
        return rows
    frame, problems = rows.frame, rows.problems
    at, bad, _serials = parse_datetime(frame["at"], date_order)
    problems.flag(bad.notna() | frame["at"].isna(), "at", frame["at"],
                  bad.fillna("required: the date and time of the contact, e.g. 2026-06-01 14:30"))
    cost = pd.Series([None] * len(frame), dtype=object)
    if "cost" in frame:
        cost, bad_cost = parse_amount(frame["cost"])
        problems.flag(bad_cost.notna(), "cost", frame["cost"], bad_cost)
    now = now or _now()
    known: dict = {}

    def prepare(conn) -> None:
        known.update(_known(conn, frame))

    return write_rows(engine, rows, lambda conn, position, line: _import_row(
        conn, frame.iloc[position], line, at.iloc[position], cost.iloc[position], now, problems,
        rows.labels, known), dry_run=dry_run, prepare=prepare)


def _cell(row, name) -> str | None:
    value = row.get(name)
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return str(value).strip() or None


def _known(conn: Connection, frame: pd.DataFrame) -> dict:
    """Customers, staff and already imported ids the file names, read once."""
    refs = {str(v).strip() for v in frame["customer"].dropna()}
    known = {"customers": {}, "users": {}, "imported": set()}
    for chunk in _chunks(sorted(refs)):
        known["customers"].update(conn.execute(select(customers.c.external_id, customers.c.id)
                                               .where(customers.c.external_id.in_(chunk))).all())
    if "user" in frame:
        known["users"] = {e.lower(): i for e, i in conn.execute(select(users.c.email,
                                                                       users.c.id)).all()}
    if "external_id" in frame:
        ids = sorted({f"import:{str(v).strip()}" for v in frame["external_id"].dropna()})
        for chunk in _chunks(ids):
            known["imported"].update(conn.execute(select(contacts.c.external_id).where(
                contacts.c.external_id.in_(chunk))).scalars())
    return known


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _import_row(conn, row, line, at, cost, now, problems, labels, known) -> int:
    def bad(field, message):
        problems.add(line, labels.get(field, field), _cell(row, field), message)

    ref = _cell(row, "external_id")
    key = f"import:{ref}" if ref else None
    if key and len(key) > 100:
        bad("external_id", "too long: an id has at most 90 characters")
        return 0
    if key in known["imported"]:
        return 0
    customer = known["customers"].get(_cell(row, "customer") or "")
    if customer is None:
        bad("customer", "no customer has this id; import the customers first or correct the id")
    user = None
    if _cell(row, "user"):
        user = known["users"].get(_cell(row, "user").lower())
        if user is None:
            bad("user", "no staff member has this e-mail; add the user or leave the cell empty")
    wrong = False
    for name, allowed, default in (("channel", CONTACT_CHANNELS, None),
                                   ("kind", CONTACT_KINDS, None),
                                   ("direction", CONTACT_DIRECTIONS, "out")):
        try:
            _choice(_cell(row, name), allowed, name, name, default=default)
        except UserError as exc:
            bad(name, str(exc))
            wrong = True
    if wrong or pd.isna(at) or customer is None or (_cell(row, "user") and user is None):
        return 0
    try:
        fields = checked_contact(
            channel=_cell(row, "channel"), kind=_cell(row, "kind"),
            direction=_cell(row, "direction"), outcome=_cell(row, "outcome"),
            subject=_cell(row, "subject"), body=_cell(row, "body"),
            cost=None if cost is None or pd.isna(cost) else float(cost),
            at=at.to_pydatetime(), now=now)
    except UserError as exc:
        bad(exc.params.get("column", "kind"), str(exc))
        return 0
    if key:
        known["imported"].add(key)
    log_contact(conn, customer_id=customer, user_id=user, external_id=key, now=now, **fields)
    return 1


__all__ = ["CHANNEL_NAMES", "DIRECTION_NAMES", "IMPORT_ALIASES", "KIND_NAMES", "checked_contact",
           "contacts_of", "customer_pk", "import_contacts", "list_contacts", "log_contact",
           "record_contact", "user_id_of"]
