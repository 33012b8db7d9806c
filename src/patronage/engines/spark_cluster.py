"""Spark sessions, and a Spark standalone cluster on this machine (issue 16).

:func:`spark_session` builds the session the Spark engine runs in: ``local[N]`` threads in this
process, or the master of a cluster (``spark://host:7077``), from ``--spark-master`` or the
``PATRONAGE_SPARK_MASTER`` setting. :class:`LocalCluster` starts a standalone master and workers
as child processes with the launcher shipped in the ``pyspark`` package (``bin/spark-class``;
the wheel has no ``sbin/start-master.sh``), for the tests and the benchmark to exercise the
cluster path; it stops every process it started.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

__all__ = ["LocalCluster", "spark_session", "validate_master"]


def validate_master(master: str) -> str:
    """``master`` when Spark can use it (local, local[N], local[*], spark://host:port, yarn,
    k8s://...); else a ``ValueError`` saying what to give."""
    value = (master or "").strip()
    if value in ("local", "yarn") or value.startswith(("spark://", "k8s://")):
        return value
    if value.startswith("local[") and value.endswith("]"):
        inner = value[6:-1]
        if inner == "*" or (inner.isdigit() and int(inner) > 0):
            return value
    raise ValueError(f"--spark-master {master!r} is not a Spark master: give local[2] (threads "
                     "in this process) or spark://HOST:7077 (a standalone cluster)")


def spark_session(master: str | None = None, config: dict[str, str] | None = None):
    """A Spark session on ``master`` (default: the ``spark_master`` setting). On a cluster the
    executors run this interpreter's Python (``spark.pyspark.python``), so its machines need
    the same Python and packages at the same path, and they read the Parquet folder by the same
    path (a shared file system, HDFS or object store)."""
    from pyspark.sql import SparkSession

    if master is None:
        from patronage.settings import Settings

        master = Settings().spark_master
    builder = (SparkSession.builder.master(validate_master(master))
               .appName("patronage")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.pyspark.python", sys.executable))
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spark_class() -> Path:
    """The ``spark-class`` launcher of the installed ``pyspark`` package."""
    import pyspark

    path = Path(pyspark.__file__).parent / "bin" / "spark-class"
    if not path.is_file():
        raise RuntimeError(f"pyspark has no launcher at {path}: reinstall pyspark")
    return path


class LocalCluster:
    """A Spark standalone master and ``workers`` workers on 127.0.0.1 (free ports, ``cores``
    cores and ``memory`` each), as child processes; ``with LocalCluster(2) as cluster:``
    gives ``cluster.master`` (``spark://127.0.0.1:PORT``) and stops them all on exit."""

    def __init__(self, workers: int = 2, *, cores: int = 1, memory: str = "1g",
                 timeout: float = 90.0):
        self.workers, self.cores, self.memory, self.timeout = workers, cores, memory, timeout
        self.processes: list[subprocess.Popen] = []
        self.master = ""
        self._folder: Path | None = None
        self._ui_port = 0

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        assert self._folder is not None
        env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(self._folder),
               "SPARK_WORKER_DIR": str(self._folder / "work"), "SPARK_NO_DAEMONIZE": "1"}
        env.pop("SPARK_HOME", None)  # the launcher finds the one of the pyspark package
        log = open(self._folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([str(spark_class()), *args], stdout=log,
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        self.processes.append(process)
        return process

    def _alive_workers(self, ui_port: int) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as page:
                return int(json.load(page).get("aliveworkers", 0))
        except (OSError, ValueError):
            return -1

    def start(self) -> "LocalCluster":
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise RuntimeError("Spark needs Java 17 or later: apt-get install openjdk-17-jre")
        self._folder = Path(tempfile.mkdtemp(prefix="patronage-spark-"))
        port, ui_port = _free_port(), _free_port()
        self._ui_port = ui_port
        self.master = f"spark://127.0.0.1:{port}"
        try:
            self._start("master", "org.apache.spark.deploy.master.Master", "--host",
                        "127.0.0.1", "--port", str(port), "--webui-port", str(ui_port))
            for number in range(self.workers):
                self._start(f"worker-{number}", "org.apache.spark.deploy.worker.Worker",
                            self.master, "--host", "127.0.0.1", "--cores", str(self.cores),
                            "--memory", self.memory, "--webui-port", str(_free_port()),
                            "--work-dir", str(self._folder / f"work-{number}"))
            deadline = time.monotonic() + self.timeout
            while self._alive_workers(ui_port) < self.workers:
                dead = [p for p in self.processes if p.poll() is not None]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(f"the Spark cluster did not start: {self.log_tail()}")
                time.sleep(0.5)
        except BaseException:
            self.stop()
            raise
        return self

    def applications(self) -> list[dict]:
        """The applications the master has run or runs (its JSON status page)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self._ui_port}/json/",
                                    timeout=5) as page:
            status = json.load(page)
        return [*status.get("completedapps", []), *status.get("activeapps", [])]

    def executors_per_worker(self) -> list[int]:
        """How many executors each worker has started (its work folder holds one per
        application and executor)."""
        assert self._folder is not None
        return [sum(1 for app in (self._folder / f"work-{n}").glob("app-*")
                    for _ in app.iterdir()) if (self._folder / f"work-{n}").is_dir() else 0
                for n in range(self.workers)]

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of each process's log (to explain a failure)."""
        if self._folder is None:
            return ""
        out = []
        for log in sorted(self._folder.glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> None:
        """Stop the workers, then the master (SIGTERM, SIGKILL after 20 s); remove the logs."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
