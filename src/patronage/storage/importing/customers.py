"""Importing customer profiles.

Known columns fill the profile fields; every other column goes into ``customers.attributes``
(JSON, keyed by the header as written), merged into what is stored. A column present in the file
replaces the stored value on re-import (a blank cell clears it), except the consent columns,
where a blank cell keeps the stored answer (or the default for a new customer: surveys yes,
marketing no, care yes). A column absent from the file leaves stored values alone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Connection

from patronage.messages import N_, Message
from patronage.storage.importing import bulk
from patronage.storage.importing.checks import Fields
from patronage.storage.importing.parsing import (
    parse_bool,
    parse_code,
    parse_email,
    parse_phone,
    parse_text,
)

TABLE = "customers"
CONSENT_DEFAULTS = {"consent_survey": True, "consent_marketing": False, "consent_care": True}
KINDS = {"birthday": "date", "attributes": "json", "created_at": "datetime",
         "updated_at": "datetime", **{name: "bool" for name in CONSENT_DEFAULTS}}
_TEXT = {"region": 100, "industry": 100, "size": 50, "channel": 50, "tier": 50}
#: Bounds of custom attributes (the extra columns of a customers file).
MAX_ATTRIBUTE_NAME = 100
MAX_ATTRIBUTE_VALUE = 1000


def validate(fields: Fields) -> pd.DataFrame:
    """Typed columns of the file; ``attributes`` holds the extra columns as dicts."""
    ids = fields.parse("external_id", parse_code, 64)
    fields.require("external_id", N_("missing customer id; every row needs one"))
    fields.unique("external_id", ids, N_("customer id {value!r} appears twice: lines "
                                         "{first} and {line}; keep one of them"))
    out = {"external_id": ids, "name": fields.parse("name", parse_text, 200)}
    fields.require("name", N_("missing name; every row needs one"))
    if "phone" in fields:
        out["phone"] = fields.parse("phone", parse_phone)
    if "email" in fields:
        out["email"] = fields.parse("email", parse_email)
    if "birthday" in fields:
        out["birthday"] = fields.dates("birthday", keep_time=False)
    for name, length in _TEXT.items():
        if name in fields:
            out[name] = fields.parse(name, parse_text, length)
    for name in CONSENT_DEFAULTS:
        if name in fields:
            out[name] = fields.parse(name, parse_bool)
    extra = [header for header in fields.columns.extra if _attribute_ok(fields, header)]
    if extra:
        records = fields.frame[extra].to_dict("records")
        out["attributes"] = pd.Series(
            [{k: v for k, v in r.items() if isinstance(v, str)} for r in records],
            index=fields.frame.index, dtype=object)
    return pd.DataFrame(out)


def _attribute_ok(fields: Fields, header: str) -> bool:
    """A custom attribute column needs a name of at most 100 characters and values of at most
    1000 (the problems are reported)."""
    if len(header.strip()) > MAX_ATTRIBUTE_NAME:
        fields.problems.add(1, header, None, Message(N_(
            "the name of a custom attribute is too long; at most {max_length} characters"),
            max_length=MAX_ATTRIBUTE_NAME))
        return False
    _, errors = parse_text(fields.frame[header], MAX_ATTRIBUTE_VALUE)
    fields.record(header, fields.frame[header], errors)
    return True


def _stored(conn: Connection) -> dict[str, tuple]:
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute('SELECT external_id, consent_survey, consent_marketing, consent_care, '
                       'attributes FROM customers')
        stored = {}
        for external_id, survey, marketing, care, attributes in cursor.fetchall():
            if isinstance(attributes, str):
                attributes = json.loads(attributes)
            stored[external_id] = (bool(survey), bool(marketing), bool(care), attributes or {})
        return stored
    finally:
        cursor.close()


def resolve(conn: Connection, fields: Fields, typed: pd.DataFrame) -> pd.DataFrame:
    """Rows ready to write: blank consents filled, attributes merged, timestamps set."""
    rows = typed.copy()
    consents = [name for name in CONSENT_DEFAULTS if name in rows.columns]
    if consents or "attributes" in rows.columns:
        stored = _stored(conn)
        previous = rows["external_id"].map(stored)
        for position, name in enumerate(CONSENT_DEFAULTS):
            if name in consents:
                fallback = [CONSENT_DEFAULTS[name] if p is None or p != p else p[position]
                            for p in previous]
                rows[name] = [f if v is None or v != v else bool(v)
                              for v, f in zip(rows[name], fallback)]
        if "attributes" in rows.columns:
            rows["attributes"] = [
                ({**(p[3] if isinstance(p, tuple) else {}), **new} or None)
                for p, new in zip(previous, rows["attributes"])]
    now = datetime.now(UTC).replace(tzinfo=None)
    rows["created_at"] = pd.Timestamp(now)
    rows["updated_at"] = pd.Timestamp(now)
    return rows


def count_new(conn: Connection, rows: pd.DataFrame) -> int:
    stored = bulk.existing_keys(conn, TABLE, "external_id")
    return int((~rows["external_id"].isin(stored.keys())).sum())


def write(conn: Connection, rows: pd.DataFrame, on_progress=None) -> tuple[int, int]:
    compare = [c for c in rows.columns if c not in ("external_id", "created_at", "updated_at")]
    return bulk.upsert(conn, TABLE, rows, key="external_id", kinds=KINDS, compare=compare,
                       touch=["updated_at"], on_progress=on_progress)


__all__ = ["CONSENT_DEFAULTS", "count_new", "resolve", "validate", "write"]
