"""Where ``--scores-out`` writes the per-customer scores (issue 16: "written back as a table").

* a path (it has a ``/`` or ends ``.parquet``): a Parquet file (DuckDB, the database engine)
  or a folder of part files (Spark), never over an existing one;
* a plain name (``clv_scores``): a table of the engine's own store, replaced on every run: for
  the database engine a table of the operational database, for Spark a table of its catalog
  (``saveAsTable``: the Hive metastore of a cluster, else ``spark-warehouse/``);
* ``FILE.duckdb:TABLE`` (DuckDB engine): a table in a DuckDB database file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ScoresTarget", "check_table_name", "scores_target", "write_relation"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def check_table_name(name: str) -> str:
    """``name`` when it is a plain SQL identifier (letters, digits, _; at most 63); else a
    ``ValueError`` saying what to give."""
    if not _NAME.fullmatch(name or ""):
        raise ValueError(f"--scores-out {name!r} is neither a Parquet file (a path with / or a "
                         "name ending .parquet) nor a table name (letters, digits and _, not "
                         "starting with a digit, at most 63 characters)")
    return name


@dataclass(frozen=True)
class ScoresTarget:
    """A Parquet ``path``, or a ``table`` (in the DuckDB file ``database`` when set)."""

    path: Path | None = None
    table: str | None = None
    database: Path | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return str(self.path)
        if self.database is not None:
            return f"the table {self.table} of {self.database}"
        return f"the table {self.table}"


def _parquet(path: Path, engine_name: str) -> ScoresTarget:
    if engine_name == "spark" and path.exists():
        raise ValueError(f"{path} already exists: Spark writes its scores as a folder of that "
                         "name; give a new name")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise ValueError(f"{path} is a folder: give a file name such as scores.parquet")
    return ScoresTarget(path=path)


def scores_target(value, engine_name: str) -> ScoresTarget:
    """What ``--scores-out value`` means for the engine ``engine_name`` (see the module)."""
    if isinstance(value, Path):
        return _parquet(value, engine_name)
    text = str(value).strip()
    file, colon, table = text.rpartition(":")
    if colon and file.endswith(".duckdb"):
        if engine_name != "duckdb":
            raise ValueError(f"--scores-out {text}: a DuckDB file is for --engine duckdb; "
                             "give a .parquet file or a table name")
        database = Path(file)
        if not database.parent.is_dir():
            raise ValueError(f"cannot write {database}: the folder {database.parent} does not "
                             "exist")
        return ScoresTarget(table=check_table_name(table), database=database)
    if "/" in text or "\\" in text or text.lower().endswith(".parquet"):
        return _parquet(Path(text), engine_name)
    if engine_name == "duckdb":
        raise ValueError(f"--scores-out {text}: the duckdb engine writes a table into a DuckDB "
                         f"file: give FILE.duckdb:{text}, or a .parquet file")
    return ScoresTarget(table=check_table_name(text))


def write_relation(engine, relation, target: ScoresTarget) -> None:
    """A DuckDB relation or a Spark DataFrame of scores to ``target``."""
    if engine.name == "spark":
        if target.path is not None:
            relation.write.mode("errorifexists").parquet(str(target.path))
        else:
            writer = relation.write.mode("overwrite")
            session = relation.sparkSession
            if session.conf.get("spark.sql.catalogImplementation", "in-memory") == "in-memory":
                # No metastore: the catalog forgets the table with the session and a managed
                # table could not be made again over its files; an external table at the
                # warehouse's place for it is replaced by the next session's run.
                warehouse = session.conf.get("spark.sql.warehouse.dir").rstrip("/")
                writer = writer.option("path", f"{warehouse}/{target.table}")
            writer.saveAsTable(target.table)
        return
    if target.path is not None:
        relation.write_parquet(str(target.path))
        return
    conn = engine.conn
    escaped = str(target.database).replace("'", "''")
    relation.create_view("scores_out", replace=True)
    conn.execute(f"ATTACH '{escaped}' AS scores_file")
    try:
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f'CREATE OR REPLACE TABLE scores_file."{target.table}" AS '
                     "SELECT * FROM scores_out")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("DETACH scores_file")
