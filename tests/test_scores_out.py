"""Issue 16: ``--scores-out TABLE`` writes the per-customer scores back as a table: a table of
the operational database (database engine) or of a DuckDB file (``FILE.duckdb:TABLE``), with the
same rows as the Parquet file of the same run, replaced (not appended to) by the next run; bad
names and Patronage's own tables get a message. Spark's ``saveAsTable`` is tested in
``test_engines_spark.py``."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from patronage.cli import main
from patronage.engines.parquet import export_parquet
from patronage.engines.scores import scores_target
from test_engines import simulated_log, store

pytestmark = pytest.mark.db


def _run(*args) -> str:
    result = CliRunner().invoke(main, ["analyze", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return result.output


def _refused(*args) -> str:
    result = CliRunner().invoke(main, ["analyze", *args])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.output


def _table(engine, name: str) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(text(f"SELECT * FROM {name}"), conn)
    return frame.sort_values("customer_id").set_index("customer_id")


def _parquet(path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("customer_id").set_index("customer_id")


@pytest.mark.parametrize("analysis", ["clv", "rfm"])
def test_database_scores_as_a_table_of_the_database(engine, db_url, tmp_path, analysis):
    store(engine, simulated_log())
    name = f"{analysis}_scores"
    _run(analysis, "--db", db_url, "--scores-out", str(tmp_path / "scores.parquet"))
    _run(analysis, "--db", db_url, "--scores-out", name)
    expected, written = _parquet(tmp_path / "scores.parquet"), _table(engine, name)
    assert len(written) == len(expected) > 300
    assert list(written.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False, check_exact=False,
                                  rtol=1e-12)
    # The next run replaces the table (one transaction), it does not append to it.
    _run(analysis, "--db", db_url, "--scores-out", name)
    assert len(_table(engine, name)) == len(expected)


@pytest.mark.parametrize("name, words", [
    ("customers", "Patronage's own tables"),
    ("ALEMBIC_VERSION", "Patronage's own tables"),
    ("1scores", "table name"),
    ("scores;drop", "table name"),
])
def test_bad_or_reserved_table_names_get_a_message(engine, db_url, name, words):
    store(engine, simulated_log(seed=5, n_customers=60))
    assert words in _refused("rfm", "--db", db_url, "--scores-out", name)


def test_a_table_that_holds_no_scores_is_not_replaced(engine, db_url):
    store(engine, simulated_log(seed=5, n_customers=60))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (body VARCHAR(20))"))
        conn.execute(text("INSERT INTO notes VALUES ('keep me')"))
    assert "holds no scores" in _refused("rfm", "--db", db_url, "--scores-out", "notes")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT body FROM notes")).scalar_one() == "keep me"


@pytest.mark.parametrize("analysis", ["clv", "rfm"])
def test_duckdb_scores_as_a_table_of_a_duckdb_file(engine, tmp_path, analysis):
    store(engine, simulated_log())
    folder = tmp_path / "panel"
    export_parquet(engine, folder)
    source = ["--engine", "duckdb", "--source", f"parquet:{folder}"]
    _run(analysis, *source, "--scores-out", str(tmp_path / "scores.parquet"))
    database = tmp_path / "lake.duckdb"
    for _ in range(2):  # the second run replaces the table
        _run(analysis, *source, "--scores-out", f"{database}:{analysis}_scores")
    with duckdb.connect(str(database), read_only=True) as conn:
        written = conn.execute(f"SELECT * FROM {analysis}_scores").df()
    written = written.sort_values("customer_id").set_index("customer_id")
    pd.testing.assert_frame_equal(written, _parquet(tmp_path / "scores.parquet"))
    assert "FILE.duckdb:scores" in _refused(analysis, *source, "--scores-out", "scores")


def test_what_scores_out_means(tmp_path):
    assert scores_target(f"{tmp_path}/scores.parquet", "database").path is not None
    assert scores_target("scores.parquet", "spark").path is not None
    assert scores_target("clv_scores", "spark").table == "clv_scores"
    target = scores_target("lake.duckdb:clv", "duckdb")
    assert (target.table, str(target.database)) == ("clv", "lake.duckdb")
    with pytest.raises(ValueError, match="for --engine duckdb"):
        scores_target("lake.duckdb:clv", "database")
