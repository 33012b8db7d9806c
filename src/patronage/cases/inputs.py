"""Checking what people type into a case: text fields, choices, and the customers, staff,
teams and categories they name. Every problem is a translatable :class:`UserError`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from patronage.messages import N_, Term, UserError
from patronage.storage.schema import customers, touchpoints, users
from patronage.storage.schema_cases import case_categories, teams

#: Field names as people read them (translated with the message).
FIELDS = {
    "subject": Term(N_("subject")), "description": Term(N_("description")),
    "contact": Term(N_("contact")), "external_ref": Term(N_("external reference")),
    "type": Term(N_("case type")), "channel": Term(N_("channel")),
    "severity": Term(N_("severity")), "touchpoint": Term(N_("touchpoint")),
    "body": Term(N_("text")), "reason": Term(N_("reason")), "name": Term(N_("name")),
    "code": Term(N_("code")), "status": Term(N_("status")),
    "condition": Term(N_("condition")), "remedy": Term(N_("remedy")),
}
LIMITS = {"subject": 300, "contact": 200, "external_ref": 100, "description": 20_000,
          "body": 20_000, "name": 100, "code": 60}


def now_utc() -> datetime:
    """Now, as the panel stores times: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def clean_text(value, name: str, required: bool = False) -> str | None:
    text = None if value is None else str(value).strip()
    if not text:
        if required:
            raise UserError(N_("The {field} is required."), field=FIELDS.get(name, name))
        return None
    if "\x00" in text:
        raise UserError(N_("The {field} contains a NUL character; remove it."),
                        field=FIELDS.get(name, name))
    if len(text) > LIMITS.get(name, 20_000):
        raise UserError(N_("The {field} can have at most {maximum} characters."),
                        field=FIELDS.get(name, name), maximum=LIMITS.get(name, 20_000))
    return text


def one_of(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise UserError(N_("The {field} must be one of {allowed}; not {value!r}."),
                        field=FIELDS.get(name, name), allowed=", ".join(allowed),
                        value=str(value)[:40])
    return value


def customer_pk(conn, external_id: str) -> int:
    pk = conn.execute(select(customers.c.id)
                      .where(customers.c.external_id == str(external_id).strip())).scalar()
    if pk is None:
        raise UserError(N_("There is no customer {customer!r}; check the customer id."),
                        customer=str(external_id)[:64])
    return int(pk)


def user_id_of(conn, login: str | int | None) -> int | None:
    """A staff member by e-mail (or id); UserError when unknown or deactivated."""
    if login in (None, ""):
        return None
    column = users.c.id if isinstance(login, int) else users.c.email
    value = login if isinstance(login, int) else str(login).strip().lower()
    row = conn.execute(select(users.c.id, users.c.is_active).where(column == value)).first()
    if row is None or not row[1]:
        raise UserError(N_("There is no active staff member {user!r}."), user=str(login)[:254])
    return int(row[0])


def team_id_of(conn, name: str | None) -> int | None:
    if not name:
        return None
    pk = conn.execute(select(teams.c.id).where(teams.c.name == str(name).strip())).scalar()
    if pk is None:
        raise UserError(N_("There is no team {team!r}."), team=str(name)[:100])
    return int(pk)


def touchpoint_of(conn, ref: str | None, pk: int | None,
                  customer_id: int) -> tuple[int | None, str | None]:
    """The touchpoint a case is about, ``(id, kind)``: by the id it was imported under
    (``ref``, as people type it) or by its database id (``pk``, as the library passes it);
    ``(None, None)`` for neither. UserError when ``ref`` is unknown or another customer's."""
    ref = None if ref is None else str(ref).strip() or None
    if ref is None and pk is None:
        return None, None
    t = touchpoints.c
    where = t.external_id == ref if ref is not None else t.id == int(pk)
    row = conn.execute(select(t.id, t.kind, t.customer_id).where(where)).first()
    if row is None and ref is None:
        return None, None  # deleted since the event that refers to it
    if row is None:
        raise UserError(N_("There is no touchpoint {touchpoint!r}; check its id or import it "
                           "first (patronage import touchpoints)."), touchpoint=ref[:64])
    if ref is not None and row.customer_id != customer_id:
        raise UserError(N_("Touchpoint {touchpoint!r} belongs to another customer; check the "
                           "touchpoint or the customer."), touchpoint=ref[:64])
    return int(row.id), row.kind


def category_code(conn, code: str | None) -> str | None:
    if not code:
        return None
    found = conn.execute(select(case_categories.c.code)
                         .where(case_categories.c.code == str(code).strip())).scalar()
    if found is None:
        known = conn.execute(select(case_categories.c.code).order_by(case_categories.c.position,
                                                                     case_categories.c.code))
        raise UserError(N_("There is no case category {category!r}; the categories are {known}."),
                        category=str(code)[:60], known=", ".join(known.scalars()) or "-")
    return found


__all__ = ["FIELDS", "LIMITS", "category_code", "clean_text", "customer_pk", "now_utc", "one_of",
           "team_id_of", "touchpoint_of", "user_id_of"]
