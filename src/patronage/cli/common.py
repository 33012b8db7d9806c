"""What every command group shares: the database option, settings and engine for a command,
the schema check, turning bad input into a message, and printing a result in a format."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click

from patronage.settings import Settings

FORMATS = ("table", "json", "csv")


class Root(click.Group):
    """The ``patronage`` group: an invalid ``PATRONAGE_*`` setting, met by any command,
    is a message naming the variable, never a traceback."""

    def invoke(self, ctx: click.Context):
        from pydantic import ValidationError

        from patronage.settings import explain

        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            raise click.ClickException(explain(exc)) from None


def settings_for(db: str | None) -> Settings:
    if db is None:
        return Settings()
    url = db if "://" in db else f"sqlite:///{Path(db).expanduser()}"
    return Settings(database_url=url)


def engine_for(settings: Settings):
    """One engine per database for the running command, disposed when the command ends."""
    from patronage.storage import make_engine

    ctx = click.get_current_context()
    engines = ctx.find_root().meta.setdefault("patronage.engines", {})
    if settings.database_url not in engines:
        engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        engines[settings.database_url] = engine
        ctx.find_root().call_on_close(engine.dispose)
    return engines[settings.database_url]


db_option = click.option(
    "--db", "db", default=None, metavar="PATH|URL",
    help="SQLite file or database URL (default: PATRONAGE_DATABASE_URL or ./patronage.db).",
)


def require_current_schema(settings: Settings) -> None:
    from patronage.storage import pending

    if pending(engine_for(settings)):
        raise click.ClickException(
            "The database schema is out of date (migrations are pending). "
            "Run `patronage db upgrade` first, then run this command again."
        )


def ready_engine(db: str | None):
    """The engine of ``--db`` (or the configured database), after checking its schema is current."""
    settings = settings_for(db)
    require_current_schema(settings)
    return engine_for(settings)


def guard(compute):
    """Run ``compute``; a ValueError (bad input) becomes a clear message, not a traceback."""
    try:
        return compute()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def emit(result, fmt: str) -> None:
    """Print ``result`` in ``fmt``. A result that carries notes (``attrs["notes"]``: the fitted
    parameters, units, rows left out) prints them on stderr next to a table or CSV; in JSON they
    come as data (``attrs["about"]``) around the rows: ``{..., "rows": [...]}``."""
    from patronage.reporting.render import render

    attrs = getattr(result, "attrs", {}) or {}
    if fmt != "json":
        for line in attrs.get("notes") or ():
            click.echo(line, err=True)
    click.echo(render(result, fmt, about=attrs.get("about") if fmt == "json" else None))


def format_option(func):
    """``--format table|json|csv``, passed to the command as ``fmt``."""
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                        show_default=True, help="Output format.")(func)


def run_worker(db: str | None, loop: bool, interval: int) -> None:
    """The worker loop of ``patronage work`` (and its old name ``survey work``)."""
    from patronage.work import work_once

    settings = settings_for(db)
    require_current_schema(settings)
    engine = engine_for(settings)
    while True:
        done = guard(lambda: work_once(engine, settings))
        click.echo(f"{datetime.now():%H:%M:%S} " + ", ".join(f"{k} {v}" for k, v in done.items()))
        if not loop:
            return
        time.sleep(max(interval, 1))


#: Where ``--spark-master`` is kept for the running command (see :func:`open_analysis_engine`).
_SPARK_MASTER = "patronage.spark_master"


def _keep_master(ctx: click.Context, _param, value):
    ctx.meta[_SPARK_MASTER] = value
    return value


def engine_options(func):
    """``--engine``, ``--source`` and ``--spark-master`` of the analyses that run on DuckDB or
    Spark over exported Parquet (the master is read by :func:`open_analysis_engine`)."""
    from patronage.engines import ENGINES

    func = click.option("--spark-master", default=None, metavar="URL", expose_value=False,
                        callback=_keep_master,
                        help="With --engine spark: local[N] or a cluster's master, "
                             "spark://HOST:7077 (default: PATRONAGE_SPARK_MASTER, "
                             "local[2]).")(func)
    func = click.option("--source", default=None, metavar="parquet:DIR",
                        help="With --engine duckdb|spark: a folder written by `patronage export "
                             "parquet DIR`, as parquet:DIR.")(func)
    return click.option("--engine", "engine_name", type=click.Choice(ENGINES),
                        default="database", show_default=True,
                        help="Where the statistics are computed: the database of --db, or "
                             "DuckDB or Spark (pip install 'patronage[spark]') over exported "
                             "Parquet files (--source).")(func)


def open_analysis_engine(engine_name: str, source: str | None, db: str | None = None):
    """The analysis engine of the running command: the database of ``db`` (schema checked),
    or DuckDB or Spark reading ``source`` (Spark at the command's ``--spark-master``)."""
    from patronage.engines import open_engine

    master = click.get_current_context().meta.get(_SPARK_MASTER)
    database = ready_engine(db) if engine_name == "database" else None
    return guard(lambda: open_engine(engine_name, source, database, spark_master=master))
