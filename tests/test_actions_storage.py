"""The action plans' tables (migration 0013) on the selected database: what the database itself
refuses (checks, foreign keys) and the one-reminder-per-due-date key of the history."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.storage import write_transaction
from patronage.storage.schema import users
from patronage.storage.schema_actions import action_events, actions

pytestmark = pytest.mark.db
NOW = datetime(2026, 6, 1, 9, 0)


def _action(**values) -> dict:
    return {"title": "缩短服务响应时间", "source": "ipa", "source_ref": "responsiveness",
            "due_on": date(2026, 9, 30), "metric_kind": "dimension",
            "metric_code": "responsiveness", "created_at": NOW, "updated_at": NOW, **values}


def _insert(engine, table, **values) -> int:
    with write_transaction(engine) as conn:
        return conn.execute(insert(table).values(**values)).inserted_primary_key[0]


@pytest.mark.parametrize("bad", [
    {"title": ""}, {"status": "finished"}, {"source": "guess"}, {"source_ref": None},
    {"metric_kind": "revenue"}, {"metric_kind": "item", "metric_code": None},
    {"budget": -1.0}, {"updated_at": datetime(2026, 5, 1)}, {"owner_id": 999},
    {"team_id": 999}, {"survey_id": 999}, {"baseline_wave_id": 999},
])
def test_the_database_refuses_a_bad_action(engine, bad):
    with pytest.raises(IntegrityError):
        _insert(engine, actions, **_action(**bad))


def test_a_manual_action_on_nps_needs_no_reference_or_code(engine):
    assert _insert(engine, actions, **_action(source="manual", source_ref=None,
                                              metric_kind="nps", metric_code=None)) > 0


def test_one_reminder_per_action_and_due_date_and_history_goes_with_the_action(engine):
    action_id = _insert(engine, actions, **_action())
    reminder = {"action_id": action_id, "kind": "reminder", "at": NOW, "due_on": date(2026, 9, 30)}
    _insert(engine, action_events, **reminder)
    with pytest.raises(IntegrityError):
        _insert(engine, action_events, **reminder)
    _insert(engine, action_events, **{**reminder, "due_on": date(2026, 10, 31)})  # a new date
    for _ in range(2):  # notes carry no due date: as many as wanted
        _insert(engine, action_events, action_id=action_id, kind="note", at=NOW, note="进展")
    for bad in ({"kind": "reminder", "due_on": None}, {"kind": "note", "due_on": date(2026, 1, 1)},
                {"kind": "status", "status_to": None}, {"kind": "sent"}):
        with pytest.raises(IntegrityError):
            _insert(engine, action_events, **{"action_id": action_id, "at": NOW, **bad})
    with write_transaction(engine) as conn:
        conn.execute(delete(actions).where(actions.c.id == action_id))
    with engine.connect() as conn:
        assert conn.execute(select(action_events.c.id)).all() == []


def test_an_owner_who_leaves_leaves_the_action_unowned(engine):
    user_id = _insert(engine, users, email="lin@example.com", password_hash="x", role="analyst",
                      created_at=NOW)
    action_id = _insert(engine, actions, **_action(owner_id=user_id, created_by=user_id))
    with write_transaction(engine) as conn:
        conn.execute(delete(users).where(users.c.id == user_id))
    with engine.connect() as conn:
        row = conn.execute(select(actions).where(actions.c.id == action_id)).mappings().one()
    assert row["owner_id"] is None and row["created_by"] is None
