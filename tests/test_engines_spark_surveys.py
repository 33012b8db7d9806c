"""Issue 16: Spark over the demo company's export gives DuckDB's (and so the database's) survey
and cohort analyses: NPS, CSI, key drivers and the PLS path model, acquisition cohorts and the
whale curve, in the SQL both engines share; the counts exactly, the figures to 1e-8 relative;
the key drivers' and the path model's Poisson-bootstrap intervals too, Spark drawing numpy's
Poisson counts (test_engine_bootstrap.py).
The process's one local Spark session. Skipped without pyspark and Java, failed instead under
``PATRONAGE_REQUIRE_SPARK=1`` (see spark_support)."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from spark_support import require_spark, shared_spark

require_spark()

from patronage.cli import main  # noqa: E402
from patronage.engines import cohorts, survey_models, surveys  # noqa: E402
from patronage.engines.duckdb import DuckDBEngine  # noqa: E402
from patronage.engines.spark import SparkEngine  # noqa: E402
from patronage.satisfaction.path_models import parse_path_model  # noqa: E402

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.spark,
              pytest.mark.filterwarnings("ignore::FutureWarning"),  # pyspark on pandas 3
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def engines(demo_company, tmp_path_factory):
    """DuckDB and Spark (the process's one local session) on the demo company's export."""
    folder = tmp_path_factory.mktemp("export") / "panel"
    result = CliRunner().invoke(main, ["export", "parquet", str(folder), "--db",
                                       demo_company[0]])
    assert result.exit_code == 0, result.output
    with DuckDBEngine(folder) as duck:
        yield duck, SparkEngine(folder, session=shared_spark())


def assert_same(ours, theirs) -> None:
    if isinstance(theirs, tuple):  # the whale curve and its figures
        pd.testing.assert_frame_equal(ours[0], theirs[0], check_exact=False, rtol=1e-8)
        assert pd.Series(ours[1]).to_numpy() == pytest.approx(pd.Series(theirs[1]).to_numpy(),
                                                              rel=1e-8)
        return
    assert len(theirs) >= 1 and theirs.select_dtypes("number").notna().any().any()
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, check_dtype=False,
                                  rtol=1e-8, atol=1e-12)


MODEL = parse_path_model({"constructs": {"SAT": ["overall_satisfaction", "trust"],
                                         "LOY": {"indicators": ["repurchase_intent", "nps"],
                                                 "mode": "B"}},
                          "paths": {"LOY": ["SAT"]}, "missing": "mean"})


@pytest.mark.parametrize("compute, options", [
    (surveys.nps_table, {}), (surveys.nps_table, {"by": "region", "include_flagged": True}),
    (surveys.nps_table, {"by": "sales_channel", "survey": "relationship"}),
    (surveys.csi_table, {"by": "tier"}), (surveys.csi_table, {"by": None}),
    (survey_models.drivers_table, {}),
    (survey_models.drivers_table, {"method": "shapley", "include_flagged": True}),
    (survey_models.drivers_table, {"level": "item"}),
    (survey_models.pls_table, {"show": "loadings"}),
    (survey_models.pls_table, {"show": "scores", "model": MODEL}),
    (survey_models.drivers_table, {"n_boot": 20, "random_state": 3}),  # Poisson bootstrap
    (survey_models.pls_table, {"show": "paths", "n_boot": 20, "model": MODEL}),
    (cohorts.cohort_analysis, {}), (cohorts.cohort_analysis, {"period": "M", "curve": True}),
    (cohorts.cohort_analysis, {"period": "Y", "repeat": True, "repeat_days": 30}),
    (cohorts.whale_analysis, {"cost_per_case": 2000.0}),
], ids=lambda value: getattr(value, "__name__", None))
def test_spark_equals_duckdb(engines, compute, options):
    duck, spark = engines
    assert_same(compute(spark, **options), compute(duck, **options))


@pytest.mark.parametrize("seed", [0, 12345])
def test_spark_draws_the_numpy_poisson_counts(engines, seed):
    from test_engine_bootstrap import IDS, _engine_counts

    from patronage.analytics.poisson_bootstrap import poisson_counts

    assert (_engine_counts(engines[1], seed) == poisson_counts(IDS, range(1, 31), seed)).all()


def test_spark_explains_bad_input_as_duckdb_does(engines):
    duck, spark = engines
    for options in ({"survey": "employee-2026"}, {"survey": "nosuch"}, {"by": "touchpoints"}):
        with pytest.raises(ValueError) as ours:
            surveys.nps_table(spark, **options)
        with pytest.raises(ValueError) as theirs:
            surveys.nps_table(duck, **options)
        assert str(ours.value) == str(theirs.value)
