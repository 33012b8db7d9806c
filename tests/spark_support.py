"""What the Spark tests share: they need ``pyspark`` and Java; without them the module is
skipped with the reason, and ``PATRONAGE_REQUIRE_SPARK=1`` (set by ``.ci/run``) turns the skip
into a failure, so CI cannot pass by skipping them."""

from __future__ import annotations

import importlib.util
import os
import shutil

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
