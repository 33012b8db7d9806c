"""``patronage action add|list|update`` on the selected database: adding from the command line,
the list with the measured effect (JSON), updating, and bad input as a message, never a
traceback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from action_data import plant_survey
from patronage.accounts import create_user
from patronage.cli import main

pytestmark = pytest.mark.db


def _run(db_url, *args):
    return CliRunner().invoke(main, [*args[:2], "--db", db_url, *args[2:]])


def test_add_list_and_update_actions(engine, db_url):
    plant_survey(engine)
    create_user(engine, "lin@example.com", "Harbor-Violet-7731", "analyst")
    added = _run(db_url, "action", "add", "缩短服务响应时间", "--due", "2026-03-31",
                 "--metric", "item:speed_timeliness", "--survey", "planted", "--target", "0.5",
                 "--segment", "region=East China", "--owner", "lin@example.com",
                 "--budget", "20000", "--baseline-wave", "2026-Q1")
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "Added action #1: 缩短服务响应时间"
    listed = _run(db_url, "action", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert len(rows) == 1 and rows[0]["metric"] == "item:speed_timeliness"
    assert rows[0]["owner_email"] == "lin@example.com" and rows[0]["budget"] == 20000
    assert rows[0]["p_value"] < 0.05 and "target +0.50 reached" in rows[0]["effect"]
    done = _run(db_url, "action", "update", "1", "--status", "done", "--note", "培训已完成")
    assert done.exit_code == 0 and "Action #1: done" in done.output
    achieved = json.loads(_run(db_url, "action", "list", "--group", "achieved",
                               "--format", "json").output)
    achieved = achieved["rows"] if isinstance(achieved, dict) else achieved
    assert [r["id"] for r in achieved] == [1]


@pytest.mark.parametrize("args, message", [
    (["action", "add", "x", "--due", "tomorrow"], "must be a date"),
    (["action", "add", "x", "--due", "2026-03-31", "--metric", "dimension:nope"], "no dimension"),
    (["action", "update", "7", "--note", "x"], "no action 7"),
    (["action", "update", "1"], "no action"),
])
def test_bad_input_is_a_message(engine, db_url, args, message):
    plant_survey(engine)
    result = _run(db_url, *args)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output
