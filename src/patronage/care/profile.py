"""Editing a customer's profile, with its history: who changed which field, from what to what.

:func:`update_customer` checks every field it is given (a UserError names the field and says
what to write), writes the changed ones and one ``customer_changes`` row per changed field in
the same transaction. Notes are contacts of kind ``note`` (:func:`add_note`), so they sit on the
timeline with the calls and visits. The account owner is a field like the others
(:func:`set_owner`).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, func, insert, select, update

from patronage.care.contacts import MAX_BODY, log_contact
from patronage.messages import N_, Term, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import LANGUAGES, customers, users
from patronage.storage.schema_care import customer_changes

#: Fields a user may edit, with their names as pages show them (translated there).
FIELD_NAMES = {
    "phone": N_("Phone"), "email": N_("E-mail"), "language": N_("Language"),
    "timezone": N_("Time zone"), "region": N_("Region"), "industry": N_("Industry"),
    "size": N_("Size"), "tier": N_("Tier"), "birthday": N_("Birthday"),
    "contract_on": N_("Contract date"), "consent_survey": N_("Consent to surveys"),
    "consent_marketing": N_("Consent to marketing"), "consent_care": N_("Consent to care"),
    "account_owner_id": N_("Account owner"), "visit_every_days": N_("Visit every (days)"),
}
#: Contact preferences (``preferences.<key>``) and the values each takes.
PREFERENCE_NAMES = {"channel": N_("Preferred channel"), "best_time": N_("Best time to call"),
                    "do_not_call": N_("Do not call")}
PREFERRED_CHANNELS = ("phone", "sms", "email", "wechat", "visit", "letter")
BEST_TIMES = {"morning": N_("morning"), "afternoon": N_("afternoon"),
              "evening": N_("evening"), "weekend": N_("weekend")}
_TEXT_LIMITS = {"region": 100, "industry": 100, "size": 50, "tier": 50}
_BOOLEANS = {"1": True, "true": True, "yes": True, "y": True, "on": True, "是": True,
             "0": False, "false": False, "no": False, "n": False, "off": False, "否": False,
             "": False}
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{4,30}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ATTRIBUTE = re.compile(r"[\w\-.\u4e00-\u9fff]{1,60}")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _wrong(field: str, message: str, **params) -> UserError:
    name = FIELD_NAMES.get(field) or PREFERENCE_NAMES.get(field.removeprefix("preferences."))
    return UserError(message, field=Term(name) if name else field, **params)


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _boolean(field: str, value) -> bool:
    if isinstance(value, bool):
        return value
    key = str(value if value is not None else "").strip().lower()
    if key not in _BOOLEANS:
        raise _wrong(field, N_("{field}: write yes or no; got {value!r}."), value=str(value))
    return _BOOLEANS[key]


def _date(field: str, value, today: date) -> date | None:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date) or value is None:
        parsed = value
    else:
        text = _text(value)
        if text is None:
            return None
        try:
            parsed = date.fromisoformat(text.replace("/", "-"))
        except ValueError:
            raise _wrong(field, N_("{field}: write a date like 1980-02-29; got {value!r}."),
                         value=text) from None
    if field == "birthday" and parsed is not None and (parsed > today or parsed.year < 1900):
        raise _wrong(field, N_("{field}: {value} is not a possible birthday."),
                     value=parsed.isoformat())
    return parsed


def _checked(conn: Connection, field: str, value, today: date):
    """The value to store for ``field``; a UserError naming the field when it is not valid."""
    if field in ("consent_survey", "consent_marketing", "consent_care"):
        return _boolean(field, value)
    if field in ("birthday", "contract_on"):
        return _date(field, value, today)
    text = _text(value)
    if field == "phone":
        if text and not _PHONE.fullmatch(text):
            raise _wrong(field, N_("{field}: write digits, spaces, dashes and a leading +; "
                                   "got {value!r}."), value=text)
        return text
    if field == "email":
        if text and (len(text) > 254 or not _EMAIL.fullmatch(text)):
            raise _wrong(field, N_("{field}: {value!r} is not an e-mail address."), value=text)
        return text
    if field == "language":
        if text and text not in LANGUAGES:
            raise _wrong(field, N_("{field} must be one of {choices}; got {value!r}."),
                         choices=", ".join(LANGUAGES), value=text)
        return text
    if field == "timezone":
        if text:
            try:
                ZoneInfo(text)
            except (ZoneInfoNotFoundError, ValueError):
                raise _wrong(field, N_("{field}: {value!r} is not a time zone; write one like "
                                       "Asia/Shanghai."), value=text) from None
        return text
    if field in _TEXT_LIMITS:
        if text and len(text) > _TEXT_LIMITS[field]:
            raise _wrong(field, N_("{field} is too long (at most {n} characters)."),
                         n=_TEXT_LIMITS[field])
        return text
    if field == "visit_every_days":
        if text is None:
            return None
        if not text.isdigit() or not 0 < int(text) <= 3660:
            raise _wrong(field, N_("{field}: write a whole number of days from 1 to 3660; got "
                                   "{value!r}."), value=text)
        return int(text)
    if field == "account_owner_id":
        return _owner(conn, value)
    raise UserError(N_("{field!r} is not a field of the profile that can be edited."),
                    field=field)


def _owner(conn: Connection, value) -> int | None:
    """A user id, or an e-mail (the command line), or nothing (no owner)."""
    text = _text(value)
    if text is None:
        return None
    query = select(users.c.id, users.c.is_active)
    query = (query.where(users.c.id == int(text)) if text.isdigit()
             else query.where(func.lower(users.c.email) == text.lower()))
    found = conn.execute(query).first()
    if found is None or not found.is_active:
        raise _wrong("account_owner_id", N_("{field}: no active staff member is {value!r}."),
                     value=text)
    return int(found.id)


def _preference(key: str, value):
    text = _text(value)
    field = f"preferences.{key}"
    if key == "do_not_call":
        return _boolean(field, value) or None
    if key == "channel":
        if text and text not in PREFERRED_CHANNELS:
            raise _wrong(field, N_("{field} must be one of {choices}; got {value!r}."),
                         choices=", ".join(PREFERRED_CHANNELS), value=text)
        return text
    if key == "best_time":
        if text and text not in BEST_TIMES:
            raise _wrong(field, N_("{field} must be one of {choices}; got {value!r}."),
                         choices=", ".join(BEST_TIMES), value=text)
        return text
    raise UserError(N_("{field!r} is not a contact preference; use channel, best_time or "
                       "do_not_call."), field=key)


def _attribute(key: str, value) -> str | None:
    if not _ATTRIBUTE.fullmatch(key):
        raise UserError(N_("{field!r} cannot name an attribute: use letters, digits, - and _ "
                           "(at most 60)."), field=key)
    text = _text(value)
    if text and len(text) > 500:
        raise UserError(N_("The attribute {field!r} is too long (at most {n} characters)."),
                        field=key, n=500)
    return text


def record_change(conn: Connection, customer_id: int, field: str, old, new, *,
                  by: int | None, at: datetime) -> None:
    """One line of the profile's edit history (``customer_changes``), when the value changed.
    Every writer of a profile field keeps its history through here, so values read alike."""
    if old == new:
        return
    conn.execute(insert(customer_changes).values(
        customer_id=customer_id, at=at, user_id=by, field=field, old_value=_shown(old),
        new_value=_shown(new)))


def _shown(value) -> str | None:
    """A value as the history keeps it (text)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _split(changes: dict) -> tuple[dict, dict, dict]:
    """Plain fields, preferences and free attributes of ``changes``."""
    plain, preferences, attributes = {}, {}, {}
    for key, value in changes.items():
        key = str(key).strip()
        if key == "account_owner":
            key = "account_owner_id"
        if key == "preferences" and isinstance(value, dict):
            preferences.update(value)
        elif key == "attributes" and isinstance(value, dict):
            attributes.update(value)
        elif key.startswith("preferences."):
            preferences[key.removeprefix("preferences.")] = value
        elif key.startswith("attributes."):
            attributes[key.removeprefix("attributes.")] = value
        else:
            plain[key] = value
    return plain, preferences, attributes


def update_customer(engine: Engine, customer_pk: int, changes: dict, *,
                    by_user_id: int | None = None, now: datetime | None = None) -> list[str]:
    """Apply ``changes`` (field → new value; ``preferences.<key>`` and ``attributes.<key>`` for
    contact preferences and free attributes, an empty value clears) to the customer; returns
    the fields that changed, each recorded in the history with the old and new value.

    Every value is checked before anything is written: one bad value and nothing changes.
    """
    now = now or _now()
    plain, preferences, attributes = _split(changes)
    with write_transaction(engine) as conn:
        row = conn.execute(select(customers).where(customers.c.id == customer_pk)).mappings() \
            .first()
        if row is None:
            raise UserError(N_("There is no such customer."))
        new = {field: _checked(conn, field, value, now.date()) for field, value in plain.items()}
        history = [(field, row[field], value) for field, value in new.items()
                   if row[field] != value]
        stored_prefs = dict(row["preferences"] or {})
        prefs = dict(stored_prefs)
        for key, value in preferences.items():
            checked = _preference(str(key), value)
            if checked is None:
                prefs.pop(key, None)
            else:
                prefs[key] = checked
        history += [(f"preferences.{k}", stored_prefs.get(k), prefs.get(k))
                    for k in sorted(set(stored_prefs) | set(prefs))
                    if stored_prefs.get(k) != prefs.get(k)]
        stored_attrs = dict(row["attributes"] or {})
        attrs = dict(stored_attrs)
        for key, value in attributes.items():
            checked = _attribute(str(key).strip(), value)
            if checked is None:
                attrs.pop(str(key).strip(), None)
            else:
                attrs[str(key).strip()] = checked
        history += [(f"attributes.{k}", stored_attrs.get(k), attrs.get(k))
                    for k in sorted(set(stored_attrs) | set(attrs))
                    if stored_attrs.get(k) != attrs.get(k)]
        if not history:
            return []
        values = {field: value for field, old, value in history if field in new}
        if prefs != stored_prefs:
            values["preferences"] = prefs or None
        if attrs != stored_attrs:
            values["attributes"] = attrs or None
        conn.execute(update(customers).where(customers.c.id == customer_pk)
                     .values(**values, updated_at=now))
        for field, old, value in history:
            record_change(conn, customer_pk, field, old, value, by=by_user_id, at=now)
    return [field for field, _old, _new in history]


def set_owner(engine: Engine, customer_pk: int, owner, *, by_user_id: int | None = None,
              now: datetime | None = None) -> list[str]:
    """Make ``owner`` (a user id or e-mail; None: nobody) the customer's account manager."""
    return update_customer(engine, customer_pk, {"account_owner_id": owner},
                           by_user_id=by_user_id, now=now)


def add_note(engine: Engine, customer_pk: int, body: str, *, by_user_id: int | None = None,
             now: datetime | None = None) -> int:
    """A note on the customer's timeline (a contact of kind ``note``); returns its id."""
    text = (body or "").strip()
    if not text:
        raise UserError(N_("Write the note first."))
    if len(text) > MAX_BODY:
        raise UserError(N_("The note is too long (at most {n} characters)."), n=MAX_BODY)
    now = now or _now()
    with write_transaction(engine) as conn:
        if conn.execute(select(customers.c.id).where(customers.c.id == customer_pk)).first() \
                is None:
            raise UserError(N_("There is no such customer."))
        return log_contact(conn, customer_id=customer_pk, channel="other", kind="note",
                           direction="out", body=text, user_id=by_user_id, at=now, now=now)


def parse_assignments(pairs) -> dict:
    """``["phone=138…", "preferences.do_not_call=yes"]`` as a dict (``care customer set``)."""
    changes = {}
    for pair in pairs:
        if "=" not in pair:
            raise UserError(N_("Write each change as field=value; got {value!r}."), value=pair)
        key, value = pair.split("=", 1)
        changes[key.strip()] = value
    return changes


__all__ = ["BEST_TIMES", "FIELD_NAMES", "PREFERENCE_NAMES", "PREFERRED_CHANNELS", "add_note",
           "parse_assignments", "set_owner", "update_customer"]
