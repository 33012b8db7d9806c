"""Changing the desk's set-up: team members, lead and manager, categories, policies and
assignment rules (patronage.cases.setup), on SQLite or PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from patronage.accounts import create_user
from patronage.cases import setup
from patronage.messages import UserError
from patronage.storage import write_transaction
from patronage.storage.schema import users
from patronage.storage.schema_cases import (
    assignment_rules, case_categories, sla_policies, team_members, teams,
)

pytestmark = pytest.mark.db


@pytest.fixture
def desk(engine):
    for email in ("lead@example.com", "boss@example.com", "agent@example.com"):
        create_user(engine, email, "Harbor-Violet-5820", "agent")
    setup.add_team(engine, "东区", members=["agent@example.com", "lead@example.com"])
    setup.add_category(engine, "billing", en="Billing", zh_hans="账单", zh_hant="帳單")
    return engine


def _members(engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(team_members)).all())


def test_remove_member_takes_one_person_out(desk):
    setup.remove_member(desk, "东区", "agent@example.com")
    assert _members(desk) == 1
    with pytest.raises(UserError, match="not a member"):
        setup.remove_member(desk, "东区", "agent@example.com")
    with pytest.raises(UserError, match="no team"):
        setup.remove_member(desk, "西区", "lead@example.com")
    with pytest.raises(UserError, match="not a member"):
        setup.remove_member(desk, "东区", "ghost@example.com")
    assert _members(desk) == 1


def test_a_deactivated_account_can_be_taken_out_of_its_team(desk):
    with write_transaction(desk) as conn:
        conn.execute(update(users).where(users.c.email == "lead@example.com")
                     .values(is_active=False))
    setup.remove_member(desk, "东区", "lead@example.com")
    assert _members(desk) == 1


def test_set_team_people_sets_and_clears_lead_and_manager(desk):
    setup.set_team_people(desk, "东区", lead="lead@example.com", manager="boss@example.com")
    with desk.connect() as conn:
        row = conn.execute(select(teams.c.lead_id, teams.c.manager_id)).one()
    assert None not in row and row[0] != row[1]
    setup.set_team_people(desk, "东区", lead=None, manager="boss@example.com")
    with desk.connect() as conn:
        assert conn.execute(select(teams.c.lead_id)).scalar() is None
    with pytest.raises(UserError, match="no active staff"):
        setup.set_team_people(desk, "东区", lead="ghost@example.com", manager=None)
    with pytest.raises(UserError):
        setup.set_team_people(desk, "", lead=None, manager=None)


def test_categories_are_renamed_and_switched_off(desk):
    setup.rename_category(desk, "billing", en="Invoices", zh_hans="发票", zh_hant="發票")
    setup.set_category_active(desk, "billing", False)
    with desk.connect() as conn:
        row = conn.execute(select(case_categories)).mappings().one()
    assert (row["name_en"], row["name_zh_hant"], row["active"]) == ("Invoices", "發票", False)
    with pytest.raises(UserError, match="required"):
        setup.rename_category(desk, "billing", en="", zh_hans="发票", zh_hant="發票")
    with pytest.raises(UserError, match="no case category"):
        setup.set_category_active(desk, "nope", True)


def test_policies_switch_off_and_rules_are_removed(desk):
    policy = setup.add_policy(desk, "std", first_response_minutes=60, resolution_minutes=480)
    rule = setup.add_assignment_rule(desk, team="东区", category="billing")
    setup.set_policy_active(desk, policy, False)
    setup.remove_assignment_rule(desk, rule)
    with desk.connect() as conn:
        assert conn.execute(select(sla_policies.c.active)).scalar() is False
        assert conn.execute(select(assignment_rules)).first() is None
    with pytest.raises(UserError):
        setup.set_policy_active(desk, policy + 99, False)
    with pytest.raises(UserError):
        setup.remove_assignment_rule(desk, rule)
