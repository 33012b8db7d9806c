"""The survey programme from the command line: create, open, wave, sample, send, remind."""

from __future__ import annotations

from datetime import datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from patronage.cli import main
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import customers, invitations

pytestmark = pytest.mark.db

REGIONS = ["East"] * 6 + ["North"] * 4 + ["South"] * 2


@pytest.fixture
def mailing_panel(panel, db_url, tmp_path, monkeypatch):
    engine, _info = panel
    now = datetime(2026, 6, 1, 9, 0)
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [
            {"external_id": f"M{k:03d}", "name": f"Mail customer {k}", "region": region,
             "size": "key account" if k < 2 else "small", "email": f"m{k}@example.com",
             "created_at": now, "updated_at": now} for k, region in enumerate(REGIONS)])
    monkeypatch.setenv("PATRONAGE_MAIL_SINK_DIR", str(tmp_path / "sink"))
    return engine, db_url, tmp_path / "sink"


def _run(*args):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_a_survey_from_template_to_mail_on_the_command_line(mailing_panel, tmp_path):
    engine, url, sink = mailing_panel
    assert "draft" in _run("survey", "create", "nps-cli", "--template", "nps", "--language",
                           "zh_Hans", "--db", url)
    assert "/o/" in _run("survey", "status", "nps-cli", "open", "--open-link", "--db", url)
    _run("survey", "wave", "nps-cli", "W1", "--starts", "2026-07-01", "--db", url)
    ids = tmp_path / "keys.txt"
    ids.write_text("M000\nM001, nobody\n", encoding="utf-8")
    out = _run("survey", "sample", "nps-cli", "--wave", "W1", "--method", "targeted", "--ids",
               str(ids), "--db", url)
    assert out.startswith("Invited 2 of") and "nobody" in out
    out = _run("survey", "sample", "nps-cli", "--wave", "W1", "--method", "stratified",
               "--n", "10", "--strata", "region", "--quotas", "East=1", "--seed", "5",
               "--db", url)
    assert out.startswith("Invited 7 of")  # East 4 -> 1 by the quota, North 4, South 2
    with engine.connect() as conn:
        invited = dict(conn.execute(
            select(customers.c.region, func.count())
            .join(invitations, invitations.c.customer_id == customers.c.id)
            .group_by(customers.c.region)).all())
    assert invited == {"East": 3, "North": 4, "South": 2}
    assert "mail sent 9" in _run("survey", "work", "--db", url)
    assert len(list(sink.glob("*.eml"))) == 9
    assert _run("survey", "remind", "nps-cli", "--wave", "W1", "--db", url).startswith(
        "Queued 0 reminder(s)")  # nobody was invited 7 days ago yet


@pytest.mark.parametrize("args, words", [
    (["survey", "create", "x", "--template", "nonesuch"], "unknown survey template"),
    (["survey", "status", "nope", "open"], "nope"),
    (["survey", "sample", "relationship", "--method", "targeted"], "targeted list needs"),
    (["survey", "sample", "relationship", "--n", "2", "--quotas", "East=x"], "cannot read quota"),
])
def test_bad_survey_commands_say_what_to_do(mailing_panel, args, words):
    _engine, url, _sink = mailing_panel
    result = CliRunner().invoke(main, [*args, "--db", url])
    assert result.exit_code != 0 and words in result.output
    assert "Traceback" not in result.output


def test_an_ids_file_saved_by_chinese_excel_is_read(mailing_panel, tmp_path):
    """A list of ids in GB18030 (Notepad/Excel on Chinese Windows) is decoded like an import
    file, not refused with a codec error."""
    engine, url, _sink = mailing_panel
    _run("survey", "create", "gb-ids", "--template", "nps", "--db", url)
    _run("survey", "status", "gb-ids", "open", "--db", url)
    _run("survey", "wave", "gb-ids", "W1", "--starts", "2026-07-01", "--db", url)
    ids = tmp_path / "keys.txt"
    ids.write_bytes("M000\nM001\n张三\n".encode("gb18030"))
    out = _run("survey", "sample", "gb-ids", "--wave", "W1", "--method", "targeted", "--ids",
               str(ids), "--preview", "--db", url)
    assert "张三" in out, out
