"""Issue 16: Apache Spark over the exported Parquet files gives DuckDB's (and so the database's)
results: the customer summary, the value models' statistics and the RFM scores exactly, the
per-customer P(alive), expected purchases and CLV to 1e-8; the scores written back as a Spark
table. Against the database too, on a simulated panel and on the CDNOW log (as
``test_engines`` checks DuckDB), with the acquisition cohorts and the whale curve of the
in-database analyses. The process's one local[1] session (the ``spark`` fixture). Skipped without pyspark and Java
(``pip install 'patronage[spark]'``), a failure under ``PATRONAGE_REQUIRE_SPARK=1`` (CI)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from spark_support import require_spark

require_spark()

from patronage.cli import main  # noqa: E402
from patronage.engines.duckdb import DuckDBEngine  # noqa: E402
from patronage.engines.parquet import export_parquet  # noqa: E402
from patronage.engines.spark import SparkEngine  # noqa: E402
from patronage.engines.spark_cluster import validate_master  # noqa: E402
from patronage.loyalty.value_fit import fit_on_statistics  # noqa: E402
from patronage.engines.cohorts import cohort_analysis, whale_analysis  # noqa: E402
from patronage.loyalty import whale_table  # noqa: E402
from patronage.loyalty.retention import cohorts_table  # noqa: E402
from test_engines import (  # noqa: E402
    cdnow_log, check_engines_agree, simulated_log, store,
)

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.spark,
              pytest.mark.filterwarnings("ignore::FutureWarning")]  # pyspark on pandas 3


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame([r.asDict() for r in rows]).set_index("customer_id")


def test_spark_equals_duckdb_on_a_simulated_panel(spark, engine, tmp_path):
    store(engine, simulated_log(seed=3, n_customers=300))
    folder = tmp_path / "panel"
    export_parquet(engine, folder)
    with DuckDBEngine(folder) as duck, SparkEngine(folder, session=spark) as ours_engine:
        for end in (None, "2025-12-01"):
            ours, theirs = ours_engine.customer_summary(end), duck.customer_summary(end)
            pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
            stats, expected = ours_engine.statistics(end), duck.statistics(end)
            pd.testing.assert_frame_equal(stats.purchases, expected.purchases, check_exact=True)
            pd.testing.assert_frame_equal(stats.spend, expected.spend, check_exact=True)
            assert (stats.first_purchase, stats.observation_end) == (
                expected.first_purchase, expected.observation_end)
            purchases, spend = fit_on_statistics(stats)
            scores = _frame(ours_engine.value_scores(purchases, spend, margin=0.4,
                                               observation_end=end).collect())
            wanted = duck.value_scores(purchases, spend, margin=0.4,
                                       observation_end=end).df().set_index("customer_id")
            pd.testing.assert_frame_equal(scores, wanted, check_exact=False, rtol=1e-8)
            rfm = _frame(ours_engine.rfm_scores(end).collect())
            pd.testing.assert_frame_equal(rfm, duck.rfm_scores(end).df().set_index("customer_id"),
                                          check_exact=True, check_dtype=False)
        pd.testing.assert_frame_equal(ours_engine.profiles(), duck.profiles(), check_dtype=False)
    # The command: Spark writes its scores as a folder of part files.
    out = tmp_path / "rfm.parquet"
    result = CliRunner().invoke(main, ["analyze", "rfm", "--engine", "spark", "--source",
                                       f"parquet:{folder}", "--scores-out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(out).sort_values("customer_id").set_index("customer_id")
    with DuckDBEngine(folder) as duck:
        expected = duck.rfm_scores().df().set_index("customer_id")
    assert np.array_equal(written["rfm_code"].to_numpy(), expected["rfm_code"].to_numpy())
    again = CliRunner().invoke(main, ["analyze", "rfm", "--engine", "spark", "--source",
                                      f"parquet:{folder}", "--scores-out", str(out)])
    assert again.exit_code != 0 and "already exists" in again.output  # never overwritten


def test_scores_written_back_as_a_spark_table(spark, engine, tmp_path):
    store(engine, simulated_log(seed=3, n_customers=300))
    folder = tmp_path / "panel"
    export_parquet(engine, folder)
    source = ["--engine", "spark", "--source", f"parquet:{folder}"]
    for _ in range(2):  # the second run replaces the table
        result = CliRunner().invoke(main, ["analyze", "clv", *source, "--scores-out",
                                           "clv_scores"])
        assert result.exit_code == 0, result.output
    written = pd.DataFrame([r.asDict() for r in spark.table("clv_scores").collect()])
    written = written.sort_values("customer_id").reset_index(drop=True)
    with DuckDBEngine(folder) as duck:
        expected = duck.value_scores(*fit_on_statistics(duck.statistics()), margin=1.0).df()
    assert len(written) == len(expected) == 300
    assert list(written.columns) == ["customer_id", "p_alive", "expected_purchases_90d", "clv"]
    np.testing.assert_allclose(written["p_alive"], expected["p_alive"], rtol=1e-8)
    np.testing.assert_allclose(written["expected_purchases_90d"],
                               expected["expected_purchases_90d"], rtol=1e-8)
    assert spark.sparkContext.master == "local[1]"  # the command used the running session


def test_a_bad_spark_master_gets_a_message():
    for good in ("local[2]", "local[*]", "spark://10.0.0.5:7077", "yarn"):
        assert validate_master(good) == good
    result = CliRunner().invoke(main, ["analyze", "rfm", "--engine", "spark", "--source",
                                       "parquet:x", "--spark-master", "localhost:7077"])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert "is not a Spark master" in result.output and "spark://HOST:7077" in result.output


COHORTS = ({"period": "Q"}, {"period": "M", "curve": True},
           {"period": "Y", "repeat": True, "repeat_days": 30})


def check_cohorts_and_whale_agree(engine, folder, spark) -> None:
    """Spark's cohort tables and whale curve equal the in-database analyses': the counts
    exactly, the shares and profits to 1e-8 relative."""
    with SparkEngine(folder, session=spark) as ours:
        for options in COHORTS:
            pd.testing.assert_frame_equal(cohort_analysis(ours, **options),
                                          cohorts_table(engine, **options), check_exact=False,
                                          check_dtype=False, rtol=1e-8, atol=1e-12)
        curve, figures = whale_analysis(ours, cost_per_case=2000.0)
    expected_curve, expected = whale_table(engine, cost_per_case=2000.0)
    pd.testing.assert_frame_equal(curve, expected_curve, check_exact=False, rtol=1e-8)
    assert figures.keys() == expected.keys()
    for name in expected:
        assert figures[name] == pytest.approx(expected[name], rel=1e-8), name


def test_spark_equals_the_database_on_a_simulated_panel(spark, engine, tmp_path):
    store(engine, simulated_log())
    lake = lambda folder: SparkEngine(folder, session=spark)  # noqa: E731
    check_engines_agree(engine, tmp_path / "all", lake=lake)
    check_engines_agree(engine, tmp_path / "calibration", observation_end="2025-12-01",
                        lake=lake)
    check_cohorts_and_whale_agree(engine, tmp_path / "all", spark)


def test_spark_equals_the_database_on_cdnow(spark, engine, tmp_path):
    """The 23,570 customers of the CDNOW log (Fader, Hardie & Lee 2005), calibrated to the end
    of September 1997 as there."""
    store(engine, cdnow_log())
    check_engines_agree(engine, tmp_path / "cdnow", observation_end="1997-09-30",
                        lake=lambda folder: SparkEngine(folder, session=spark))
    check_cohorts_and_whale_agree(engine, tmp_path / "cdnow", spark)


def test_summary_cents_equal_the_decimal_cast(spark):
    """The summary sums BIGINT cents (``_cents``): each is the unscaled value of Spark's
    ``CAST(amount AS DECIMAL(18, 2))``, for whole cents and for the doubles between them
    (half cents, binary near-ties such as 0.285 and 1.005, large and tiny amounts)."""
    from patronage.engines.spark import _cents

    rng = np.random.default_rng(5)
    values = [0.0, -0.0, 0.01, 0.285, 0.125, -0.125, 1.005, 2.675, 19.99, -42.5, 0.1 + 0.2,
              0.004999, 0.005, 0.015, 1234567.895, 9999999999999.99, 12345678901234.5, 1e-9,
              *np.round(rng.gamma(2.0, 30.0, 300), 2), *np.round(rng.normal(0, 500, 300), 3),
              *rng.uniform(-1e6, 1e6, 300)]
    rows = spark.createDataFrame([(float(v),) for v in values], "v double").selectExpr(
        "v", f"{_cents('v')} AS cents",
        "CAST(v AS DECIMAL(18, 2)) AS money").collect()
    assert len(rows) == len(values)
    assert [r["cents"] for r in rows] == [int(r["money"].scaleb(2)) for r in rows]
