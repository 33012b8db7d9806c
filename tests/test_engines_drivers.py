"""Issue 16: ``analyze drivers|pls --engine duckdb --source parquet:DIR`` print the table of the
in-database analysis on the demo company: the engine pivots the answers of the kept responses,
sums the weighted moments of the complete ones in SQL, and the analytics fit on them. The same
rows in the same order, the counts exactly, the figures to 1e-8 relative. (Their bootstrap
intervals, by the Poisson bootstrap on the engine, are tested in test_engine_bootstrap.py.)"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from patronage.cli import main

pytestmark = pytest.mark.db


@pytest.fixture
def demo(demo_export):
    """The demo company's database and its export (written once per test process)."""
    return demo_export[:2]


def _table(*args: str) -> pd.DataFrame:
    result = CliRunner().invoke(main, ["analyze", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return pd.DataFrame(data["rows"] if isinstance(data, dict) else data)


def assert_same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert len(theirs) >= 2 and list(ours.columns) == list(theirs.columns)
    counted = [c for c in ("n", "rank") if c in theirs.columns]
    assert (ours[counted] == theirs[counted]).all().all()
    assert ours.drop(columns=counted).select_dtypes("number").notna().sum().sum() > 0
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("extra", [
    [], ["--method", "shapley"], ["--level", "item"],
    ["--include-flagged", "--outcome", "nps", "--predictors",
     "overall_satisfaction,repurchase_intent"],
])
def test_duckdb_drivers_equal_the_database(demo, extra):
    url, folder = demo
    ours = _table("drivers", "--engine", "duckdb", "--source", f"parquet:{folder}",
                  "--bootstrap", "0", *extra)
    theirs = _table("drivers", "--db", url, "--bootstrap", "0", *extra)
    assert_same(ours, theirs)


@pytest.mark.parametrize("show", ["paths", "loadings", "scores"])
def test_duckdb_pls_equals_the_database(demo, show):
    url, folder = demo
    ours = _table("pls", "--engine", "duckdb", "--source", f"parquet:{folder}", "--show", show,
                  "--bootstrap", "0")
    theirs = _table("pls", "--db", url, "--bootstrap", "0", "--show", show)
    assert_same(ours, theirs)


@pytest.mark.parametrize("missing", ["listwise", "mean"])
def test_duckdb_pls_of_a_model_file_equals_the_database(demo, tmp_path, missing):
    url, folder = demo
    model = tmp_path / "model.yaml"
    model.write_text(
        "constructs:\n  SAT: [overall_satisfaction, trust]\n"
        "  LOY: {indicators: [repurchase_intent, nps], mode: B}\n"
        f"paths:\n  LOY: [SAT]\nscheme: factorial\nmissing: {missing}\n", encoding="utf-8")
    for show in ("paths", "scores"):
        ours = _table("pls", "--engine", "duckdb", "--source", f"parquet:{folder}",
                      "--bootstrap", "0", "--model", str(model), "--show", show,
                      "--include-flagged")
        theirs = _table("pls", "--db", url, "--bootstrap", "0", "--model", str(model),
                        "--show", show, "--include-flagged")
        assert_same(ours, theirs)


def test_engine_drivers_and_pls_explain_what_they_cannot_do(demo):
    folder = demo[1]
    source = ["--engine", "duckdb", "--source", f"parquet:{folder}"]
    for args, words in ((["drivers", "--outcome", "nosuch"], "no 'nosuch' item"),
                        (["drivers", "--predictors", "trust,nosuch"], "nosuch"),
                        (["drivers", "--survey", "employee-2026"], "employee survey")):
        result = CliRunner().invoke(main, ["analyze", *args, *source])
        assert result.exit_code != 0 and isinstance(result.exception, SystemExit), args
        assert words in result.output, (args, result.output)
