"""Issue 16: the operational database as an engine for the key drivers and the PLS path model.

SQLite or PostgreSQL computes the weighted moments of the complete responses in SQL (the SQL
:mod:`patronage.engines.survey_models` shares with DuckDB and Spark) and the analytics fit on
them; the tables equal the in-process fits on the responses read into pandas
(:func:`patronage.satisfaction.methods.drivers_table` and ``pls_table`` without intervals): the
same rows in the same order, the counts exactly, the figures to 1e-8 relative. Relative weights
(Johnson 2000), Shapley regression and PLS with standardised latent variables depend on the
data only through the means and covariance matrix (Lohmöller 1989, ch. 2), so the moments lose
nothing. ``analyze drivers|pls --bootstrap 0`` runs in SQL; asking for intervals without
``--engine database`` reads the responses (the plain bootstrap), and the estimates are the
same (with ``--engine database``, the Poisson bootstrap in SQL: test_engine_bootstrap.py).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from patronage.cli import main
from patronage.engines import survey_models
from patronage.engines.database import DatabaseEngine
from patronage.satisfaction import methods, survey_data_from_db
from patronage.satisfaction.path_models import read_path_model
from patronage.storage.engine import make_engine
from test_engines_drivers import assert_same

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def demo(demo_company):
    engine = make_engine(demo_company[0])
    yield demo_company[0], engine
    engine.dispose()


def _in_sql(engine, compute, **options) -> pd.DataFrame:
    with DatabaseEngine(engine) as database:
        return compute(database, **options)


@pytest.mark.parametrize("options", [
    {}, {"method": "shapley"}, {"level": "item"},
    {"include_flagged": True, "target": "nps",
     "predictors": ["overall_satisfaction", "repurchase_intent"]},
])
def test_database_drivers_in_sql_equal_the_in_process_fit(demo, options):
    engine = demo[1]
    flagged = options.pop("include_flagged", False)
    ours = _in_sql(engine, survey_models.drivers_table, include_flagged=flagged, **options)
    data = survey_data_from_db(engine, include_flagged=flagged)
    assert_same(ours.reset_index(), methods.drivers_table(data, n_boot=0, **options)
                .reset_index())


@pytest.mark.parametrize("show", ["paths", "loadings", "scores"])
def test_database_pls_in_sql_equals_the_in_process_fit(demo, show):
    engine = demo[1]
    ours = _in_sql(engine, survey_models.pls_table, show=show)
    theirs = methods.pls_table(survey_data_from_db(engine), show=show, n_boot=0)
    assert_same(ours.reset_index(), theirs.reset_index())


@pytest.mark.parametrize("missing", ["listwise", "mean"])
def test_database_pls_of_a_model_file_in_sql_equals_the_in_process_fit(demo, tmp_path,
                                                                        missing):
    engine = demo[1]
    path = tmp_path / "model.yaml"
    path.write_text(
        "constructs:\n  SAT: [overall_satisfaction, trust]\n"
        "  LOY: {indicators: [repurchase_intent, nps], mode: B}\n"
        f"paths:\n  LOY: [SAT]\nscheme: factorial\nmissing: {missing}\n", encoding="utf-8")
    model = read_path_model(path)
    data = survey_data_from_db(engine, include_flagged=True)
    for show in ("paths", "scores"):
        ours = _in_sql(engine, survey_models.pls_table, show=show, model=model,
                       include_flagged=True)
        theirs = methods.pls_table(data, show=show, n_boot=0, model=model)
        assert_same(ours.reset_index(), theirs.reset_index())


def _command(*args: str) -> pd.DataFrame:
    result = CliRunner().invoke(main, ["analyze", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return pd.DataFrame(data["rows"] if isinstance(data, dict) else data)


@pytest.mark.parametrize("command", [["drivers"], ["pls", "--show", "scores"]])
def test_the_command_without_intervals_runs_in_sql_with_the_estimates_of_the_bootstrap_run(
        demo, command, monkeypatch):
    url = demo[0]
    with_intervals = _command(*command, "--db", url, "--bootstrap", "5")
    calls = []
    original = getattr(survey_models, f"{command[0]}_table")
    monkeypatch.setattr(survey_models, f"{command[0]}_table",
                        lambda engine, **options: calls.append(engine.name)
                        or original(engine, **options))
    in_sql = _command(*command, "--db", url, "--bootstrap", "0")
    assert calls == ["database"]
    # The same estimates; the intervals' columns are empty without resamples.
    estimates = [c for c in in_sql.columns if in_sql[c].notna().any()]
    assert set(estimates) <= set(with_intervals.columns)
    assert_same(in_sql[estimates], with_intervals[estimates])
    if command[0] == "drivers":
        assert with_intervals.drop(columns=estimates).notna().any().any()
    assert _command(*command, "--db", url, "--bootstrap", "5").equals(with_intervals)
    assert calls == ["database"]  # intervals are computed in process


def test_the_temp_tables_leave_a_table_of_the_same_name_alone(engine):
    from sqlalchemy import text

    from conftest import seed_panel

    seed_panel(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kept (note VARCHAR(20))"))
        conn.execute(text("INSERT INTO kept VALUES ('mine')"))
    with DatabaseEngine(engine) as database:
        survey_models.kept_responses(database, None, False, None)
        survey_models.kept_responses(database, None, False, None)  # replaced, not duplicated
        assert database.rows("SELECT COUNT(*) FROM kept")[0][0] == 60
    with engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM kept")).scalars().all() == ["mine"]
