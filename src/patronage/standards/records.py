"""Defining service standards: ``patronage standard add|list`` and the standards page's list.

A threshold is written as a duration (``20s``, ``20 秒``, ``4h``, ``4 小时``, ``48h``,
``30min``, ``2d``); a target as a share (``80%``, ``0.8``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.journey.importing import KIND_WORDS
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import TOUCHPOINT_KINDS, users
from patronage.storage.schema_cases import case_categories
from patronage.storage.schema_standards import (
    CODE_MAX, STANDARD_METRICS, STANDARD_PERIODS, service_standards,
)

#: What each metric measures, as pages say it (translated there).
METRIC_NAMES = {"waiting": N_("waiting until answered"), "handling": N_("handling time"),
                "total": N_("start to end"), "right_first_time": N_("right the first time"),
                "resolution": N_("time to resolve a case")}
PERIOD_NAMES = {"week": N_("Week"), "month": N_("Month")}
_CASE_DESK, _WORKING, _TARGET = N_("Case desk"), N_("(working hours)"), N_("target {share}")
_UNITS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "秒": 1, "秒钟": 1, "秒鐘": 1,
          "m": 60, "min": 60, "minute": 60, "minutes": 60, "分": 60, "分钟": 60, "分鐘": 60,
          "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600, "小时": 3600, "小時": 3600,
          "d": 86400, "day": 86400, "days": 86400, "天": 86400, "日": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z\u4e00-\u9fff]*)\s*$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


def parse_threshold(text) -> float:
    """Seconds of a duration such as ``20s``, ``4 小时`` or ``48h`` (a bare number: seconds)."""
    match = _DURATION.match(str(text or "").strip().lower())
    unit = _UNITS.get(match.group(2) or "s") if match else None
    if unit is None or float(match.group(1)) <= 0:
        raise UserError(N_("The threshold must be a duration such as 20s, 4h or 48h; got "
                           "{value!r}."), value=str(text or ""))
    return float(match.group(1)) * unit


def parse_target(text) -> float:
    """A share from ``80%``, ``99.5 %`` or ``0.8``."""
    raw = str(text or "").strip()
    try:
        value = float(raw.rstrip("%").strip()) / (100 if raw.endswith("%") else 1)
    except ValueError:
        value = -1
    if not 0 < value <= 1:
        raise UserError(N_("The target must be a share such as 80% or 0.99; got {value!r}."),
                        value=raw)
    return value


def touchpoint_kind(text) -> str:
    """A kind from its code or a name in any language."""
    folded = str(text or "").strip().lower().replace("_", " ")
    for code, words in KIND_WORDS.items():
        if folded in {w.lower() for w in words} or folded == code.replace("_", " "):
            return code
    raise UserError(N_("Unknown touchpoint {value!r}; use one of {choices}."),
                    value=str(text or ""), choices=", ".join(TOUCHPOINT_KINDS))


def add_standard(engine: Engine, *, code: str, name: str, metric: str, target,
                 threshold=None, period: str = "month", touchpoint: str | None = None,
                 channel: str | None = None, category: str | None = None,
                 working_hours: bool = False, owner: str | None = None,
                 now: datetime | None = None) -> int:
    """Add a standard; a UserError naming the field otherwise. Returns its id."""
    code = str(code or "").strip().lower()
    if not _CODE.match(code) or len(code) > CODE_MAX:
        raise UserError(N_("A standard's code is letters, digits, - and _ (at most {n}); got "
                           "{value!r}."), n=CODE_MAX, value=code)
    name = str(name or "").strip()
    if not name or len(name) > 200:
        raise UserError(N_("Give the standard a name (at most 200 characters)."))
    if metric not in STANDARD_METRICS:
        raise UserError(N_("The metric must be one of {choices}; got {value!r}."),
                        choices=", ".join(STANDARD_METRICS), value=str(metric))
    if period not in STANDARD_PERIODS:
        raise UserError(N_("The period must be week or month; got {value!r}."),
                        value=str(period))
    source = "case" if metric == "resolution" else "touchpoint"
    kind = touchpoint_kind(touchpoint) if source == "touchpoint" else None
    seconds = None if metric == "right_first_time" else parse_threshold(threshold)
    values = dict(code=code, name=name, source=source, touchpoint_kind=kind,
                  channel=(channel or "").strip() or None, metric=metric,
                  case_category=(category or "").strip() or None, threshold_seconds=seconds,
                  working_hours=bool(working_hours), target=parse_target(target),
                  period=period, created_at=now or datetime.now(UTC).replace(tzinfo=None))
    with write_transaction(engine) as conn:
        if owner:
            values["owner_id"] = conn.execute(select(users.c.id).where(
                func.lower(users.c.email) == owner.strip().lower())).scalar_one_or_none()
            if values["owner_id"] is None:
                raise UserError(N_("No staff member has the e-mail {email!r}; see patronage "
                                   "user list."), email=owner.strip())
        if values["case_category"] and conn.execute(select(case_categories.c.code).where(
                case_categories.c.code == values["case_category"])).first() is None:
            raise UserError(N_("No case category has the code {value!r}."),
                            value=values["case_category"])
        try:
            with conn.begin_nested():
                return conn.execute(insert(service_standards).values(**values)) \
                    .inserted_primary_key[0]
        except IntegrityError:
            raise UserError(N_("A standard with the code {value!r} exists already."),
                            value=code) from None


def set_active(engine: Engine, code: str, active: bool) -> None:
    with write_transaction(engine) as conn:
        done = conn.execute(update(service_standards).where(service_standards.c.code == code)
                            .values(active=active)).rowcount
    if not done:
        raise UserError(N_("No standard has the code {value!r}."), value=code)


def list_standards(engine: Engine, *, active_only: bool = False) -> pd.DataFrame:
    """Every standard with its owner's e-mail and name (the e-mail when they gave none), in
    code order."""
    s = service_standards.c
    query = (select(service_standards, users.c.email.label("owner_email"),
                    func.coalesce(users.c.display_name, users.c.email).label("owner_name"))
             .select_from(service_standards.outerjoin(users, users.c.id == s.owner_id))
             .order_by(s.code))
    if active_only:
        query = query.where(s.active)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    columns = [c.name for c in service_standards.columns] + ["owner_email", "owner_name"]
    frame = pd.DataFrame(rows, columns=columns).astype(object)
    return frame.where(frame.notna(), None)  # a missing channel or owner is None, not NaN


def standard(engine: Engine, code: str) -> dict:
    """One standard by its code; a UserError otherwise."""
    found = list_standards(engine)
    found = found[found["code"] == str(code or "").strip().lower()]
    if found.empty:
        raise UserError(N_("No standard has the code {value!r}; see patronage standard list."),
                        value=str(code or ""))
    return found.iloc[0].to_dict()


def describe(row: dict, gettext=lambda s: s, kind_label=lambda k: k) -> str:
    """The promise in words: "安装 · 等待至接通 ≤ 4 小时 · 目标 80% · 每月"."""
    parts = [kind_label(row["touchpoint_kind"]) if row.get("touchpoint_kind")
             else gettext(_CASE_DESK), gettext(METRIC_NAMES[row["metric"]])]
    if row.get("threshold_seconds") == row.get("threshold_seconds") and \
            row.get("threshold_seconds"):
        parts[-1] += " ≤ " + duration(row["threshold_seconds"], gettext)
        if row.get("working_hours"):
            parts[-1] += " " + gettext(_WORKING)
    parts.append(gettext(_TARGET).format(share=f"{row['target'] * 100:g}%"))
    parts.append(gettext(PERIOD_NAMES[row["period"]]))
    return " · ".join(parts)


def duration(seconds: float, gettext=lambda s: s) -> str:
    """``20 s``, ``4 h``, ``2 d`` in the reader's words."""
    for size, unit in ((86400, N_("{n} d")), (3600, N_("{n} h")), (60, N_("{n} min"))):
        if size == 86400 and seconds < 3 * size:
            continue  # 48 h reads as hours
        if seconds >= size and seconds % size == 0 or seconds >= size * 10:
            return gettext(unit).format(n=f"{seconds / size:g}")
    return gettext(N_("{n} s")).format(n=f"{seconds:g}")


__all__ = ["METRIC_NAMES", "PERIOD_NAMES", "add_standard", "describe", "duration",
           "list_standards", "parse_target", "parse_threshold", "set_active", "standard",
           "touchpoint_kind"]
