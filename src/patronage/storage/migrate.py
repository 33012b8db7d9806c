"""Schema migrations: upgrade, and tell whether any are pending."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("patronage.storage") / "migrations"))
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this version of Patronage."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def pending(engine: Engine) -> bool:
    """True when the database is behind the shipped migrations."""
    return current_revision(engine) != head_revision()


def _run(engine: Engine, step) -> None:
    """Run a migration step in one transaction.

    On SQLite, foreign keys are switched off for the duration: Alembic rebuilds a table to alter
    it, and dropping the old copy with foreign keys on would cascade deletes into the tables that
    refer to it. The foreign keys are checked before the transaction commits.
    """
    cfg = _config()
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # outside any transaction, where SQLite honours the pragma
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Bring the database to ``revision`` (default: the newest). Returns the revision reached."""
    _run(engine, lambda cfg: command.upgrade(cfg, revision))
    return current_revision(engine) or ""


def downgrade(engine: Engine, revision: str) -> str:
    """Take the database back to ``revision`` (undoing later migrations)."""
    _run(engine, lambda cfg: command.downgrade(cfg, revision))
    return current_revision(engine) or ""


def autogenerate(engine: Engine, message: str) -> None:  # pragma: no cover - developer tool
    """Write a new migration from the difference between the schema module and the database."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)
