"""Issue 16: Apache Spark over the exported Parquet files gives DuckDB's (and so the database's)
results: the customer summary, the value models' statistics and the RFM scores exactly, the
per-customer P(alive), expected purchases and CLV to 1e-8. Skipped without pyspark and Java
(``pip install 'patronage[spark]'``)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

pyspark = pytest.importorskip("pyspark")

from patronage.cli import main  # noqa: E402
from patronage.engines.duckdb import DuckDBEngine  # noqa: E402
from patronage.engines.parquet import export_parquet  # noqa: E402
from patronage.engines.spark import SparkEngine  # noqa: E402
from patronage.loyalty.value_fit import fit_on_statistics  # noqa: E402
from test_engines import simulated_log, store  # noqa: E402

pytestmark = [pytest.mark.db, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::FutureWarning"),  # pyspark on pandas 3
              pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java")]


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame([r.asDict() for r in rows]).set_index("customer_id")


def test_spark_equals_duckdb_on_a_simulated_panel(engine, tmp_path):
    store(engine, simulated_log(seed=3, n_customers=300))
    folder = tmp_path / "panel"
    export_parquet(engine, folder)
    with DuckDBEngine(folder) as duck, SparkEngine(folder, master="local[1]") as spark:
        for end in (None, "2025-12-01"):
            ours, theirs = spark.customer_summary(end), duck.customer_summary(end)
            pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
            stats, expected = spark.statistics(end), duck.statistics(end)
            pd.testing.assert_frame_equal(stats.purchases, expected.purchases, check_exact=True)
            pd.testing.assert_frame_equal(stats.spend, expected.spend, check_exact=True)
            assert (stats.first_purchase, stats.observation_end) == (
                expected.first_purchase, expected.observation_end)
            purchases, spend = fit_on_statistics(stats)
            scores = _frame(spark.value_scores(purchases, spend, margin=0.4,
                                               observation_end=end).collect())
            wanted = duck.value_scores(purchases, spend, margin=0.4,
                                       observation_end=end).df().set_index("customer_id")
            pd.testing.assert_frame_equal(scores, wanted, check_exact=False, rtol=1e-8)
            rfm = _frame(spark.rfm_scores(end).collect())
            pd.testing.assert_frame_equal(rfm, duck.rfm_scores(end).df().set_index("customer_id"),
                                          check_exact=True, check_dtype=False)
        pd.testing.assert_frame_equal(spark.profiles(), duck.profiles(), check_dtype=False)
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
    assert again.exit_code != 0 and "is a directory" in again.output  # never overwritten
