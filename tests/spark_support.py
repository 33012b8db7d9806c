"""What the Spark tests share: they need ``pyspark`` and Java; without them the module is
skipped with the reason, and ``PATRONAGE_REQUIRE_SPARK=1`` (set by ``.ci/run``) turns the skip
into a failure, so CI cannot pass by skipping them. One local Spark session serves every Spark
test of a test process (:func:`shared_spark`, the ``spark`` fixture of ``conftest``): starting
a session costs seconds, so the modules no longer start their own."""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import tempfile

import pytest


def require_spark() -> None:
    """Skip (or fail, under PATRONAGE_REQUIRE_SPARK=1) the calling module without Spark."""
    if importlib.util.find_spec("pyspark") is None:
        reason = "pyspark is not installed: pip install -e '.[test,spark]'"
    elif shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        reason = "Spark needs Java 17 or later: apt-get install openjdk-17-jre-headless"
    else:
        return
    if os.environ.get("PATRONAGE_REQUIRE_SPARK") == "1":
        pytest.fail(f"PATRONAGE_REQUIRE_SPARK=1 but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


_warehouses: list[str] = []


def shared_spark():
    """The test process's local[1] Spark session (two shuffle partitions, its warehouse in a
    temporary folder), started on first use and again after a test stopped it (the cluster
    test needs none running); stopped when the process exits."""
    from pyspark.sql import SparkSession

    from patronage.engines.spark_cluster import spark_session

    session = SparkSession.getActiveSession()
    if session is None:
        first = not _warehouses
        _warehouses.append(tempfile.mkdtemp(prefix="spark-warehouse-"))
        session = spark_session("local[1]", {"spark.sql.shuffle.partitions": "2",
                                             "spark.sql.warehouse.dir": _warehouses[-1]})
        if first:  # after pyspark's own exit handler, so it runs before it
            atexit.register(_stop_shared)
    return session


def stop_running_spark() -> None:
    """Stop the Spark session running in this process, if any (the next
    :func:`shared_spark` starts another)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def _stop_shared() -> None:
    stop_running_spark()
    for folder in _warehouses:
        shutil.rmtree(folder, ignore_errors=True)
