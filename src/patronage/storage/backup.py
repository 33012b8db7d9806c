"""Backups of a running database (reliability.md F4).

SQLite: ``VACUUM INTO`` writes a consistent, compacted copy from one read transaction, so it is
safe while the server writes (WAL mode lets writers go on); a plain file copy is not, because
recent commits may still sit in the ``-wal`` file (https://sqlite.org/howtocorrupt.html §1.2).
PostgreSQL has its own tool, ``pg_dump``, which takes a consistent snapshot too.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from patronage.storage.engine import create_private_file


def backup(engine: Engine, target: str | Path) -> Path:
    """Write a consistent copy of the SQLite database of ``engine`` to ``target``; returns it.

    Refuses to overwrite a file. On PostgreSQL raises ``ValueError`` naming ``pg_dump``.
    """
    target = Path(target)
    if engine.dialect.name != "sqlite":
        url = engine.url
        raise ValueError(
            f"back up PostgreSQL with its own tool: pg_dump --format=custom --file "
            f"{target} --host {url.host or 'localhost'} --username {url.username or 'postgres'} "
            f"{url.database}; restore with pg_restore")
    if engine.url.database in (None, "", ":memory:"):
        raise ValueError("an in-memory database cannot be backed up")
    if target.exists():
        raise ValueError(f"{target} exists already; choose a new file name")
    if not target.parent.is_dir():
        raise ValueError(f"folder {target.parent} does not exist")
    create_private_file(target)  # 0600; VACUUM INTO fills an empty file
    raw = engine.raw_connection()  # autocommit: VACUUM cannot run inside a transaction
    try:
        raw.driver_connection.execute("VACUUM INTO ?", (str(target),))
    finally:
        raw.close()
    return target


def check_backup(path: str | Path) -> str:
    """SQLite's ``PRAGMA integrity_check`` of a backup file: ``"ok"`` when it is sound."""
    import sqlite3

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


__all__ = ["backup", "check_backup"]
