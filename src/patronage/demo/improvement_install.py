"""Writing the demo's improvement cycle (:mod:`patronage.demo.improvement`) into the database:
the anonymous employee survey with the other rows, then, once the logins exist, the service
standard and the two actions through their services, owned by the demo analyst."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, select

from patronage.actions.records import create_action, update_action
from patronage.demo.improvement import ACTIONS, STANDARD, STANDARD_ACTION
from patronage.standards.records import add_standard
from patronage.storage import insert_rows
from patronage.storage.schema import answers, responses, surveys, waves

if TYPE_CHECKING:
    from patronage.demo import DemoCompany


def install_survey(conn: Connection, company: DemoCompany, counts: dict, say, records,
                   key_map, mapped) -> None:
    """The employee survey's survey, waves, responses (no customer) and answers; their counts
    go to ``counts`` as ``employee_*`` (the summary's survey counts stay the customers')."""
    staff = company.improvement
    say(f"Writing {len(staff.responses):,} anonymous employee survey responses")
    s, w, r, a = staff.surveys, staff.waves, staff.responses, staff.answers
    insert_rows(conn, surveys, records(s, {col: col for col in s.columns}))
    survey_id = key_map(conn, surveys.c.code, surveys.c.id)[s["code"].iloc[0]]
    counts["employee_waves"] = insert_rows(conn, waves, [
        {"survey_id": survey_id, "name": row.name, "starts_on": row.starts_on,
         "ends_on": row.ends_on} for row in w.itertuples()])
    wave_pk = {name: pk for pk, name in conn.execute(
        select(waves.c.id, waves.c.name).where(waves.c.survey_id == survey_id))}
    counts["employee_responses"] = insert_rows(conn, responses, records(r, {
        "external_id": "external_id", "survey_id": r["survey"].map(lambda _c: survey_id),
        "wave_id": mapped(r["wave"], wave_pk, "wave"), "channel": "channel",
        "language": "language", "started_at": "started_at", "submitted_at": "submitted_at",
        "weight": "weight", "quality_flags": "quality_flags"}))
    response_pk = {k: v for k, v in conn.execute(
        select(responses.c.external_id, responses.c.id).where(
            responses.c.survey_id == survey_id))}
    counts["employee_answers"] = insert_rows(conn, answers, records(a, {
        "response_id": mapped(a["response_id"], response_pk, "response"),
        "item_code": "item_code", "value_num": "value_num", "value_text": "value_text"}))


def plan(engine: Engine, company: DemoCompany, owner: str) -> dict:
    """The standard and the three actions (made at the relationship survey's third wave, done
    by the fourth; one on the standard), owned by ``owner``; returns the actions' numbers by
    key."""
    standard_id = add_standard(engine, **STANDARD, owner=owner, now=datetime(2025, 6, 20, 9, 0))
    survey = str(company.surveys["code"].iloc[0])
    baseline = company.waves.iloc[-2]
    made = datetime.combine(baseline["ends_on"], datetime.min.time()) + timedelta(days=5, hours=9)
    numbers = {}
    for spec in (*ACTIONS, {**STANDARD_ACTION, "metric": f"standard:{standard_id}"}):
        number = create_action(
            engine, title=spec["title"], due=(made + timedelta(days=60)).date(),
            metric=spec["metric"], survey=survey, source=spec["source"],
            source_ref=spec.get("source_ref"), owner=owner, budget=spec["budget"],
            target=spec["target"], segment=spec["segment"], baseline_wave=baseline["name"],
            now=made)
        update_action(engine, number, status="in_progress", now=made + timedelta(days=3))
        update_action(engine, number, status="done", now=made + timedelta(days=50))
        numbers[spec["key"]] = number
    return numbers


__all__ = ["install_survey", "plan"]
