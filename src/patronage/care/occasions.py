"""Managing the care calendar's occasions: add a company day, change an occasion's greeting
templates, action, channel, audience, gift and lead time, switch it on or off, remove it.

Built-in occasions (birthday, anniversaries, festivals: :data:`~patronage.care.calendar.BUILTIN`)
can be changed and switched off but not removed (they would come back on first use).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.care.calendar import BUILTIN, ensure_builtin, occasions
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema_care import (
    MESSAGE_CHANNELS,
    OCCASION_ACTIONS,
    TASK_TYPES,
    care_occasions,
)

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
EDITABLE = ("name_en", "name_zh_hans", "name_zh_hant", "template_en", "template_zh_hans",
            "template_zh_hant", "action", "channel", "task_type", "gift", "gift_cost", "tiers",
            "days_before", "active", "on_date", "month", "day", "lunar")
_BUILTIN_CODES = {row[0] for row in BUILTIN}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Checked values of an occasion (raises :class:`UserError` naming the field)."""
    out = {}
    for key, value in values.items():
        if key not in EDITABLE:
            raise UserError(N_("An occasion has no field {field!r}."), field=key)
        if isinstance(value, str):
            value = value.strip() or None
        out[key] = value
    for key in ("name_en", "name_zh_hans", "name_zh_hant", "gift"):
        if out.get(key) is not None and len(out[key]) > (200 if key == "gift" else 100):
            raise UserError(N_("The {field} is too long."), field=key)
    if "action" in out and out["action"] not in OCCASION_ACTIONS:
        raise UserError(N_("The action must be greeting or task; got {value!r}."),
                        value=out["action"])
    if out.get("channel") is not None and out["channel"] not in MESSAGE_CHANNELS:
        raise UserError(N_("The channel must be sms or email; got {value!r}."),
                        value=out["channel"])
    if out.get("task_type") is not None and out["task_type"] not in TASK_TYPES:
        raise UserError(N_("The task type must be call, visit or message; got {value!r}."),
                        value=out["task_type"])
    for key, low, high in (("days_before", 0, 60), ("gift_cost", 0, 1e9)):
        if out.get(key) is None:
            if key == "days_before" and key in out:
                out[key] = 0
            continue
        try:
            number = float(out[key])
        except (TypeError, ValueError):
            raise UserError(N_("The {field} must be a number; got {value!r}."), field=key,
                            value=out[key]) from None
        if not low <= number <= high:
            raise UserError(N_("The {field} must be from {low} to {high}; got {value}."),
                            field=key, low=low, high=int(high), value=out[key])
        out[key] = int(number) if key == "days_before" else round(number, 2)
    if "tiers" in out:
        tiers = out["tiers"]
        if isinstance(tiers, str):
            tiers = [t.strip() for t in re.split(r"[,，]", tiers) if t.strip()]
        out["tiers"] = sorted(set(tiers)) or None
    if isinstance(out.get("on_date"), str):
        try:
            out["on_date"] = date.fromisoformat(out["on_date"])
        except ValueError:
            raise UserError(N_("The date must read like 2027-05-20; got {value!r}."),
                            value=out["on_date"]) from None
    for key in ("month", "day"):
        if out.get(key) is not None:
            try:
                out[key] = int(out[key])
            except (TypeError, ValueError):
                raise UserError(N_("The {field} must be a number; got {value!r}."), field=key,
                                value=out[key]) from None
    if "lunar" in out:
        out["lunar"] = bool(out["lunar"])
    if "active" in out:
        out["active"] = bool(out["active"])
    return out


def _check_date(row: dict) -> None:
    if row.get("on_date") is not None:
        return
    month, day = row.get("month"), row.get("day")
    if month is None or day is None:
        raise UserError(N_("Give the occasion a date, or a month and a day."))
    limit = 30 if row.get("lunar") else 31
    try:
        valid = 1 <= month <= 12 and 1 <= day <= limit and (row.get("lunar")
                                                            or date(2000, month, day))
    except ValueError:
        valid = False
    if not valid:
        raise UserError(N_("There is no day {month}/{day} in the calendar."), month=month,
                        day=day)


def list_occasions(engine: Engine) -> list[dict]:
    """Every occasion, built-ins first inserted if missing."""
    ensure_builtin(engine)
    with engine.connect() as conn:
        return occasions(conn)


def add_occasion(engine: Engine, code: str, *, name: str, now: datetime | None = None,
                 **values: Any) -> int:
    """Add a company day (``on_date``, or ``month``/``day`` every year, ``lunar`` or solar);
    ``name`` is used in every language unless ``name_zh_hans`` ... are given. Switched on."""
    code = (code or "").strip()
    if not _CODE.match(code):
        raise UserError(N_("An occasion code is 1 to 60 small letters, digits, - or _; got "
                           "{code!r}."), code=code)
    name = (name or "").strip()
    if not name:
        raise UserError(N_("Give the occasion a name."))
    row = _clean({"name_en": name, "name_zh_hans": name, "name_zh_hant": name,
                  "action": "greeting", "channel": "sms", "days_before": 0, "active": True,
                  **values})
    _check_date(row)
    ensure_builtin(engine)
    try:
        with write_transaction(engine) as conn:
            return conn.execute(insert(care_occasions).values(
                code=code, kind="company", created_at=now or _now(), **row)
            ).inserted_primary_key[0]
    except IntegrityError:
        raise UserError(N_("An occasion {code!r} exists already."), code=code) from None


def _find(conn, code: str) -> dict:
    row = conn.execute(select(care_occasions).where(care_occasions.c.code == code)) \
        .mappings().first()
    if row is None:
        raise UserError(N_("There is no occasion {code!r}; see patronage care occasion list."),
                        code=code)
    return dict(row)


def update_occasion(engine: Engine, code: str, **values: Any) -> dict:
    """Change an occasion's fields (:data:`EDITABLE`); returns the occasion."""
    ensure_builtin(engine)
    changes = _clean(values)
    with write_transaction(engine) as conn:
        row = _find(conn, code)
        merged = {**row, **changes}
        if row["kind"] in ("company", "festival"):
            _check_date(merged)
        if changes:
            conn.execute(update(care_occasions).where(care_occasions.c.code == code)
                         .values(**changes))
    return merged


def set_active(engine: Engine, code: str, active: bool) -> dict:
    """Switch an occasion on or off."""
    return update_occasion(engine, code, active=active)


def remove_occasion(engine: Engine, code: str) -> None:
    """Remove a company day (and the record of its greetings); built-ins are switched off
    instead."""
    if code in _BUILTIN_CODES:
        raise UserError(N_("{code} is built in: switch it off instead "
                           "(patronage care occasion off {code})."), code=code)
    with write_transaction(engine) as conn:
        _find(conn, code)
        conn.execute(delete(care_occasions).where(care_occasions.c.code == code))


__all__ = ["EDITABLE", "add_occasion", "list_occasions", "remove_occasion", "set_active",
           "update_occasion"]
