"""The ``patronage`` command: a thin shell over the library.

Each command parses its options, calls one library function and prints the result.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from patronage.settings import Settings


def _settings(db: str | None) -> Settings:
    if db is None:
        return Settings()
    url = db if "://" in db else f"sqlite:///{Path(db).expanduser()}"
    return Settings(database_url=url)


def _engine(settings: Settings):
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


@click.group()
@click.version_option(package_name="patronage")
def main() -> None:
    """Patronage: customer satisfaction and loyalty management."""


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@db_option
def db_upgrade(db: str | None) -> None:
    """Apply pending schema migrations.

    Example: patronage db upgrade --db company.db
    """
    from patronage.storage import upgrade

    settings = _settings(db)
    revision = upgrade(_engine(settings))
    click.echo(f"Database is at revision {revision}.")


@db.command("status")
@db_option
def db_status(db: str | None) -> None:
    """Show the database's migration revision and whether an upgrade is pending.

    Example: patronage db status
    """
    from patronage.storage import current_revision, head_revision

    engine = _engine(_settings(db))
    current, head = current_revision(engine), head_revision()
    click.echo(f"current: {current or 'empty database'}; newest: {head}")
    if current != head:
        click.echo("An upgrade is pending: run `patronage db upgrade`.")


@db.command("backup")
@db_option
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(db: str | None, target: Path) -> None:
    """Write a consistent copy of the SQLite database to TARGET, safe while the server runs.

    Example: patronage db backup backups/patronage-2026-11-23.db
    """
    from patronage.storage.backup import backup, check_backup

    written = _guard(lambda: backup(_engine(_settings(db)), target))
    click.echo(f"Backed up to {written} (integrity check: {check_backup(written)}).")


def _require_current_schema(settings: Settings) -> None:
    from patronage.storage import pending

    if pending(_engine(settings)):
        raise click.ClickException(
            "The database schema is out of date (migrations are pending). "
            "Run `patronage db upgrade` first, then run this command again."
        )


def _serve(settings: Settings) -> None:
    import uvicorn

    from patronage.web import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@main.command()
@db_option
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default 8000).")
def serve(db: str | None, host: str | None, port: int | None) -> None:
    """Serve the web application.

    Example: patronage serve --port 8080
    """
    settings = _settings(db)
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    _require_current_schema(settings)
    _serve(settings)


@main.command()
@click.option("--db", "db", default="patronage-demo.db", show_default=True, metavar="PATH|URL",
              help="Where to build the demo company (it is rebuilt from scratch).")
@click.option("--seed", default=2026, show_default=True, type=int, help="Random seed.")
@click.option("--no-serve", is_flag=True, help="Build the database and stop.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to serve on.")
def demo(db: str, seed: int, no_serve: bool, port: int) -> None:
    """Build a realistic demo company and serve its dashboard.

    Example: patronage demo --seed 7 --port 8080
    """
    from patronage.demo import build_demo_database

    settings = _settings(db).model_copy(update={"port": port})
    summary = build_demo_database(_engine(settings), seed=seed,
                                  progress=lambda msg: click.echo(msg, err=True))
    click.echo(summary.describe())
    if no_serve:
        return
    click.echo(f"Dashboard: http://{settings.host}:{settings.port}/  "
               f"(log in as {summary.admin_email} / {summary.admin_password})")
    _serve(settings)


@main.group("import")
def import_() -> None:
    """Import customers, transactions or survey responses from CSV or Excel."""


def _import_command(kind: str):
    @db_option
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
    @click.option("--encoding", default=None,
                  help="Override the detected text encoding (e.g. gb18030, utf-8, utf-16).")
    @click.option("--sheet", default=None, help="Worksheet to read from an Excel file.")
    @click.option("--date-order", type=click.Choice(["ymd", "dmy", "mdy"]), default=None,
                  help="How to read ambiguous dates like 05/03/2024.")
    def command(db, file, dry_run, encoding, sheet, date_order):
        from patronage.storage.importing import import_file

        settings = _settings(db)
        _require_current_schema(settings)
        report = import_file(
            _engine(settings), kind, file, dry_run=dry_run, encoding=encoding, sheet=sheet,
            date_order=date_order, max_rows=settings.import_max_rows, progress=sys.stderr.isatty(),
        )
        click.echo(report.to_text())
        if not report.ok:
            sys.exit(1)

    command.__doc__ = (
        f"Import {kind} from a CSV or XLSX file. Nothing is written unless every row is valid; "
        f"re-importing the same file adds nothing.\n\nExample: patronage import {kind} {kind}.csv --dry-run"
    )
    return command


for _kind in ("customers", "transactions", "responses"):
    import_.command(_kind)(_import_command(_kind))


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@db_option
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "analyst", "agent"]), default="analyst",
              show_default=True)
@click.password_option(help="Password (asked for when not given).")
def user_add(db: str | None, email: str, role: str, password: str) -> None:
    """Create a staff account.

    Example: patronage user add lin@example.com --role admin
    """
    from patronage.accounts import create_user

    settings = _settings(db)
    _require_current_schema(settings)
    try:
        create_user(_engine(settings), email, password, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {role} {email}.")


@main.group()
def analyze() -> None:
    """Run a satisfaction or loyalty analysis on the database or on a file."""


def _analysis_options(func):
    func = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]),
                        default="table", show_default=True, help="Output format.")(func)
    func = click.option("--include-flagged", is_flag=True,
                        help="Keep responses flagged by cleaning (left out by default).")(func)
    func = click.option("--survey", default=None,
                        help="Survey code (default: the survey with most responses).")(func)
    func = click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        default=None, help="Analyse a wide CSV/XLSX file instead of the database.")(func)
    return db_option(func)


def _survey_data(db, file, survey, include_flagged):
    from patronage.analysis import survey_data_from_csv, survey_data_from_db

    if file is not None:
        return _guard(lambda: survey_data_from_csv(file))
    settings = _settings(db)
    _require_current_schema(settings)
    return _guard(lambda: survey_data_from_db(_engine(settings), survey,
                                              include_flagged=include_flagged))


def _emit(result, fmt: str) -> None:
    from patronage.analysis import render

    click.echo(render(result, fmt))


def _by(value: str) -> str | None:
    return None if value == "none" else value


@analyze.command("nps")
@_analysis_options
@click.option("--by", default="wave", show_default=True,
              help="Group by wave, region, industry, size, channel, tier, language, or none.")
def analyze_nps(db, file, survey, include_flagged, fmt, by):
    """NPS with promoter/passive/detractor shares and a 95% interval.

    Example: patronage analyze nps --by region --format csv
    """
    from patronage.analysis.satisfaction import nps_table

    data = _survey_data(db, file, survey, include_flagged)
    _emit(_guard(lambda: nps_table(data, by=_by(by))), fmt)


@analyze.command("csi")
@_analysis_options
@click.option("--by", default="wave", show_default=True, help="Grouping column, or none.")
def analyze_csi(db, file, survey, include_flagged, fmt, by):
    """Weighted customer satisfaction index (0-100) and dimension scores.

    Example: patronage analyze csi --by tier
    """
    from patronage.analysis.satisfaction import csi_table

    data = _survey_data(db, file, survey, include_flagged)
    _emit(_guard(lambda: csi_table(data, by=_by(by))), fmt)


def _guard(compute):
    """Run ``compute``; a ValueError (bad input) becomes a clear message, not a traceback."""
    try:
        return compute()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@analyze.command("csat")
@_analysis_options
@click.option("--item", default="overall_satisfaction", show_default=True, help="Rating item.")
@click.option("--by", default="wave", show_default=True, help="Grouping column, or none.")
def analyze_csat(db, file, survey, include_flagged, fmt, item, by):
    """Mean rating and top-2-box share with 95% intervals.

    Example: patronage analyze csat --item overall_satisfaction --by region
    """
    from patronage.analysis.methods import csat_table

    data = _survey_data(db, file, survey, include_flagged)
    _emit(_guard(lambda: csat_table(data, item=item, by=_by(by))), fmt)


@analyze.command("gap")
@_analysis_options
def analyze_gap(db, file, survey, include_flagged, fmt):
    """Satisfaction ratio C = b/a and gap b − a per item asked with its expectation.

    Example: patronage analyze gap --format csv
    """
    from patronage.analysis.methods import gap_table

    _emit(_guard(lambda: gap_table(_survey_data(db, file, survey, include_flagged))), fmt)


@analyze.command("kano")
@_analysis_options
def analyze_kano(db, file, survey, include_flagged, fmt):
    """Kano categories, shares and Better / Worse coefficients per attribute.

    Example: patronage analyze kano
    """
    from patronage.analysis.methods import kano_table

    _emit(_guard(lambda: kano_table(_survey_data(db, file, survey, include_flagged))), fmt)


@analyze.command("drivers")
@_analysis_options
@click.option("--target", default="overall_satisfaction", show_default=True,
              help="The outcome item to explain.")
@click.option("--level", type=click.Choice(["dimension", "item"]), default="dimension",
              show_default=True)
@click.option("--method", type=click.Choice(["relative_weights", "shapley"]),
              default="relative_weights", show_default=True)
@click.option("--bootstrap", default=200, show_default=True, type=int,
              help="Bootstrap resamples for the intervals (0 for none).")
def analyze_drivers(db, file, survey, include_flagged, fmt, target, level, method, bootstrap):
    """Key drivers: Johnson's relative weights or Shapley regression, with intervals.

    Example: patronage analyze drivers --method shapley --bootstrap 500
    """
    from patronage.analysis.methods import drivers_table

    data = _survey_data(db, file, survey, include_flagged)
    _emit(_guard(lambda: drivers_table(data, target=target, level=level, method=method,
                                       n_boot=bootstrap)), fmt)


@analyze.command("ipa")
@_analysis_options
@click.option("--target", default="overall_satisfaction", show_default=True)
@click.option("--competitor", default=None,
              help="Also a named competitor's performance (answer codes competitor.<name>.<item>).")
def analyze_ipa(db, file, survey, include_flagged, fmt, target, competitor):
    """Importance–performance quadrants of the dimensions (derived importance).

    Example: patronage analyze ipa
    """
    from patronage.analysis.methods import ipa_table

    data = _survey_data(db, file, survey, include_flagged)
    _emit(_guard(lambda: ipa_table(data, target=target, competitor=competitor)), fmt)


@analyze.command("reliability")
@_analysis_options
def analyze_reliability(db, file, survey, include_flagged, fmt):
    """Cronbach's alpha, composite reliability, AVE and HTMT per dimension.

    Example: patronage analyze reliability
    """
    from patronage.analysis.methods import reliability_table

    _emit(_guard(lambda: reliability_table(_survey_data(db, file, survey, include_flagged))), fmt)


@analyze.command("trend")
@_analysis_options
@click.option("--item", default="nps", show_default=True, help="nps, or any rating item.")
def analyze_trend(db, file, survey, include_flagged, fmt, item):
    """The score per wave and the significance of each change (Holm-adjusted).

    Example: patronage analyze trend --item overall_satisfaction
    """
    from patronage.analysis.methods import trend_table

    _emit(_guard(lambda: trend_table(_survey_data(db, file, survey, include_flagged), item=item)),
          fmt)


@analyze.command("pls")
@_analysis_options
@click.option("--show", type=click.Choice(["paths", "loadings", "scores"]), default="paths",
              show_default=True, help="Path coefficients, outer loadings, or R² and 0–100 indices.")
@click.option("--bootstrap", default=200, show_default=True, type=int,
              help="Bootstrap resamples for the intervals.")
def analyze_pls(db, file, survey, include_flagged, fmt, show, bootstrap):
    """ACSI-style PLS path model: dimensions → satisfaction → loyalty.

    Example: patronage analyze pls --show scores
    """
    from patronage.analysis.methods import pls_table

    data = _survey_data(db, file, survey, include_flagged)
    _emit(_guard(lambda: pls_table(data, show=show, n_boot=bootstrap)), fmt)


@analyze.command("compare")
@_analysis_options
@click.option("--item", default="overall_satisfaction", show_default=True)
@click.option("--by", default="region", show_default=True, help="Grouping column.")
def analyze_compare(db, file, survey, include_flagged, fmt, item, by):
    """Compare a rating across segments: Welch t or ANOVA, rank test and effect size.

    Example: patronage analyze compare --item overall_satisfaction --by size
    """
    from patronage.analysis.methods import compare_table

    data = _survey_data(db, file, survey, include_flagged)
    _emit(_guard(lambda: compare_table(data, item=item, by=by)), fmt)


@analyze.command("crosstab")
@_analysis_options
@click.option("--rows", default="region", show_default=True)
@click.option("--columns", default="nps_group", show_default=True,
              help="An item, a segment column or nps_group (promoter/passive/detractor).")
def analyze_crosstab(db, file, survey, include_flagged, fmt, rows, columns):
    """Crosstab with row percentages, chi-square test and Cramér's V.

    Example: patronage analyze crosstab --rows industry --columns nps_group
    """
    from patronage.analysis.methods import crosstab_table

    data = _survey_data(db, file, survey, include_flagged)
    _emit(_guard(lambda: crosstab_table(data, rows=rows, columns=columns)), fmt)


@analyze.command("servqual")
@_analysis_options
@click.option("--management-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Managers' answers to the same items (CSV/XLSX): show gap 1.")
def analyze_servqual(db, file, survey, include_flagged, fmt, management_file):
    """SERVQUAL gaps (perception − expectation) per dimension and item, or gap 1 against a
    management survey of the same items.

    Example: patronage analyze servqual --survey servqual22 --management-file managers.csv
    """
    from patronage.analysis import survey_data_from_csv
    from patronage.analysis.methods import servqual_gap1_table, servqual_table

    data = _survey_data(db, file, survey, include_flagged)
    if management_file is None:
        _emit(_guard(lambda: servqual_table(data)), fmt)
        return
    managers = _guard(lambda: survey_data_from_csv(management_file))
    _emit(_guard(lambda: servqual_gap1_table(data, managers)), fmt)


@analyze.command("ces")
@_analysis_options
@click.option("--item", default="ces", show_default=True, help="The effort item.")
@click.option("--by", default="wave", show_default=True, help="Grouping column, or none.")
def analyze_ces(db, file, survey, include_flagged, fmt, item, by):
    """Customer effort score: mean effort (1–7) with its interval and the share finding it easy.

    Example: patronage analyze ces --survey ces --by channel
    """
    from patronage.analysis.methods import ces_table

    data = _survey_data(db, file, survey, include_flagged)
    _emit(_guard(lambda: ces_table(data, item=item, by=_by(by))), fmt)


@analyze.command("weights")
@db_option
@click.option("--survey", default=None, help="Survey code (default: the one with most responses).")
@click.option("--margins", "margins_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with variable, category, share (population margins).")
@click.option("--apply", "apply_", is_flag=True, help="Store the weights (else only show them).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
def analyze_weights(db, survey, margins_file, apply_, fmt):
    """Rake the survey's weights to known population margins (region, size, tier, wave ...).

    Example: patronage analyze weights --margins population.csv --apply
    """
    from patronage.analysis.weights import apply_weights, raked_weights, read_margins

    settings = _settings(db)
    _require_current_schema(settings)
    margins = _guard(lambda: read_margins(margins_file))
    table = _guard(lambda: raked_weights(_engine(settings), survey, margins))
    _emit(table, fmt)
    click.echo(f"design effect {table.attrs['design_effect']:.3f}; weights from "
               f"{table.attrs['min']:.3f} to {table.attrs['max']:.3f}", err=True)
    if apply_:
        stored = apply_weights(_engine(settings), table["new"])
        click.echo(f"Stored the weights of {stored} responses.", err=True)


@analyze.command("representativeness")
@db_option
@click.option("--survey", default=None, help="Survey code (default: the one with most responses).")
@click.option("--include-flagged", is_flag=True, help="Keep responses flagged by cleaning.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
def analyze_representativeness(db, survey, include_flagged, fmt):
    """Respondents against the customer base by industry, region and size, and NPS/CSI
    unweighted, with the stored weights and raked to the customer base (Kish design effect).

    Example: patronage analyze representativeness --survey relationship
    """
    from patronage.analysis.weights import (composition_table, customer_base_margins,
                                            weighting_effect)

    data = _survey_data(db, None, survey, include_flagged)
    margins = customer_base_margins(_engine(_settings(db)))
    _emit(_guard(lambda: composition_table(data, margins)), fmt)
    _emit(_guard(lambda: weighting_effect(data, margins)), fmt)


@analyze.command("nps-diff")
@_analysis_options
@click.option("--by", default="wave", show_default=True, help="Grouping column.")
@click.argument("group_a")
@click.argument("group_b")
def analyze_nps_diff(db, file, survey, include_flagged, fmt, by, group_a, group_b):
    """Difference of NPS between two groups or waves, with its interval and test.

    Example: patronage analyze nps-diff --by wave 2026-Q1 2026-Q2
    """
    from patronage.analysis.methods import nps_difference_table

    data = _survey_data(db, file, survey, include_flagged)
    _emit(_guard(lambda: nps_difference_table(data, by=by, a=group_a, b=group_b)), fmt)


@analyze.command("competitor")
@_analysis_options
@click.option("--name", "competitor", required=True,
              help="Competitor as named in the answer codes competitor.<name>.<item>.")
def analyze_competitor(db, file, survey, include_flagged, fmt, competitor):
    """Our ratings against a named competitor's, item by item, with paired tests.

    Example: patronage analyze competitor --name hengtai
    """
    from patronage.analysis.methods import competitor_table

    data = _survey_data(db, file, survey, include_flagged)
    _emit(_guard(lambda: competitor_table(data, competitor=competitor)), fmt)


from patronage import cli_loyalty, cli_surveys  # noqa: E402,F401  (register their commands)
