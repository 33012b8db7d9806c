"""Writing the demo desk: staff, teams, categories, policies, rules, then the cases' desk
columns, timelines, remedies and escalation records, in bulk inside the demo's transaction.

Staff accounts are written with a locked password (no hash matches it), so nobody can sign in
as them; after the transaction :func:`set_printed_passwords` gives the lead and the agent that
``patronage demo`` prints a strong random password each (argon2 hashing is slow on purpose, so
only the printed logins pay for it). An admin can set the others' passwords as usual.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, func, select, update

from patronage.accounts import hash_password
from patronage.cases.inputs import now_utc
from patronage.cases.rules import parse_condition
from patronage.messages import UserError
from patronage.passwords import check_password
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import cases, customers, responses, surveys, users
from patronage.storage.schema_cases import (
    assignment_rules,
    case_categories,
    case_escalations,
    case_events,
    case_remedies,
    case_rules,
    sla_policies,
    team_members,
    teams,
)

LOCKED = "!locked: set a password to sign in"


def _py(value):
    """None for NaT/NaN, datetime for Timestamps, plain Python numbers."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def _pairs(result) -> dict:
    return {key: value for key, value in result}


def staff_emails() -> set[str]:
    from patronage.demo.desk import STAFF

    return {email for email, _, _ in STAFF}


def setup(conn: Connection, company, counts: dict, say) -> dict[str, list]:
    """Write the desk's configuration; return the cases' desk columns (database keys), in the
    order of ``company.cases``."""
    from patronage.cases.setup import DEFAULT_ESCALATION
    from patronage.demo import desk as d

    desk = company.desk
    created = pd.Timestamp(company.cases["opened_at"].min()).floor("D") - pd.Timedelta(days=30)
    created = created.to_pydatetime()
    say(f"Setting up the case desk: {len(d.STAFF)} staff, {len(d.TEAMS)} teams")
    counts["users"] = insert_rows(conn, users, [
        {"email": email, "display_name": name, "password_hash": LOCKED, "role": role,
         "created_at": created, "password_changed_at": created} for email, name, role in d.STAFF])
    user_pk = _pairs(conn.execute(select(users.c.email, users.c.id)))
    insert_rows(conn, teams, [
        {"name": name, "lead_id": user_pk[d.email_of(lead)], "manager_id": user_pk[d.MANAGER],
         "created_at": created} for name, lead, _, _ in d.TEAMS])
    team_pk = _pairs(conn.execute(select(teams.c.name, teams.c.id)))
    insert_rows(conn, team_members, [
        {"team_id": team_pk[name], "user_id": user_pk[d.email_of(login)]}
        for name, lead, agents, _ in d.TEAMS for login in (lead, *agents)])
    insert_rows(conn, case_categories, [
        {"code": code, "parent_code": None, "name_en": en, "name_zh_hans": hans,
         "name_zh_hant": hant, "position": i}
        for i, (code, en, hans, hant) in enumerate(d.CATEGORIES)])
    insert_rows(conn, sla_policies, [
        {"name": name, "severity": severity, "category": None, "first_response_minutes": first,
         "resolution_minutes": resolution, "warn_minutes": 60,
         "escalation": list(DEFAULT_ESCALATION)}
        for severity, (name, first, resolution) in d.POLICIES.items()])
    policy_pk = {sev: pk for pk, sev in conn.execute(select(sla_policies.c.id,
                                                            sla_policies.c.severity))}
    survey_pk = conn.execute(select(surveys.c.id).where(surveys.c.code == "relationship")) \
        .scalar()
    insert_rows(conn, case_rules, [
        {"code": code, "name": name, "survey_id": survey_pk,
         "condition": parse_condition(condition), "case_type": case_type, "category": category,
         "severity": severity, "created_at": created, "checked_up_to": 0}
        for code, name, condition, case_type, category, severity in d.ALERT_RULES])
    rule_pk = _pairs(conn.execute(select(case_rules.c.code, case_rules.c.id)))
    insert_rows(conn, assignment_rules, [
        {"position": 0, "category": None, "region": None, "key_account": True,
         "team_id": team_pk[d.KEY_TEAM], "owner_id": None},
        *({"position": 1, "category": None, "region": region, "key_account": None,
           "team_id": team_pk[name], "owner_id": None}
          for name, _, _, regions in d.TEAMS for region in regions)])
    customer_pk = _pairs(conn.execute(select(customers.c.external_id, customers.c.id)))
    owners = [{"pk": customer_pk[ext], "owner": user_pk[email]}
              for ext, email in desk.account_owners.items()]
    if owners:
        conn.execute(update(customers).where(customers.c.id == bindparam("pk"))
                     .values(account_owner_id=bindparam("owner")), owners)
    k = desk.cases
    detractor = k["type"].eq("detractor")
    rule = pd.Series([None] * len(k), dtype=object)
    rule[detractor.to_numpy()] = rule_pk["detractor"]
    rule[(detractor & k["key_account"] & k["severity"].eq("high")).to_numpy()] = \
        rule_pk["key_account_low"]
    survey_born = k["response_id"].notna().to_numpy()

    def keys(series, mapping):
        return [None if v is None or pd.isna(v) else mapping[v] for v in series]

    return {
        "channel": k["channel"].tolist(), "category": k["category"].tolist(),
        "severity": k["severity"].tolist(),
        "survey_id": [survey_pk if born else None for born in survey_born],
        "rule_id": rule.tolist(), "team_id": keys(k["team"], team_pk),
        "owner_id": keys(k["owner"], user_pk), "sla_policy_id": keys(k["policy"], policy_pk),
        **{col: [_py(v) for v in k[col]] for col in (
            "resolution_due_at", "first_responded_at", "resolved_at", "waiting_since",
            "updated_at")},
        "first_response_due_at": [None if r > 1 else _py(v) for v, r in
                                  zip(k["first_response_due_at"], k["round"])],
        "round": [int(r) for r in k["round"]],
    }


def _with_keys(changes, user_pk, team_pk, remedy_pk):
    if not changes:
        return changes
    out = {}
    for key, value in changes.items():
        if key == "owner":
            out["owner_id"] = user_pk.get(value)
        elif key == "user":
            out["user_id"] = user_pk.get(value)
        elif key == "team":
            out["team_id"] = team_pk.get(value)
        elif key == "remedy":
            out["remedy_id"] = remedy_pk[value]
        else:
            out[key] = _py(value)
    return out


def history(conn: Connection, company, counts: dict, say) -> None:
    """Timelines, remedies and escalation records of the cases just written."""
    desk = company.desk
    say(f"Writing {len(desk.events):,} case events, {len(desk.remedies):,} remedies and "
        f"{len(desk.escalations):,} service-level records")
    ids = conn.execute(select(cases.c.id).order_by(cases.c.id)).scalars().all()
    case_pk = dict(zip(desk.cases["case_id"].tolist(), ids[-len(desk.cases):]))
    user_pk = _pairs(conn.execute(select(users.c.email, users.c.id)))
    team_pk = _pairs(conn.execute(select(teams.c.name, teams.c.id)))
    r = desk.remedies
    counts["case_remedies"] = insert_rows(conn, case_remedies, [
        {"case_id": case_pk[row.case_id], "kind": row.kind, "amount": float(row.amount),
         "points": int(row.points), "note": None, "status": row.status,
         "requested_by": user_pk[row.requested_by], "decided_by": user_pk[row.decided_by],
         "created_at": _py(row.created_at), "decided_at": _py(row.decided_at)}
        for row in r.itertuples(index=False)])
    remedy_ids = conn.execute(select(case_remedies.c.id).order_by(case_remedies.c.id)) \
        .scalars().all()
    remedy_pk = dict(enumerate(remedy_ids[-len(r):])) if len(r) else {}
    e = desk.events
    counts["case_events"] = insert_rows(conn, case_events, [
        {"case_id": case_pk[row.case_id], "at": _py(row.at), "user_id": user_pk.get(row.user),
         "kind": row.kind, "visibility": row.visibility, "body": row.body,
         "changes": _with_keys(row.changes, user_pk, team_pk, remedy_pk)}
        for row in e.itertuples(index=False)])
    counts["case_escalations"] = insert_rows(conn, case_escalations, [
        {"case_id": case_pk[row.case_id], "kind": row.kind, "step": int(row.step),
         "round": int(row.round), "notify": row.notify, "user_id": user_pk.get(row.user),
         "at": _py(row.at)} for row in desk.escalations.itertuples(index=False)])
    # The alert rules start after the demo's answers: the history already has their cases.
    last = conn.execute(select(func.max(responses.c.id))).scalar() or 0
    conn.execute(update(case_rules).values(checked_up_to=last))


def set_printed_passwords(engine: Engine, now: datetime | None = None) -> dict:
    """Strong random passwords for the lead and the agent that the demo prints."""
    from patronage.demo.desk import PRINTED, STAFF

    roles = {email: role for email, _, role in STAFF}
    out = {}
    for email in PRINTED:
        while True:
            password = secrets.token_urlsafe(12)
            try:
                check_password(password, email)
                break
            except UserError:  # a rare random miss of the policy: draw again
                pass
        hashed = hash_password(password)
        with write_transaction(engine) as conn:
            conn.execute(update(users).where(users.c.email == email).values(
                password_hash=hashed, password_changed_at=now or now_utc()))
        out[email] = (roles[email], password)
    return out


__all__ = ["LOCKED", "history", "set_printed_passwords", "setup", "staff_emails"]
