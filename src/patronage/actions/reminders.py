"""The worker's reminders of overdue actions: the owner of each open action past its due date gets
one mail per due date (a new due date, a new reminder), through the outbox.

The reminder is recorded in the action's history under the unique ``(action, "reminder", due
date)`` in the same transaction as its mail, so two workers at once, or a worker killed after
sending, still remind once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.cases.config import DEFAULT, DeskConfig
from patronage.cases.inputs import now_utc
from patronage.storage import write_transaction
from patronage.storage.schema import users
from patronage.storage.schema_actions import OPEN_ACTION_STATUSES, action_events, actions
from patronage.surveys.outbox import enqueue

MAIL = {
    "en": {"subject": "Action {number} is overdue (due {due}): {title}",
           "body": "Your improvement action {number} \"{title}\" was due on {due} and is still "
                   "{status}.\nUpdate it or record its progress: {link}\n",
           "planned": "planned", "in_progress": "in progress"},
    "zh_Hans": {"subject": "改进措施 {number} 已逾期（截止 {due}）：{title}",
                "body": "您负责的改进措施 {number}「{title}」截止日期为 {due}，目前仍为“{status}”。\n"
                        "请更新状态或记录进展：{link}\n",
                "planned": "计划中", "in_progress": "进行中"},
    "zh_Hant": {"subject": "改進措施 {number} 已逾期（截止 {due}）：{title}",
                "body": "您負責的改進措施 {number}「{title}」截止日期為 {due}，目前仍為「{status}」。\n"
                        "請更新狀態或記錄進展：{link}\n",
                "planned": "計劃中", "in_progress": "進行中"},
}


def today_in(now: datetime, timezone: str | None) -> date:
    """The company's day at ``now`` (naive UTC)."""
    try:
        zone = ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return now.replace(tzinfo=UTC).astimezone(zone).date()


def run_reminders(engine: Engine, *, now: datetime | None = None,
                  config: DeskConfig = DEFAULT) -> int:
    """Mail the owner of every open action due before today (the company's day, in
    ``config.timezone``) in ``config.language``; returns how many were reminded. An action
    without an owner (or whose owner left) is not reminded."""
    now = now or now_utc()
    today = today_in(now, config.timezone)
    a = actions.c
    with engine.connect() as conn:
        due = conn.execute(select(a.id).where(a.status.in_(OPEN_ACTION_STATUSES),
                                              a.due_on < today, a.owner_id.is_not(None))
                           .order_by(a.due_on, a.id)).scalars().all()
    words = MAIL.get(config.language, MAIL["en"])
    sent = 0
    for action_id in due:
        with write_transaction(engine) as conn:
            row = conn.execute(select(actions, users.c.email, users.c.is_active)
                               .join(users, users.c.id == a.owner_id)
                               .where(a.id == action_id)).mappings().first()
            if row is None or row["status"] not in OPEN_ACTION_STATUSES or \
                    row["due_on"] >= today or not row["is_active"]:
                continue
            savepoint = conn.begin_nested()
            try:
                conn.execute(insert(action_events).values(
                    action_id=action_id, kind="reminder", at=now, user_id=row["owner_id"],
                    due_on=row["due_on"]))
            except IntegrityError:  # reminded of this due date before, here or elsewhere
                savepoint.rollback()
                continue
            savepoint.commit()
            values = {"number": f"#{action_id}", "title": row["title"],
                      "due": row["due_on"].isoformat(), "status": words[row["status"]],
                      "link": f"{config.base_url.rstrip('/')}/actions/{action_id}"}
            enqueue(conn, kind="action_overdue", to_address=row["email"],
                    subject=words["subject"].format(**values)[:300],
                    body_text=words["body"].format(**values), now=now)
            sent += 1
    return sent


__all__ = ["MAIL", "run_reminders", "today_in"]
