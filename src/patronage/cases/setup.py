"""Setting up the desk: teams and their members, case categories, service-level policies,
assignment rules and the company's own working days."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.cases.inputs import clean_text, now_utc, one_of, team_id_of, user_id_of
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import CASE_SEVERITIES, users
from patronage.storage.schema_cases import (
    ESCALATION_TARGETS, assignment_rules, business_days, case_categories, sla_policies,
    team_members, teams,
)

#: The default escalation: the owner at the breach, the team lead 4 business hours later, the
#: manager after a working day.
DEFAULT_ESCALATION = ({"after_minutes": 0, "notify": "owner"},
                      {"after_minutes": 240, "notify": "team_lead"},
                      {"after_minutes": 540, "notify": "manager"})


def add_team(engine: Engine, name: str, *, lead: str | None = None, manager: str | None = None,
             members: list[str] = (), now: datetime | None = None) -> int:
    """A team with its lead, manager and members (staff e-mails)."""
    name = clean_text(name, "name", required=True)
    try:
        with write_transaction(engine) as conn:
            team_id = int(conn.execute(insert(teams).values(
                name=name, lead_id=user_id_of(conn, lead), manager_id=user_id_of(conn, manager),
                created_at=now or now_utc())).inserted_primary_key[0])
            for login in dict.fromkeys(members):
                conn.execute(insert(team_members).values(team_id=team_id,
                                                         user_id=user_id_of(conn, login)))
            return team_id
    except IntegrityError:
        raise UserError(N_("A team named {team!r} already exists."), team=name) from None


def add_member(engine: Engine, team: str, login: str) -> None:
    with write_transaction(engine) as conn:
        team_id, user_id = team_id_of(conn, team), user_id_of(conn, login)
        known = conn.execute(select(team_members.c.user_id).where(
            team_members.c.team_id == team_id, team_members.c.user_id == user_id)).first()
        if known is None:
            conn.execute(insert(team_members).values(team_id=team_id, user_id=user_id))


def add_category(engine: Engine, code: str, *, en: str, zh_hans: str, zh_hant: str,
                 parent: str | None = None, position: int = 0) -> None:
    """A case category (a tree through ``parent``) with its name in the three languages."""
    code = clean_text(code, "code", required=True)
    names = {k: clean_text(v, "name", required=True)
             for k, v in {"name_en": en, "name_zh_hans": zh_hans, "name_zh_hant": zh_hant}.items()}
    try:
        with write_transaction(engine) as conn:
            conn.execute(insert(case_categories).values(code=code, parent_code=parent or None,
                                                        position=position, **names))
    except IntegrityError:
        raise UserError(N_("Category {category!r} exists already, or its parent {parent!r} "
                           "does not."), category=code, parent=parent or "-") from None


def add_policy(engine: Engine, name: str, *, first_response_minutes: int, resolution_minutes: int,
               severity: str | None = None, category: str | None = None, warn_minutes: int = 60,
               escalation: list[dict[str, Any]] | None = None) -> int:
    """A service-level policy; targets in business minutes."""
    name = clean_text(name, "name", required=True)
    if severity is not None:
        one_of(severity, CASE_SEVERITIES, "severity")
    for value, label in ((first_response_minutes, "first response"),
                         (resolution_minutes, "resolution")):
        if not isinstance(value, int) or value <= 0:
            raise UserError(N_("The {target} target must be a positive number of minutes."),
                            target=label)
    steps = list(escalation if escalation is not None else DEFAULT_ESCALATION)
    for step in steps:
        if step.get("notify") not in ESCALATION_TARGETS or int(step.get("after_minutes", -1)) < 0:
            raise UserError(N_("An escalation step needs after_minutes (0 or more) and notify "
                               "(owner, team_lead or manager)."))
    try:
        with write_transaction(engine) as conn:
            return int(conn.execute(insert(sla_policies).values(
                name=name, severity=severity, category=category or None,
                first_response_minutes=first_response_minutes,
                resolution_minutes=resolution_minutes, warn_minutes=warn_minutes,
                escalation=steps)).inserted_primary_key[0])
    except IntegrityError:
        raise UserError(N_("A policy named {name!r} exists already, or category {category!r} "
                           "does not."), name=name, category=category or "-") from None


def add_assignment_rule(engine: Engine, *, team: str | None = None, owner: str | None = None,
                        category: str | None = None, region: str | None = None,
                        key_account: bool | None = None, position: int = 0) -> int:
    """Route matching new cases to a team (round-robin) and/or an owner."""
    with write_transaction(engine) as conn:
        team_id, owner_id = team_id_of(conn, team), user_id_of(conn, owner)
        if team_id is None and owner_id is None:
            raise UserError(N_("Name an owner or a team to assign the case to."))
        return int(conn.execute(insert(assignment_rules).values(
            position=position, category=category or None, region=region or None,
            key_account=key_account, team_id=team_id, owner_id=owner_id))
            .inserted_primary_key[0])


def list_policies(engine: Engine):
    """The policies as a frame (targets in business minutes)."""
    import pandas as pd

    with engine.connect() as conn:
        rows = conn.execute(select(sla_policies).order_by(sla_policies.c.id)).mappings().all()
    columns = ["name", "severity", "category", "first_response_minutes", "resolution_minutes",
               "warn_minutes", "active"]
    return pd.DataFrame([dict(r) for r in rows], columns=["id", *columns, "escalation"])[columns]


def set_business_day(engine: Engine, day: date, is_workday: bool | None,
                     name: str | None = None) -> None:
    """Mark ``day`` as a working day or not (``None`` returns it to the official calendar)."""
    with write_transaction(engine) as conn:
        conn.execute(delete(business_days).where(business_days.c.day == day))
        if is_workday is not None:
            conn.execute(insert(business_days).values(day=day, is_workday=is_workday,
                                                      name=clean_text(name, "name")))


def remove_member(engine: Engine, team: str, login: str) -> None:
    """Take a staff member out of a team (new cases no longer rotate to them); a deactivated
    account can be taken out too."""
    with write_transaction(engine) as conn:
        team_id = team_id_of(conn, team)
        user_id = conn.execute(select(users.c.id).where(
            users.c.email == str(login or "").strip().lower())).scalar()
        gone = conn.execute(delete(team_members).where(
            team_members.c.team_id == team_id, team_members.c.user_id == user_id)).rowcount \
            if user_id is not None else 0
    if not gone:
        raise UserError(N_("{user} is not a member of team {team!r}."), user=str(login)[:254],
                        team=str(team)[:100])


def set_team_people(engine: Engine, team: str, *, lead: str | None,
                    manager: str | None) -> None:
    """The team's lead and manager (staff e-mails; empty leaves the role unfilled)."""
    with write_transaction(engine) as conn:
        team_id = team_id_of(conn, team)
        if team_id is None:
            raise UserError(N_("Choose a team."))
        conn.execute(update(teams).where(teams.c.id == team_id).values(
            lead_id=user_id_of(conn, lead), manager_id=user_id_of(conn, manager)))


def rename_category(engine: Engine, code: str, *, en: str, zh_hans: str, zh_hant: str) -> None:
    names = {k: clean_text(v, "name", required=True)
             for k, v in {"name_en": en, "name_zh_hans": zh_hans, "name_zh_hant": zh_hant}.items()}
    _change_category(engine, code, **names)


def set_category_active(engine: Engine, code: str, active: bool) -> None:
    """Switch a category off (no longer offered; cases keep it) or on again."""
    _change_category(engine, code, active=bool(active))


def _change_category(engine: Engine, code: str, **values) -> None:
    with write_transaction(engine) as conn:
        done = conn.execute(update(case_categories).where(case_categories.c.code == code)
                            .values(**values)).rowcount
    if not done:
        raise UserError(N_("There is no case category {category!r}."), category=str(code)[:60])


def set_policy_active(engine: Engine, policy_id: int, active: bool) -> None:
    with write_transaction(engine) as conn:
        done = conn.execute(update(sla_policies).where(sla_policies.c.id == policy_id)
                            .values(active=bool(active))).rowcount
    if not done:
        raise UserError(N_("There is no service-level policy {policy}."), policy=policy_id)


def remove_assignment_rule(engine: Engine, rule_id: int) -> None:
    with write_transaction(engine) as conn:
        done = conn.execute(delete(assignment_rules)
                            .where(assignment_rules.c.id == rule_id)).rowcount
    if not done:
        raise UserError(N_("There is no assignment rule {rule}."), rule=rule_id)


__all__ = ["DEFAULT_ESCALATION", "add_assignment_rule", "add_category", "add_member",
           "add_policy", "add_team", "list_policies", "remove_assignment_rule", "remove_member",
           "rename_category", "set_business_day", "set_category_active", "set_policy_active",
           "set_team_people"]
