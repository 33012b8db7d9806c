"""CSV exports never carry a formula: every text cell a spreadsheet would run (starting with
``= + - @``, a tab or a carriage return) gets a leading apostrophe, in values, index labels
(waves, regions), index names and column labels, whatever their dtype; numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from patronage.cli import main
from patronage.reporting.render import render

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\t=1+1", "\r=1+1"]
_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def runnable_cells(text: str) -> list[str]:
    """Cells of a CSV text that a spreadsheet would run as a formula."""
    assert text.startswith("\ufeff")
    rows = csv.reader(io.StringIO(text[1:], newline=""))
    return [cell for row in rows for cell in row
            if cell.startswith(_START) and not _is_number(cell)]


@pytest.fixture
def hostile_csv(tmp_path):
    """Answers whose waves and regions are named like formulas."""
    lines = ["wave,region,nps,overall_satisfaction,comment"]
    for k, (wave, region) in enumerate(zip(HOSTILE, reversed(HOSTILE))):
        for score in (10, 3 + k):
            cells = [wave, region, str(score), "7", HOSTILE[k]]
            lines.append(",".join('"' + c.replace('"', '""') + '"' for c in cells))
    path = tmp_path / "answers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    return path


@pytest.mark.parametrize("args", [
    ["nps", "--by", "wave"],
    ["nps", "--by", "region"],
    ["csi", "--by", "wave"],
    ["crosstab", "--rows", "wave", "--columns", "region"],
    ["compare", "--item", "nps", "--by", "region"],
])
def test_analyze_csv_labels_named_like_formulas_are_neutralised(hostile_csv, args):
    result = CliRunner().invoke(main, ["analyze", *args, "--file", str(hostile_csv),
                                       "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert runnable_cells(result.stdout) == []
    # The labels are still there, behind the apostrophe; text like "-2" is text, not a number.
    assert "'=HYPERLINK(" in result.stdout or "\"'=HYPERLINK(" in result.stdout
    if "region" in args:
        cells = {c for row in csv.reader(io.StringIO(result.stdout[1:], newline="")) for c in row}
        assert {"'+1", "'-2"} <= cells and not {"+1", "-2"} & cells


def test_every_part_of_a_frame_is_neutralised():
    frame = pd.DataFrame({
        "object": np.array(HOSTILE, dtype=object),
        "string": pd.array(HOSTILE, dtype="string"),
        "category": pd.Categorical(HOSTILE),
        "number": [-1.5, -2.0, 3.0, 4.0, 5.0, 6.0],
    }, index=pd.MultiIndex.from_arrays([HOSTILE, list(reversed(HOSTILE))],
                                       names=["=wave", "@region"]))
    frame.columns = ["=a", "+b", "-c", "number"]
    text = render(frame, "csv")
    assert runnable_cells(text) == []
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert rows[0] == ["'=wave", "'@region", "'=a", "'+b", "'-c", "number"]
    escaped = ["'" + h for h in HOSTILE]
    assert [r[:5] for r in rows[1:]] == [[e, f, e, e, e] for e, f in zip(escaped,
                                                                          reversed(escaped))]
    assert [r[-1] for r in rows[1:3]] == ["-1.5", "-2.0"]  # numbers stay numbers


def test_single_index_columns_index_and_series():
    index = pd.Index(HOSTILE, name="wave", dtype="str")
    text = render(pd.DataFrame({"n": range(6)}, index=index), "csv")
    assert runnable_cells(text) == []
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + h for h in HOSTILE]
    series = pd.Series(range(6), index=pd.CategoricalIndex(HOSTILE, name="@x"), name="=n")
    assert runnable_cells(render(series, "csv")) == []
    columns = pd.MultiIndex.from_arrays([HOSTILE, HOSTILE])
    wide = pd.DataFrame(np.ones((1, 6)), columns=columns)
    assert runnable_cells(render(wide, "csv")) == []


def test_csv_is_written_by_the_one_neutraliser_only():
    """No module but reporting/render.py writes CSV, and only the report's workbook writer
    (reporting/report_files.py, whose cells are neutralised: tests/test_report_build.py) makes
    spreadsheets, so every export goes through the neutraliser."""
    src = Path(__file__).resolve().parents[1] / "src" / "patronage"
    writers = re.compile(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(|\.to_excel\(|"
                         r"Workbook\(|xlsxwriter")
    found = sorted(str(p.relative_to(src)) for p in src.rglob("*.py")
                   if writers.search(p.read_text(encoding="utf-8")))
    assert found == ["reporting/render.py", "reporting/report_files.py"]


def test_a_carriage_return_inside_a_cell_does_not_start_a_row():
    """A lone CR left unquoted ends the row in Excel, and what follows it starts a new one."""
    text = render(pd.DataFrame({"comment": ["fine\r=1+1", "ok\n@SUM(A1)"], "n": [1, 2]}), "csv")
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert rows == [["comment", "n"], ["fine\r=1+1", "1"], ["ok\n@SUM(A1)", "2"]]
