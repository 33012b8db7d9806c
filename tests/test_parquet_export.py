"""``patronage export parquet DIR`` and the analyses on its files (issue 16).

The export reads back to the stored rows (customers, transactions by year/month, surveys,
waves, responses, answers), whatever the chunk size; ``analyze clv|rfm|nps|csi --engine duckdb
--source parquet:DIR`` prints the table of the in-database analysis; bad input gets a message, not a traceback.
"""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner
from sqlalchemy import JSON, select

from patronage.cli import main
from patronage.engines.parquet import EXPORTED_TABLES, export_parquet, read_parquet_table
from patronage.storage import make_engine
from patronage.storage.schema import customers as customers_table

pytestmark = pytest.mark.db


@pytest.fixture
def demo(demo_export):
    """The demo company's database and its export (written once per test process)."""
    return demo_export


def stored_rows(engine, table) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(select(*table.columns).order_by(*table.primary_key.columns)).all()
    return [tuple(_plain(column, value) for column, value in zip(table.columns, row,
                                                                 strict=True)) for row in rows]


def _plain(column, value):
    if value is not None and isinstance(column.type, JSON) and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) or type(value).__name__ == "Decimal":
        return float(value)
    return value


def exported_rows(folder, table) -> list[tuple]:
    frame = read_parquet_table(folder, table.name).to_pylist()
    keys = [c.name for c in table.primary_key.columns]
    rows = sorted(frame, key=lambda r: tuple(r[k] for k in keys))
    return [tuple(_plain(c, r[c.name]) for c in table.columns) for r in rows]


def test_the_export_reads_back_to_the_stored_rows(demo):
    url, folder, output = demo
    engine = make_engine(url)
    try:
        for table in EXPORTED_TABLES:
            stored = stored_rows(engine, table)
            assert stored, table.name  # the demo fills every exported table
            assert exported_rows(folder, table) == stored, table.name
            assert f"{table.name}: {len(stored):,} rows" in output
    finally:
        engine.dispose()
    parts = [p.parent for p in (folder / "transactions").rglob("*.parquet")]
    assert len(parts) > 12 and len(parts) == len(set(parts))  # one file per (year, month)
    for path in (folder / "transactions").rglob("*.parquet"):
        year, month = int(path.parent.parent.name[5:]), int(path.parent.name[6:])
        stamps = pd.to_datetime(pd.read_parquet(path, columns=["occurred_at"])["occurred_at"])
        assert ((stamps.dt.year == year) & (stamps.dt.month == month)).all(), path


def test_small_chunks_write_the_same_files(demo, tmp_path):
    url, folder, _ = demo
    engine = make_engine(url)
    try:
        report = export_parquet(engine, tmp_path / "small", chunk_rows=997)
    finally:
        engine.dispose()
    for table in EXPORTED_TABLES:
        assert (read_parquet_table(tmp_path / "small", table.name)
                .equals(read_parquet_table(folder, table.name))), table.name
    assert report.files["transactions"] == len(list((folder / "transactions").rglob("*.parquet")))


def test_export_refuses_a_folder_with_files(demo, tmp_path):
    url = demo[0]
    (tmp_path / "old.txt").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(main, ["export", "parquet", str(tmp_path), "--db", url])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "not an empty folder" in result.output


def _json_run(*args):
    result = CliRunner().invoke(main, ["analyze", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("analysis", ["clv", "rfm"])
def test_duckdb_on_the_export_prints_the_database_table(demo, analysis, tmp_path):
    url, folder, _ = demo
    extra = ["--top", "0"] if analysis == "clv" else []
    ours = _json_run(analysis, "--engine", "duckdb", "--source", f"parquet:{folder}",
                     "--scores-out", str(tmp_path / "scores.parquet"), *extra)
    theirs = _json_run(analysis, "--db", url, "--scores-out", str(tmp_path / "db.parquet"),
                       *extra)
    ours_rows, theirs_rows = (pd.DataFrame(d["rows"] if isinstance(d, dict) else d)
                              for d in (ours, theirs))
    assert len(ours_rows) > 1000
    pd.testing.assert_frame_equal(ours_rows, theirs_rows, rtol=1e-12)
    scores = pd.read_parquet(tmp_path / "scores.parquet").set_index("customer_id")
    shown = ours_rows.set_index("customer_id").loc[scores.index]
    for column in scores.columns:
        if column in shown.columns and shown[column].dtype.kind == "f":
            np.testing.assert_allclose(scores[column], shown[column], rtol=1e-8, err_msg=column)
        elif column in shown.columns:
            assert (scores[column].to_numpy() == shown[column].to_numpy()).all(), column
    in_process = pd.read_parquet(tmp_path / "db.parquet").set_index("customer_id")
    assert list(in_process.columns) == list(scores.columns)
    pd.testing.assert_index_equal(in_process.index, scores.index)
    pd.testing.assert_frame_equal(scores, in_process, check_exact=False, rtol=1e-8)
    if analysis == "clv":
        assert {"p_alive", "expected_purchases_90d", "clv"} <= set(scores.columns)
        for key in ("purchase_model", "spend_model"):
            assert ours[key]["params"] == theirs[key]["params"]  # the same fit, to the bit
        assert ours["margin"] == pytest.approx(theirs["margin"], rel=1e-12)


@pytest.mark.parametrize("args, words", [
    (["clv", "--engine", "duckdb"], ["--source parquet:DIR"]),
    (["rfm", "--engine", "duckdb", "--source", "csv:x"], ["--source parquet:DIR"]),
    (["clv", "--engine", "duckdb", "--source", "parquet:/no/such/folder"],
     ["patronage export parquet"]),
])
def test_bad_sources_get_a_message(args, words):
    result = CliRunner().invoke(main, ["analyze", *args])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.exception
    for word in words:
        assert word in result.output


def test_scores_out_into_a_missing_folder_gets_a_message(demo, tmp_path):
    url = demo[0]
    result = CliRunner().invoke(main, ["analyze", "rfm", "--db", url, "--scores-out",
                                       str(tmp_path / "nowhere" / "rfm.parquet")])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.exception
    assert "does not exist" in result.output


def _frame(data) -> pd.DataFrame:
    return pd.DataFrame(data["rows"] if isinstance(data, dict) else data)


@pytest.mark.parametrize("analysis, extra", [
    ("nps", []), ("nps", ["--by", "region"]), ("nps", ["--by", "none"]),
    ("nps", ["--by", "mode", "--include-flagged"]), ("nps", ["--survey", "relationship", "--by", "industry"]),
    ("nps", ["--by", "sales_channel"]), ("csi", []), ("csi", ["--by", "tier"]),
    ("csi", ["--by", "none", "--include-flagged"]), ("csi", ["--by", "language"]),
])
def test_duckdb_survey_indices_equal_the_database(demo, analysis, extra):
    """Issue 16: the engine's grouped counts and sums give the in-database table: the same
    groups in the same order, the counts exactly, the figures to 1e-8 relative."""
    url, folder, _ = demo
    ours = _frame(_json_run(analysis, "--engine", "duckdb", "--source", f"parquet:{folder}",
                            *extra))
    theirs = _frame(_json_run(analysis, "--db", url, *extra))
    assert len(theirs) >= 1 and list(ours.columns) == list(theirs.columns)
    counted = [c for c in ("n",) if c in theirs.columns]
    assert (ours[counted] == theirs[counted]).all().all()
    assert ours.drop(columns=counted).notna().sum().sum() > 0
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-8, atol=1e-10)


def test_duckdb_survey_indices_explain_bad_input(demo):
    folder = demo[1]
    source = ["--engine", "duckdb", "--source", f"parquet:{folder}"]
    for args, words in ((["nps", "--survey", "employee-2026"], "employee survey"),
                        (["nps", "--survey", "nosuch"], "No responses for survey"),
                        (["csi", "--by", "touchpoints"], "Cannot group by"),
                        (["nps", "--survey", "servqual22"], "no 'nps' item")):
        result = CliRunner().invoke(main, ["analyze", *args, *source])
        assert result.exit_code != 0 and isinstance(result.exception, SystemExit), args
        assert words in result.output, (args, result.output)


@pytest.mark.parametrize("args", [
    ["cohorts"], ["cohorts", "--period", "M", "--curve"],
    ["cohorts", "--period", "Y", "--repeat", "--repeat-days", "30"],
    ["whale"], ["whale", "--cost-per-touchpoint", "120", "--cost-per-case", "2000"],
])
def test_duckdb_cohorts_and_whale_equal_the_database(demo, args):
    """Issue 16: cohorts from (cohort, period) counts and per-cohort repeat counts in SQL, the
    whale curve from each customer's profit less cost to serve in SQL: the database's table."""
    url, folder, _ = demo
    ours = _frame(_json_run(*args, "--engine", "duckdb", "--source", f"parquet:{folder}"))
    theirs = _frame(_json_run(*args, "--db", url))
    assert len(theirs) > 3 and list(ours.columns) == list(theirs.columns)
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-8, atol=1e-10)


def test_an_older_export_without_the_new_tables_gets_a_message(demo, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(demo[1], old)
    for name in ("surveys", "cases"):
        shutil.rmtree(old / name)
    for args in (["nps"], ["whale"]):
        result = CliRunner().invoke(main, ["analyze", *args, "--engine", "duckdb", "--source",
                                           f"parquet:{old}"])
        assert result.exit_code != 0 and isinstance(result.exception, SystemExit), args
        assert "export the panel again" in result.output, result.output


def _stored_panel(url) -> dict[str, pd.DataFrame]:
    from patronage.storage import read_customers, read_responses, read_transactions
    from patronage.storage.schema import answers, responses

    engine = make_engine(url)
    try:
        customers = read_customers(engine).drop(columns="customer_pk")
        with engine.connect() as conn:
            attributes = dict(conn.execute(select(customers_table.c.external_id,
                                                  customers_table.c.attributes)).all())
            given = conn.execute(select(responses.c.external_id, answers.c.item_code,
                                        answers.c.value_num, answers.c.value_text)
                                 .join(responses, responses.c.id == answers.c.response_id)).all()
        customers["attributes"] = customers["customer_id"].map(lambda key: json.dumps(
            {k: v if isinstance(v, str) else json.dumps(v)
             for k, v in (attributes[key] or {}).items()}, sort_keys=True, ensure_ascii=False))
        answered = pd.DataFrame([tuple(row) for row in given],
                                columns=["response_id", "item_code", "value_num", "value_text"])
        return {"customers": customers.sort_values("customer_id", ignore_index=True),
                "responses": read_responses(engine).drop(
                    columns=["response_pk", "quality_flags", "wave_start"]).sort_values(
                    "response_id", ignore_index=True).fillna(np.nan),
                "answers": answered.sort_values(["response_id", "item_code"],
                                                ignore_index=True),
                "transactions": read_transactions(engine).sort_values("transaction_id",
                                                                      ignore_index=True)}
    finally:
        engine.dispose()


def test_import_panel_reads_the_export_back(demo, db_url):
    """``patronage import panel --from parquet:DIR`` on an empty database gives the demo's
    customers (custom attributes included, as text like any imported attribute: true as
    "true"), transactions, responses and answers again (quality flags and touchpoint tags are
    not carried by an import, and the report says so); a second run changes nothing; the
    analyses on it equal those of the demo."""
    url, folder, _ = demo
    args = ["import", "panel", "--from", f"parquet:{folder}", "--db", db_url]
    dry = CliRunner().invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "5,000 new" in dry.output and "run the import without --dry-run" in dry.output
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    ours, theirs = _stored_panel(db_url), _stored_panel(url)
    assert len(theirs["transactions"]) > 10_000
    assert (theirs["customers"]["attributes"] != "{}").any()
    assert "without their quality flags" in result.output
    assert len(theirs["answers"]) > 100_000 and theirs["answers"]["value_text"].notna().any()
    for name in ("customers", "transactions", "responses", "answers"):
        pd.testing.assert_frame_equal(ours[name], theirs[name], check_dtype=False)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and "Inserted 0, updated 0" in again.output, again.output
    assert _json_run("rfm", "--db", db_url) == _json_run("rfm", "--db", url)
    for by in ("region", "wave"):
        assert (_json_run("nps", "--include-flagged", "--by", by, "--db", db_url)
                == _json_run("nps", "--include-flagged", "--by", by, "--db", url))


def test_import_panel_writes_nothing_from_a_bad_export(demo, db_url, tmp_path):
    """A broken row in the export: a message naming the table, row and column; nothing
    written, the transactions not read."""
    import pyarrow.parquet as pq
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(demo[1], bad)
    part = bad / "customers" / "part-0.parquet"
    table = pq.read_table(part)
    names = table.column("name").to_pylist()
    names[6] = None
    pq.write_table(table.set_column(table.schema.get_field_index("name"), "name",
                                    pa.array(names, type=pa.string())), part)
    result = CliRunner().invoke(main, ["import", "panel", "--from", f"parquet:{bad}", "--db",
                                       db_url])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "customers/" in result.output and "line 7" in result.output, result.output
    assert "transactions/" not in result.output
    assert _stored_panel(db_url)["customers"].empty
    for source in ("csv:x", f"parquet:{tmp_path / 'none'}"):
        result = CliRunner().invoke(main, ["import", "panel", "--from", source, "--db", db_url])
        assert result.exit_code != 0 and "patronage export parquet" in result.output


def test_footer_max_reads_the_latest_time_from_the_statistics(tmp_path):
    """The Spark engine's latest day: the largest ``occurred_at`` of the files (as a query
    gives it, nulls and empty files left out), or a LookupError when the footers cannot
    tell (no statistics, a time zone, a file elsewhere)."""
    import pyarrow.parquet as pq

    from patronage.engines.parquet import footer_max

    times = pa.array([datetime(2025, 3, 1, 8), None, datetime(2025, 5, 31, 23, 59)],
                     pa.timestamp("us"))
    pq.write_table(pa.table({"occurred_at": times}), tmp_path / "a.parquet", row_group_size=1)
    pq.write_table(pa.table({"occurred_at": pa.array([datetime(2024, 1, 2)],
                                                     pa.timestamp("us"))}), tmp_path / "b.parquet")
    pq.write_table(pa.table({"occurred_at": pa.array([], pa.timestamp("us"))}),
                   tmp_path / "empty.parquet")
    files = [tmp_path / "b.parquet", (tmp_path / "a.parquet").as_uri(), tmp_path / "empty.parquet"]
    assert footer_max(files, "occurred_at") == datetime(2025, 5, 31, 23, 59)
    assert footer_max([tmp_path / "empty.parquet"], "occurred_at") is None
    pq.write_table(pa.table({"occurred_at": times}), tmp_path / "bare.parquet",
                   write_statistics=False)
    pq.write_table(pa.table({"occurred_at": times.cast(pa.timestamp("us", tz="UTC"))}),
                   tmp_path / "zoned.parquet")
    for bad in ([tmp_path / "bare.parquet"], [tmp_path / "zoned.parquet"],
                ["hdfs://cluster/a.parquet"], [tmp_path / "a.parquet", tmp_path / "nothing"]):
        with pytest.raises(LookupError):
            footer_max(bad, "occurred_at")
    with pytest.raises(LookupError):
        footer_max([tmp_path / "a.parquet"], "amount")
