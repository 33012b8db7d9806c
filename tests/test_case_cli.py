"""The case desk on the command line: each command a thin shell over the library."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from patronage.cli import main
from patronage.storage.schema import cases

pytestmark = pytest.mark.db


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_a_case_from_open_to_closed(panel, db_url):
    db = ("--db", db_url)
    run("case", "category", "delivery", "--en", "Delivery", "--zh-hans", "交付", "--zh-hant", "交付",
        *db)
    run("case", "team", "华东服务组", "--lead", "analyst@example.com", "--member",
        "agent@example.com", *db)
    run("case", "sla", "add", "standard", "--first-response", "120", "--resolution", "480", *db)
    number = run("case", "open", "--customer", "C001", "--subject", "货物破损", "--category",
                 "delivery", "--team", "华东服务组", *db).output.strip()
    assert number.startswith("C0")
    listed = json.loads(run("case", "list", "--format", "json", *db).output)
    mine = [row for row in listed if row["number"] == number]
    assert mine and mine[0]["owner"] == "agent@example.com" and mine[0]["team"] == "华东服务组"
    run("case", "reply", number, "已安排换货", *db)
    run("case", "note", number, "客户要求周五前送达", *db)
    run("case", "resolve", number, "--note", "已换货", *db)
    run("case", "close", number, *db)
    shown = run("case", "show", number, *db).output
    assert "closed" in shown and "已安排换货" in shown and "客户要求周五前送达" in shown
    again = run("case", "reply", number, "x", *db, ok=False)
    assert again.exit_code != 0 and "closed" in again.output
    run("case", "reopen", number, "--reason", "问题仍在", *db)
    csv_out = run("case", "list", "--status", "assigned", "--format", "csv", *db).output
    assert number in csv_out


def test_alert_rules_and_the_worker(panel, db_url):
    db = ("--db", db_url)
    run("case", "rule", "add", "detractor", "nps <= 6", "--name", "差评预警", "--from-start", *db)
    rules = json.loads(run("case", "rule", "list", "--format", "json", *db).output)
    assert rules[0]["condition_text"] == "nps <= 6"
    out = run("work", *db).output
    engine = panel[0]
    with engine.connect() as conn:
        made = conn.execute(select(cases.c.id).where(cases.c.rule_id.is_not(None))).all()
    assert made and f"cases opened {len(made)}" in out
    assert "cases opened 0" in run("work", *db).output
    run("case", "rule", "remove", "detractor", *db)
    assert json.loads(run("case", "rule", "list", "--format", "json", *db).output)[0]["active"] \
        is False


@pytest.mark.parametrize("args, words", [
    (("case", "open", "--customer", "NOPE", "--subject", "s"), "no customer"),
    (("case", "show", "banana"), "not a case number"),
    (("case", "show", "C999999"), "no case C999999"),
    (("case", "rule", "add", "r", "nps <"), "Cannot read"),
    (("case", "list", "--status", "lost"), "Unknown status"),
    (("case", "sla", "add", "x", "--first-response", "0", "--resolution", "10"), "positive"),
])
def test_bad_input_gets_a_message(panel, db_url, args, words):
    result = run(*args, "--db", db_url, ok=False)
    assert result.exit_code != 0 and words in result.output
