"""What came of a care task: the company's list of outcomes and what each does to its task.

An outcome has a name per language and an effect (:data:`OUTCOME_EFFECTS`): ``done`` closes the
task, ``open_case`` closes it and opens a case, ``retry`` tries again after ``retry_after_hours``
up to ``max_attempts`` attempts, ``wrong_number`` closes it, ``do_not_call`` closes it and stops
calls to the customer. ``reached`` says whether the customer was reached (the reach rate).

The default list is written the first time outcomes are used (:func:`ensure_defaults`), once
whatever number of workers or requests do it at the same time.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.messages import N_, Term, UserError
from patronage.storage import write_transaction
from patronage.storage.schema_care import OUTCOME_EFFECTS, care_outcomes

#: The outcomes a company starts with (K = 4 hours between tries, R = 3 tries for no answer).
DEFAULT_OUTCOMES = (
    {"code": "reached_ok", "name_en": "Reached and satisfied", "name_zh_hans": "联系上，满意",
     "name_zh_hant": "聯繫上，滿意", "effect": "done", "reached": True},
    {"code": "reached_problem", "name_en": "Reached with a problem",
     "name_zh_hans": "联系上，有问题", "name_zh_hant": "聯繫上，有問題",
     "effect": "open_case", "reached": True},
    {"code": "no_answer", "name_en": "No answer", "name_zh_hans": "无人接听",
     "name_zh_hant": "無人接聽", "effect": "retry", "reached": False,
     "retry_after_hours": 4, "max_attempts": 3},
    {"code": "wrong_number", "name_en": "Wrong number", "name_zh_hans": "号码错误",
     "name_zh_hant": "號碼錯誤", "effect": "wrong_number", "reached": False},
    {"code": "do_not_call", "name_en": "Do not call again", "name_zh_hans": "请勿再来电",
     "name_zh_hant": "請勿再來電", "effect": "do_not_call", "reached": True},
)
EFFECT_LABELS = {
    "done": N_("close the task"), "open_case": N_("open a case"),
    "retry": N_("try again later"), "wrong_number": N_("close: wrong number"),
    "do_not_call": N_("close and call no more"),
}
NAME_COLUMN = {"en": "name_en", "zh_Hans": "name_zh_hans", "zh_Hant": "name_zh_hant"}
_CODE = re.compile(r"^[a-z0-9_]{1,40}$")


def ensure_defaults(conn: Connection) -> int:
    """Write the default outcomes when the list is empty (on the write connection ``conn``);
    returns how many were written."""
    if conn.execute(select(func.count()).select_from(care_outcomes)).scalar():
        return 0
    written = 0
    for position, outcome in enumerate(DEFAULT_OUTCOMES):
        savepoint = conn.begin_nested()
        try:
            conn.execute(insert(care_outcomes).values(position=position, **outcome))
        except IntegrityError:  # written by another worker just now
            savepoint.rollback()
            continue
        savepoint.commit()
        written += 1
    return written


def list_outcomes(engine: Engine, *, active_only: bool = False) -> list[dict]:
    """The outcome list in its order (the defaults written on first use)."""
    with engine.connect() as conn:
        empty = not conn.execute(select(func.count()).select_from(care_outcomes)).scalar()
    if empty:
        with write_transaction(engine) as conn:
            ensure_defaults(conn)
    query = select(care_outcomes).order_by(care_outcomes.c.position, care_outcomes.c.code)
    if active_only:
        query = query.where(care_outcomes.c.active)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def outcome_name(outcome: dict, language: str) -> str:
    return outcome.get(NAME_COLUMN.get(language, "name_en")) or outcome["name_en"]


def outcome_of(conn: Connection, code: str) -> dict:
    """The active outcome ``code``; UserError naming the codes there are."""
    row = conn.execute(select(care_outcomes).where(care_outcomes.c.code == str(code).strip(),
                                                   care_outcomes.c.active)).mappings().first()
    if row is None:
        known = conn.execute(select(care_outcomes.c.code).where(care_outcomes.c.active)
                             .order_by(care_outcomes.c.position, care_outcomes.c.code))
        raise UserError(N_("There is no outcome {outcome!r}; the outcomes are {known}."),
                        outcome=str(code)[:40], known=", ".join(known.scalars()) or "-")
    return dict(row)


def _positive(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise UserError(N_("The {field} must be a whole number above 0; not {value!r}."),
                        field=Term(field), value=str(value)[:20])
    return number


def add_outcome(engine: Engine, code: str, name_en: str, *, effect: str = "done",
                name_zh_hans: str | None = None, name_zh_hant: str | None = None,
                reached: bool = False, retry_after_hours=None, max_attempts=None) -> str:
    """Add an outcome to the end of the list (or change the one with this code); returns its
    code."""
    code = str(code or "").strip().lower()
    if not _CODE.match(code):
        raise UserError(N_("An outcome code is 1 to 40 lower-case letters, digits or "
                           "underscores; not {code!r}."), code=code[:40])
    name_en = str(name_en or "").strip()[:100]
    if not name_en:
        raise UserError(N_("The {field} is required."), field=Term(N_("name")))
    if effect not in OUTCOME_EFFECTS:
        raise UserError(N_("The {field} must be one of {allowed}; not {value!r}."),
                        field=Term(N_("effect")), allowed=", ".join(OUTCOME_EFFECTS),
                        value=str(effect)[:40])
    hours = _positive(retry_after_hours, N_("hours before trying again"))
    tries = _positive(max_attempts, N_("number of attempts"))
    if effect == "retry":
        hours, tries = hours or 4, tries or 3
    values = {"name_en": name_en, "name_zh_hans": (name_zh_hans or name_en).strip()[:100],
              "name_zh_hant": (name_zh_hant or name_zh_hans or name_en).strip()[:100],
              "effect": effect, "reached": bool(reached), "retry_after_hours": hours,
              "max_attempts": tries, "active": True}
    with write_transaction(engine) as conn:
        ensure_defaults(conn)
        if conn.execute(select(care_outcomes.c.code).where(care_outcomes.c.code == code)).first():
            conn.execute(update(care_outcomes).where(care_outcomes.c.code == code).values(**values))
        else:
            position = conn.execute(select(func.max(care_outcomes.c.position))).scalar() or 0
            conn.execute(insert(care_outcomes).values(code=code, position=position + 1, **values))
    return code


def switch_outcome(engine: Engine, code: str, active: bool) -> str:
    """Offer the outcome again, or no more (tasks that had it keep it)."""
    with write_transaction(engine) as conn:
        ensure_defaults(conn)
        done = conn.execute(update(care_outcomes).where(care_outcomes.c.code == code)
                            .values(active=active)).rowcount
    if not done:
        raise UserError(N_("There is no outcome {outcome!r}; the outcomes are {known}."),
                        outcome=str(code)[:40], known="-")
    return code


__all__ = ["DEFAULT_OUTCOMES", "EFFECT_LABELS", "NAME_COLUMN", "add_outcome", "ensure_defaults",
           "list_outcomes", "outcome_name", "outcome_of", "switch_outcome"]
