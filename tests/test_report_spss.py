"""Responses for SPSS: a .sav file read back with pyreadstat (ReadStat, the library R's haven
uses) holds the answers, the variable labels and the waves as value labels; the CSV + syntax
pair neutralises formulas and sets the same labels."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from patronage.cli import main
from patronage.reporting.spss import spss_name
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import answers

FORMULA = "=HYPERLINK(\"http://x\") 太贵"


@pytest.fixture
def answered(panel):
    engine = panel[0]
    with write_transaction(engine) as conn:
        insert_rows(conn, answers, [{"response_id": 59, "item_code": "comment",
                                     "value_num": None, "value_text": FORMULA}])
    return engine


def test_spss_names_are_legal_and_unique():
    used: set = set()
    assert spss_name("kano.speed.f", used) == "kano_speed_f"
    assert spss_name("1st", used) == "v1st"
    assert spss_name("kano speed f", used) == "kano_speed_f_2"


def test_sav_has_answers_and_labels(answered, db_url, tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    out = tmp_path / "answers.sav"
    result = CliRunner().invoke(main, ["analyze", "responses", "--db", db_url, "--format", "sav",
                                       "--lang", "zh_Hans", "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_sav(str(out))
    with answered.connect() as conn:
        nps = dict(conn.execute(text(
            "SELECT r.external_id, a.value_num FROM answers a JOIN responses r "
            "ON r.id = a.response_id WHERE a.item_code = 'nps'")).all())
    assert len(frame) == 60
    assert dict(zip(frame["response_id"], frame["nps"])) == nps
    labels = meta.column_names_to_labels
    assert labels["wave"] == "批次" and labels["nps"].startswith("nps: ")
    assert "推荐" in labels["nps"]
    assert meta.variable_value_labels["wave"] == {1.0: "2026-Q1", 2.0: "2026-Q2"}
    assert set(frame.loc[frame["response_id"] == "R58", "comment"]) == {FORMULA}


def test_csv_and_syntax(answered, db_url, tmp_path):
    out = tmp_path / "answers.csv"
    result = CliRunner().invoke(main, ["analyze", "responses", "--db", db_url, "--format", "sps",
                                       "--lang", "en", "--out", str(out)])
    assert result.exit_code == 0, result.output
    csv = out.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in csv and ",=HYPERLINK" not in csv and ',"=HYPERLINK' not in csv
    syntax = (tmp_path / "answers.sps").read_bytes().decode("utf-8")
    assert "/FILE='answers.csv'" in syntax
    assert "  nps 'nps: Likelihood to recommend (0-10)'" in syntax
    assert "VALUE LABELS wave\r\n  1 '2026-Q1'\r\n  2 '2026-Q2'" in syntax
    missing = CliRunner().invoke(main, ["analyze", "responses", "--db", db_url, "--survey",
                                        "nope", "--format", "sps", "--out", str(out)])
    assert missing.exit_code == 1 and "nope" in missing.output
    assert "Traceback" not in missing.output
