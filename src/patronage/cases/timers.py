"""Service-level timers, run by the worker: a warning shortly before a target, the breach, and
the escalation steps after it, each recorded once per case and round and mailed through the
outbox in the same transaction, so two workers at once still send each step once.

Step numbers in ``case_escalations``: ``-1`` is the first-response target, ``0`` the resolution
target, ``1, 2, ...`` the policy's escalation steps after the resolution breach.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.cases import records, routing, sla
from patronage.cases.config import DEFAULT, DeskConfig
from patronage.cases.inputs import now_utc
from patronage.storage import write_transaction
from patronage.storage.schema import cases, customers, users
from patronage.storage.schema_cases import case_escalations, sla_policies
from patronage.surveys.outbox import enqueue

RUNNING = ("new", "assigned", "in_progress")
FIRST_RESPONSE, RESOLUTION = -1, 0
MAIL = {
    "en": {"warning": "Case {number} is due {due}: {subject}",
           "breach": "Case {number} missed its {target} target ({due}): {subject}",
           "escalation": "Escalated to you: case {number}, overdue since {due}: {subject}",
           "first response": "first response", "resolution": "resolution",
           "body": "Customer: {customer}\nCase: {number} ({severity})\nOpen it: {link}\n"},
    "zh_Hans": {"warning": "工单 {number} 将于 {due} 到期：{subject}",
                "breach": "工单 {number} 已超出{target}时限（{due}）：{subject}",
                "escalation": "升级给您：工单 {number} 自 {due} 起逾期：{subject}",
                "first response": "首次响应", "resolution": "解决",
                "body": "客户：{customer}\n工单：{number}（{severity}）\n打开：{link}\n"},
    "zh_Hant": {"warning": "工單 {number} 將於 {due} 到期：{subject}",
                "breach": "工單 {number} 已超出{target}時限（{due}）：{subject}",
                "escalation": "升級給您：工單 {number} 自 {due} 起逾期：{subject}",
                "first response": "首次回應", "resolution": "解決",
                "body": "客戶：{customer}\n工單：{number}（{severity}）\n開啟：{link}\n"},
}


def run_timers(engine: Engine, *, now: datetime | None = None,
               config: DeskConfig = DEFAULT) -> dict:
    """Record and mail every warning, breach and escalation due at ``now``; returns counts."""
    now = now or now_utc()
    counts = {"warning": 0, "breach": 0, "escalation": 0}
    with engine.connect() as conn:
        due_soon = conn.execute(
            select(cases.c.id).where(cases.c.status.in_(RUNNING),
                                     cases.c.resolution_due_at.is_not(None),
                                     cases.c.resolution_due_at <= now + timedelta(days=10))
            .order_by(cases.c.resolution_due_at)).scalars().all()
        cal = sla.calendar(conn, config)  # the company's days, read once per run
    for case_id in due_soon:
        with write_transaction(engine) as conn:
            case = records.load_for_update(conn, case_id)
            if case["status"] not in RUNNING:
                continue
            policy = conn.execute(select(sla_policies)
                                  .where(sla_policies.c.id == case["sla_policy_id"])) \
                .mappings().first()
            for kind, step, notify in _due_steps(case, policy, cal, now):
                if _record(conn, case, kind, step, notify, now, config):
                    counts[kind] += 1
    return counts


def _due_steps(case, policy, cal, now):
    """(kind, step, notify) of every step whose moment has come."""
    warn = timedelta(minutes=policy["warn_minutes"] if policy else 60)
    first_due = case["first_response_due_at"]
    if first_due is not None and case["first_responded_at"] is None and now >= first_due:
        yield "breach", FIRST_RESPONSE, "owner"
    due = case["resolution_due_at"]
    if now < due:
        if cal.between(now, due) <= warn:
            yield "warning", RESOLUTION, "owner"
        return
    yield "breach", RESOLUTION, "owner"
    late = cal.between(due, now)
    for index, step in enumerate(policy["escalation"] if policy else (), start=1):
        if late >= timedelta(minutes=int(step["after_minutes"])):
            yield "escalation", index, step["notify"]


def _record(conn, case, kind, step, notify, now, config: DeskConfig) -> bool:
    people = routing.team_people(conn, case["team_id"])
    user_id = case["owner_id"] if notify == "owner" else people.get(notify)
    savepoint = conn.begin_nested()
    try:
        conn.execute(insert(case_escalations).values(
            case_id=case["id"], kind=kind, step=step, round=case["round"], notify=notify,
            user_id=user_id, at=now))
    except IntegrityError:  # done before, here or by another worker
        savepoint.rollback()
        return False
    savepoint.commit()
    number = records.case_number(case["id"])
    target = "first response" if step == FIRST_RESPONSE else "resolution"
    due = case["first_response_due_at"] if step == FIRST_RESPONSE else case["resolution_due_at"]
    event = {"warning": "sla_warning", "breach": "sla_breach", "escalation": "escalated"}[kind]
    records.append_event(conn, case["id"], event, at=now,
                         changes={"step": step, "notify": notify, "user_id": user_id,
                                  "target": target, "round": case["round"]})
    email = conn.execute(select(users.c.email).where(users.c.id == user_id)).scalar() \
        if user_id else None
    if email:
        words = MAIL.get(config.language, MAIL["en"])
        customer = conn.execute(select(customers.c.name)
                                .where(customers.c.id == case["customer_id"])).scalar()
        values = {"number": number, "due": f"{due:%Y-%m-%d %H:%M}", "subject": case["subject"],
                  "target": words[target], "customer": customer, "severity": case["severity"],
                  "link": f"{config.base_url.rstrip('/')}/cases/{number}"}
        enqueue(conn, kind=f"case_{kind}", to_address=email,
                subject=words[kind].format(**values)[:300], body_text=words["body"].format(**values),
                now=now)
    return True


__all__ = ["FIRST_RESPONSE", "RESOLUTION", "run_timers"]
