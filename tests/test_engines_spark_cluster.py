"""Issue 16: the cluster path. A Spark standalone master and two workers (one core each) are
started on 127.0.0.1 with the launcher shipped in ``pyspark`` (:class:`LocalCluster`);
``analyze clv --engine spark --spark-master spark://...`` runs on them (the master lists the
finished application and its executors) and prints what local mode prints, and writes the same
scores; the cluster's processes are stopped afterwards (no JVM left behind). Skipped without
pyspark and Java, a failure under ``PATRONAGE_REQUIRE_SPARK=1`` (CI)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from spark_support import require_spark, stop_running_spark

require_spark()

from patronage.cli import main  # noqa: E402
from patronage.engines.parquet import export_parquet  # noqa: E402
from patronage.engines.spark_cluster import LocalCluster  # noqa: E402
from test_engines import simulated_log, store  # noqa: E402

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.spark,
              pytest.mark.filterwarnings("ignore::FutureWarning")]  # pyspark on pandas 3


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _clv(folder, master: str, out) -> dict:
    result = CliRunner().invoke(main, ["analyze", "clv", "--engine", "spark", "--source",
                                       f"parquet:{folder}", "--spark-master", master,
                                       "--scores-out", str(out), "--top", "0",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_clv_on_a_standalone_cluster_of_two_workers_equals_local_mode(engine, tmp_path,
                                                                       monkeypatch):
    from pyspark.sql import SparkSession

    stop_running_spark()  # the other Spark tests' session, which the command would reuse
    assert SparkSession.getActiveSession() is None
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # the driver, for the executors
    store(engine, simulated_log(seed=3, n_customers=300))
    folder = tmp_path / "panel"
    export_parquet(engine, folder)
    local = _clv(folder, "local[1]", tmp_path / "local.parquet")
    cluster = LocalCluster(workers=2, cores=1, memory="1g")
    try:
        cluster.start()
        pids = cluster.pids()
        assert len(pids) == 3 and all(_alive(pid) for pid in pids)
        remote = _clv(folder, cluster.master, tmp_path / "cluster.parquet")
        apps = cluster.applications()
        assert [app["name"] for app in apps] == ["patronage"], cluster.log_tail()
        # Both workers ran an executor of the command.
        assert cluster.executors_per_worker() == [1, 1], cluster.log_tail()
    finally:
        cluster.stop()
    assert not any(_alive(pid) for pid in pids)
    assert remote["purchase_model"]["params"] == local["purchase_model"]["params"]
    pd.testing.assert_frame_equal(pd.DataFrame(remote["rows"]), pd.DataFrame(local["rows"]),
                                  rtol=1e-12)
    ours, theirs = (pd.read_parquet(tmp_path / name).sort_values("customer_id")
                    .reset_index(drop=True) for name in ("cluster.parquet", "local.parquet"))
    assert len(ours) == 300
    assert (ours["customer_id"] == theirs["customer_id"]).all()
    np.testing.assert_allclose(ours[["p_alive", "expected_purchases_90d", "clv"]],
                               theirs[["p_alive", "expected_purchases_90d", "clv"]], rtol=1e-12)


def test_a_cluster_that_cannot_start_says_why():
    cluster = LocalCluster(workers=1, memory="1x", timeout=60)  # not a memory size
    with pytest.raises(RuntimeError, match="did not start"):
        cluster.start()
    assert cluster.processes == []
