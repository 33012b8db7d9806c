"""Writing the demo's customer care (:mod:`patronage.demo.care`) in bulk inside the demo's
install transaction: the outcome list, follow-up rules, care occasions, the win-back campaign
and its members, tasks, the contact log and greetings.

It runs after the desk is written (staff, teams and cases exist). The rules are marked as run
at the moment of installation, so the worker does not make the history's tasks again; the open
tasks marked ``shift`` are moved to the real date of installation (see
:mod:`patronage.demo.care`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select, update

from patronage.care.outcomes import ensure_defaults
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import cases, customers, touchpoints, transactions, users
from patronage.storage.schema_care import (
    campaign_members,
    care_campaigns,
    care_greetings,
    care_occasions,
    care_rules,
    care_tasks,
    contacts,
)
from patronage.storage.schema_cases import teams


def _py(value):
    """None for missing values, datetime for Timestamps, plain Python numbers."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def _values(series: pd.Series) -> list:
    """A column as Python values for the driver (missing -> None), fast for datetimes."""
    if pd.api.types.is_datetime64_any_dtype(series):
        seconds = series.to_numpy(dtype="datetime64[s]")
        return [None if gone else value for value, gone in
                zip(seconds.astype(object).tolist(), np.isnat(seconds).tolist())]
    return [_py(v) for v in series.tolist()]


def _keys(series: pd.Series, mapping: dict) -> list:
    """Database keys of a column of frame keys (None stays None)."""
    return [None if v is None else mapping[v] for v in _values(series)]


def _rows(columns: dict) -> list[dict]:
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*columns.values(), strict=True)]


def _pairs(conn: Connection, key, pk) -> dict:
    return {k: v for k, v in conn.execute(select(key, pk))}


def _last_ids(conn: Connection, pk, n: int) -> list[int]:
    """The ids of the ``n`` rows just inserted (in insertion order)."""
    if not n:
        return []
    return conn.execute(select(pk).order_by(pk.desc()).limit(n)).scalars().all()[::-1]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def install(conn: Connection, company, counts: dict, say, *, today: date | None = None,
            now: datetime | None = None) -> None:
    """Write ``company.care``; adds row counts to ``counts``. ``today`` (default: the real
    date) is where the open tasks marked ``shift`` fall due."""
    care = company.care
    now = now or _now()
    shift = pd.Timedelta(days=((today or date.today()) - care.today).days)
    say(f"Writing customer care: {len(care.tasks):,} follow-up tasks, {len(care.contacts):,} "
        f"contacts, {len(care.greetings):,} greetings")
    ensure_defaults(conn)
    customer_pk = _pairs(conn, customers.c.external_id, customers.c.id)
    user_pk = _pairs(conn, users.c.email, users.c.id)
    team_pk = _pairs(conn, teams.c.name, teams.c.id)
    case_ids = conn.execute(select(cases.c.id).order_by(cases.c.id)).scalars().all()
    case_pk = dict(zip(company.cases["case_id"].tolist(), case_ids[-len(company.cases):]))
    tp_ids = conn.execute(select(touchpoints.c.id).order_by(touchpoints.c.id)).scalars().all()
    touchpoint_pk = dict(zip(company.touchpoints.index.tolist(),
                             tp_ids[-len(company.touchpoints):]))
    transaction_pk = _pairs(conn, transactions.c.external_id, transactions.c.id)

    def most(table):
        return conn.execute(select(func.max(table.c.id))).scalar() or 0

    checked = {"purchase": most(transactions), "touchpoint": most(touchpoints),
               "case_resolved": most(cases)}
    r = care.rules
    counts["care_rules"] = insert_rows(conn, care_rules, [
        {**{k: _py(v) for k, v in row.items()}, "checked_up_to": checked.get(row["trigger"], 0),
         "last_run_at": now} for row in r.to_dict("records")])
    rule_pk = _pairs(conn, care_rules.c.code, care_rules.c.id)
    counts["care_occasions"] = insert_rows(conn, care_occasions, [
        {k: _py(v) for k, v in row.items()} for row in care.occasions.to_dict("records")])
    occasion_pk = _pairs(conn, care_occasions.c.code, care_occasions.c.id)
    counts["care_campaigns"] = insert_rows(conn, care_campaigns, [
        {**{k: _py(v) for k, v in row.items()}, "created_by": user_pk.get(row["created_by"])}
        for row in care.campaigns.to_dict("records")])
    campaign_pk = _pairs(conn, care_campaigns.c.code, care_campaigns.c.id)

    t = care.tasks
    resolved_at = company.desk.cases.set_index("case_id")["resolved_at"]
    rows = []
    for task in t.to_dict("records"):
        customer = customer_pk[task["customer_id"]]
        if task["campaign"] is not None:
            key = f"campaign:{campaign_pk[task['campaign']]}:{customer}"
        elif task["source"] == "case":
            resolved = resolved_at[task["ref"]]
            key = (f"rule:{rule_pk[task['rule']]}:case:{case_pk[task['ref']]}:"
                   f"{resolved:%Y%m%d%H%M}")
        else:
            ref = (touchpoint_pk if task["source"] == "touchpoint" else transaction_pk)[task["ref"]]
            key = f"rule:{rule_pk[task['rule']]}:{task['source']}:{ref}"
        moved = shift if task["shift"] else pd.Timedelta(0)
        rows.append({
            "customer_id": customer, "rule_id": rule_pk.get(task["rule"]), "source_key": key,
            "type": task["type"], "subject": task["subject"], "script": task["script"],
            "due_at": _py(task["due_at"] + moved), "team_id": team_pk.get(task["team"]),
            "assignee_id": user_pk.get(task["assignee"]), "status": task["status"],
            "attempts": int(task["attempts"]), "outcome": _py(task["outcome"]),
            "note": _py(task["note"]),
            "case_id": case_pk.get(task["case_id"]) if _py(task["case_id"]) else None,
            "campaign_id": campaign_pk.get(task["campaign"]),
            "created_by": (user_pk.get(care.campaigns["created_by"].iloc[0])
                           if task["campaign"] is not None else None),
            "created_at": _py(task["created_at"] + moved),
            "completed_by": user_pk.get(task["completed_by"]),
            "completed_at": _py(task["completed_at"])})
    counts["care_tasks"] = insert_rows(conn, care_tasks, rows)
    task_pk = dict(zip(t["task"].tolist(), _last_ids(conn, care_tasks.c.id, len(rows))))

    k = care.contacts
    n = len(k)
    at = _values(k["at"])
    counts["contacts"] = insert_rows(conn, contacts, _rows({
        "customer_id": _keys(k["customer_id"], customer_pk), "at": at,
        "user_id": _keys(k["user"], user_pk), "channel": _values(k["channel"]),
        "kind": _values(k["kind"]), "direction": ["out"] * n, "outcome": _values(k["outcome"]),
        "subject": _values(k["subject"]), "body": _values(k["body"]),
        "task_id": _keys(k["task"].astype(object), task_pk),
        "case_id": _keys(k["case_id"].astype(object), case_pk) if "case_id" in k else [None] * n,
        "campaign_id": _keys(k["campaign"], campaign_pk), "created_at": at}))
    contact_ids = _last_ids(conn, contacts.c.id, len(k))
    g = care.greetings
    counts["care_greetings"] = insert_rows(conn, care_greetings, _rows({
        "customer_id": _keys(g["customer_id"], customer_pk),
        "occasion_id": _keys(g["occasion"], occasion_pk), "occasion_on": _values(g["occasion_on"]),
        "channel": _values(g["channel"]),
        "contact_id": [contact_ids[int(i)] for i in g["contact"]], "task_id": [None] * len(g),
        "created_at": _values(g["created_at"])}))
    m = care.members
    counts["campaign_members"] = insert_rows(conn, campaign_members, [
        {"campaign_id": campaign_pk[care.truth.campaign],
         "customer_id": customer_pk[row["customer_id"]], "group": row["group"],
         "task_id": task_pk[int(row["task"])] if _py(row["task"]) is not None else None,
         "contact_id": None, "added_at": _py(row["added_at"])}
        for row in m.to_dict("records")])


def hand_to_agent(engine, email: str, every: int = 3) -> int:
    """Give every ``every``-th open task to the printed agent login (created after the install),
    so that whoever tries the demo as that agent finds a today list to work."""
    with write_transaction(engine) as conn:
        agent = conn.execute(select(users.c.id).where(users.c.email == email)).scalar_one_or_none()
        open_ids = conn.execute(select(care_tasks.c.id).where(care_tasks.c.status == "open")
                                .order_by(care_tasks.c.due_at, care_tasks.c.id)).scalars().all()
        chosen = open_ids[::every]
        if agent is None or not chosen:
            return 0
        conn.execute(update(care_tasks).where(care_tasks.c.id.in_(chosen))
                     .values(assignee_id=agent))
    return len(chosen)


__all__ = ["hand_to_agent", "install"]
