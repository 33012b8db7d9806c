"""``patronage analyze`` commands for loyalty: value, RFM, cohorts, defection, segments, wallet.

Merged into ``patronage analyze`` by :mod:`patronage.cli`; each calls one function of
:mod:`patronage.loyalty` on the database.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from patronage.cli.common import (
    db_option, emit, engine_options, format_option, guard, open_analysis_engine, ready_engine,
)


@click.group()
def commands() -> None:
    """Loyalty analyses (merged into ``patronage analyze``)."""


def _format(func):
    return format_option(db_option(func))


def _top(func):
    return click.option("--top", default=50, show_default=True, type=click.IntRange(min=0),
                        help="Show this many customers (0 for all).")(func)


def _finite(low: float | None = None, *, above: bool = False):
    """A callback refusing NaN, infinity and numbers below ``low`` (or not above it)."""
    def check(ctx, param, value):
        if value is None:
            return value
        if value != value or value in (float("inf"), float("-inf")) or (
                low is not None and (value <= low if above else value < low)):
            bound = "" if low is None else f" {'above' if above else 'at least'} {low:g}"
            raise click.BadParameter(f"{value} is not a finite number{bound}")
        return value
    return check


def _engine_options(func):
    """:func:`engine_options` and ``--scores-out`` of the analyses that score customers."""
    func = click.option("--scores-out", default=None, metavar="FILE|TABLE",
                        help="Also write every customer's scores: to a Parquet file (a name "
                             "with / or ending .parquet), or to a table of the engine's "
                             "database (a plain name).")(func)
    return engine_options(func)


@commands.command("clv")
@_format
@_top
@click.option("--months", default=12, show_default=True, type=click.IntRange(min=1),
              help="CLV horizon in months.")
@click.option("--discount", default=0.01, show_default=True, type=float,
              callback=_finite(-1, above=True), help="Monthly discount rate (0.01 = 1%).")
@click.option("--margin", default=None, type=float, callback=_finite(),
              help="Profit margin on spend (default: the company's current profit / revenue).")
@click.option("--save-params", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the fitted model parameters to this JSON file.")
@click.option("--params", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Score with the parameters saved in this JSON file instead of refitting.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Observation end: fit on the sales up to this day, customer ages (T) "
                   "counted to it (default: the last sale).")
@_engine_options
def analyze_clv(db, fmt, top, months, discount, margin, save_params, params, until, engine_name,
                source, scores_out):
    """Customer lifetime value (BG/NBD + Gamma-Gamma), P(alive) and value tiers.

    The model works in weeks: recency_weeks and T_weeks are weeks since the first purchase.
    The fitted parameters (standard errors, log-likelihood) and the customers left out print
    on stderr, or come in the JSON output around "rows". Customers first seen on the
    observation end are scored as new (P(alive) = 1).

    Example: patronage analyze clv --months 24 --save-params model.json; next month:
    patronage analyze clv --params model.json; calibration: patronage analyze clv --until
    2025-06-30; on exported files: patronage analyze clv --engine duckdb --source
    parquet:export --scores-out scores.parquet
    """
    from patronage.engines.analyses import clv_analysis
    from patronage.loyalty import save_value_models

    if params is not None and save_params is not None:
        raise click.UsageError("use --params (score with saved parameters) or --save-params "
                               "(fit and save them), not both")
    with open_analysis_engine(engine_name, source, db) as engine:
        models, table = guard(lambda: clv_analysis(
            engine, months=months, monthly_discount=discount, margin=margin, params=params,
            observation_end=until, top=top or None, scores_out=scores_out))
    if save_params is not None:
        guard(lambda: save_value_models(models, save_params))
        click.echo(f"Saved the model parameters to {save_params}.", err=True)
    if models.loaded_from is not None:
        fit = models.fit
        click.echo(f"Scored with the parameters fitted {fit.fitted_at} on the sales of "
                   f"{fit.customers:,} customers from {fit.first_purchase} to "
                   f"{fit.observation_end}.", err=True)
    if scores_out is not None:
        click.echo(f"Wrote the scores of {len(models.summary):,} customers to {scores_out}.",
                   err=True)
    emit(table, fmt)


@commands.command("rfm")
@_format
@click.option("--summary", is_flag=True, help="Show customers per segment instead.")
@_engine_options
def analyze_rfm(db, fmt, summary, engine_name, source, scores_out):
    """RFM quintile scores and named segments per customer.

    Example: patronage analyze rfm --summary; on exported files: patronage analyze rfm
    --engine duckdb --source parquet:export --scores-out rfm.parquet
    """
    from patronage.engines.analyses import rfm_analysis

    with open_analysis_engine(engine_name, source, db) as engine:
        table = guard(lambda: rfm_analysis(engine, scores_out=scores_out))
    if scores_out is not None:
        click.echo(f"Wrote the RFM scores of {len(table):,} customers to {scores_out}.", err=True)
    if summary:
        table = table.groupby("segment").agg(customers=("R", "size"), monetary=("monetary", "sum"),
                                             recency_days=("recency_days", "median"))
    emit(table, fmt)


@commands.command("cohorts")
@_format
@click.option("--period", type=click.Choice(["M", "Q", "Y"]), default="Q", show_default=True)
@click.option("--curve", is_flag=True, help="Show the average retention curve instead.")
@click.option("--repeat", is_flag=True,
              help="Show the repeat-purchase rate per cohort in detail instead.")
@click.option("--repeat-days", default=90, show_default=True, type=click.IntRange(min=1),
              help="Repeat purchase: bought again within this many days of the first purchase.")
@engine_options
def analyze_cohorts(db, fmt, period, curve, repeat, repeat_days, engine_name, source):
    """Acquisition-cohort retention matrix with each cohort's repeat-purchase rate (or the
    retention and churn curve, or the repeat-purchase detail).

    Example: patronage analyze cohorts --period M --repeat --repeat-days 60 ; on exported
    files: patronage analyze cohorts --engine duckdb --source parquet:export
    """
    from patronage.engines.cohorts import cohort_analysis
    from patronage.loyalty.retention import cohorts_table

    options = {"period": period, "curve": curve, "repeat": repeat, "repeat_days": repeat_days}
    if engine_name == "database":
        table = guard(lambda: cohorts_table(ready_engine(db), **options))
    else:
        with open_analysis_engine(engine_name, source, db) as engine:
            table = guard(lambda: cohort_analysis(engine, **options))
    emit(table, fmt)


@commands.command("at-risk")
@_format
@_top
@click.option("--window", default="90D", show_default=True, help="Recent window, e.g. 60D.")
def analyze_at_risk(db, fmt, top, window):
    """Customers showing latent switching, with the reason and the value at risk.

    Example: patronage analyze at-risk --window 60D --top 20
    """
    from patronage.loyalty import at_risk_table

    emit(guard(lambda: at_risk_table(ready_engine(db), window=window, top=top or None)), fmt)


@commands.command("segments")
@_format
def analyze_segments(db, fmt):
    """Value tiers, Jones–Sasser quadrants and advocates / users / comparers.

    Example: patronage analyze segments --format json
    """
    from patronage.loyalty import segments_table

    parts = guard(lambda: segments_table(ready_engine(db)))
    frames = [frame.rename_axis("segment").reset_index().assign(scheme=name)
              for name, frame in parts.items()]
    emit(pd.concat(frames, ignore_index=True).set_index(["scheme", "segment"]), fmt)


@commands.command("whale")
@_format
@click.option("--cost-per-touchpoint", default=300.0, show_default=True, type=float,
              callback=_finite(0))
@click.option("--cost-per-case", default=1500.0, show_default=True, type=float,
              callback=_finite(0))
@engine_options
def analyze_whale(db, fmt, cost_per_touchpoint, cost_per_case, engine_name, source):
    """Profit whale curve figures: the 80/20 and 80/20/30 numbers of this customer base.

    Example: patronage analyze whale --cost-per-case 2000 ; on exported files: patronage
    analyze whale --engine duckdb --source parquet:export
    """
    from patronage.engines.cohorts import whale_analysis
    from patronage.loyalty import whale_table

    costs = {"cost_per_touchpoint": cost_per_touchpoint, "cost_per_case": cost_per_case}
    if engine_name == "database":
        _curve, figures = guard(lambda: whale_table(ready_engine(db), **costs))
    else:
        with open_analysis_engine(engine_name, source, db) as engine:
            _curve, figures = guard(lambda: whale_analysis(engine, **costs))
    emit(pd.Series(figures, name="value").rename_axis("figure").to_frame(), fmt)


@commands.command("holdout")
@_format
@click.option("--weeks", default=26, show_default=True, type=click.IntRange(min=1),
              help="Holdout length in weeks: the last WEEKS weeks of the sales.")
def analyze_holdout(db, fmt, weeks):
    """Holdout validation of the purchase model: predicted against actual repeat purchases.

    The BG/NBD model is fitted on the calibration period (the first sale to WEEKS weeks
    before the last sale) and predicts each customer's repeat purchases in the holdout period
    (the last WEEKS weeks). Time is in weeks and purchases are counted per purchase week;
    rows are the repeat purchase weeks in the calibration period (frequency_cal); actual and
    predicted are mean holdout purchases per customer. The periods and the fitted parameters
    print on stderr (in JSON: around "rows").

    Example: patronage analyze holdout --weeks 39
    """
    from patronage.loyalty import holdout_table

    emit(guard(lambda: holdout_table(ready_engine(db), holdout_weeks=weeks)), fmt)


@commands.command("defection")
@_format
def analyze_defection(db, fmt):
    """Why lost customers left and to which competitors.

    Example: patronage analyze defection --format csv
    """
    from patronage.loyalty.retention import defection_table

    emit(guard(lambda: defection_table(ready_engine(db))), fmt)


def _lifetimes_file(func):
    """Options reading contractual customers from a file (tenure and churn columns)."""
    options = [
        click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path),
                     default=None, help="A customer table (CSV/XLSX) with a tenure and a churn "
                                        "column (telco style) instead of the stored sales."),
        click.option("--tenure", default=None, help="With --file: the tenure column (how long "
                                                    "each customer has stayed)."),
        click.option("--event", default=None, help="With --file: the churn column (yes/no, "
                                                   "1/0, true/false, 是/否)."),
        click.option("--by", default=None, help="With --file: split by this column, e.g. the "
                                                 "contract type."),
        click.option("--unit", type=click.Choice(["day", "week", "month", "year"]),
                     default="month", show_default=True, help="With --file: the tenure's unit."),
        click.option("--encoding", default=None, help="With --file: its text encoding "
                                                      "(detected by default)."),
        click.option("--sheet", default=None, help="With --file: the worksheet of an XLSX."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _read_lifetimes(file, tenure, event, by, unit, encoding, sheet):
    from patronage.loyalty.survival import read_lifetimes

    if file is None:
        if tenure or event or by:
            raise click.UsageError("--tenure, --event and --by read a customer table: give it "
                                   "with --file FILE")
        return None
    if not (tenure and event):
        raise click.UsageError("with --file, name the tenure and churn columns: --tenure "
                               "COLUMN --event COLUMN")
    return guard(lambda: read_lifetimes(file, tenure=tenure, event=event, by=by, unit=unit,
                                        encoding=encoding, sheet=sheet))


@commands.command("retention")
@_format
@click.option("--item", default="overall_satisfaction", show_default=True)
@click.option("--window", default=180, show_default=True, type=click.IntRange(min=1),
              help="Days at the end of the data in which a retained customer bought.")
@_lifetimes_file
def analyze_retention(db, fmt, item, window, file, tenure, event, by, unit, encoding, sheet):
    """Retention by satisfaction level, from answers joined to later purchases; or, from a
    customer table (--file), the retained share and one-year survival per group.

    Example: patronage analyze retention --window 365; from a file: patronage analyze
    retention --file customers.csv --tenure tenure --event churn --by contract
    """
    from patronage.loyalty.retention import retention_by_satisfaction_table
    from patronage.loyalty.survival import retention_summary

    data = _read_lifetimes(file, tenure, event, by, unit, encoding, sheet)
    if data is not None:
        emit(guard(lambda: retention_summary(data)), fmt)
        return
    emit(guard(lambda: retention_by_satisfaction_table(ready_engine(db), item=item,
                                                         window_days=window)), fmt)


@commands.command("retention-value")
@_format
@click.option("--points", default=5.0, show_default=True, type=float,
              help="Change of yearly retention in percentage points.")
@click.option("--discount", default=0.1, show_default=True, type=float,
              help="Yearly discount rate.")
def analyze_retention_value(db, fmt, points, discount):
    """What raising retention by some points is worth to this customer base.

    Example: patronage analyze retention-value --points 2
    """
    from patronage.loyalty.retention import retention_economics_table

    emit(guard(lambda: retention_economics_table(ready_engine(db), delta_points=points,
                                                   discount=discount)), fmt)


def _times(ctx, param, value):
    if value is None:
        return None
    try:
        times = [float(part) for part in value.replace("，", ",").split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r}: give times separated by commas, e.g. 1,6,12") \
            from None
    if not times or any(t < 0 or t != t for t in times):
        raise click.BadParameter(f"{value!r}: give times >= 0 separated by commas, e.g. 1,6,12")
    return times


@commands.command("survival")
@_format
@click.option("--category", default=None, help="Contract category, e.g. 'service contract'.")
@click.option("--inactive-days", default=180, show_default=True, type=click.IntRange(min=1),
              help="No purchase for this long ends a relationship.")
@click.option("--at", callback=_times, default=None,
              help="Times to show, e.g. 1,6,12 (default: 1, 3, 6, 12, 24 ... months, or 30, "
                   "90, 180, 365 ... days, up to the longest tenure).")
@click.option("--all-times", is_flag=True, help="Show every time with an event instead.")
@_lifetimes_file
def analyze_survival(db, fmt, category, inactive_days, at, all_times, file, tenure, event, by,
                     unit, encoding, sheet):
    """Kaplan–Meier survival of customer (or contract) relationships at selected times, with
    the median lifetime and, split by a column, the log-rank test (on stderr; in JSON around
    "rows"). From the stored sales (days since the first purchase) or from a customer table
    with tenure and churn columns (--file).

    Example: patronage analyze survival --category "service contract"; from a file:
    patronage analyze survival --file customers.csv --tenure tenure --event churn --by contract
    """
    from patronage.loyalty.retention import survival_table
    from patronage.loyalty.survival import survival_summary

    data = _read_lifetimes(file, tenure, event, by, unit, encoding, sheet)
    if data is not None:
        emit(guard(lambda: survival_summary(data, at=at, all_times=all_times)), fmt)
        return
    emit(guard(lambda: survival_table(ready_engine(db), category=category,
                                        inactive_days=inactive_days, at=at,
                                        all_times=all_times)), fmt)


@commands.command("cross-buying")
@_format
def analyze_cross_buying(db, fmt):
    """Which categories the buyers of each category also buy.

    Example: patronage analyze cross-buying
    """
    from patronage.loyalty.retention import cross_buying_table

    emit(guard(lambda: cross_buying_table(ready_engine(db))), fmt)


@commands.command("share-of-wallet")
@_format
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV/XLSX of customer id and the customer's category spend in the period.")
@click.option("--item", default=None,
              help="Instead of a file: the survey item holding the category spend.")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Period start (file rows without their own period).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Period end (default: the last stored sale).")
@click.option("--months", default=12, show_default=True, type=click.IntRange(min=1),
              help="Period length when no start is given (with --item: before each answer).")
@click.option("--category", "categories", multiple=True,
              help="Count only our sales in this category (repeatable).")
@click.option("--summary", is_flag=True, help="Show the summary by value tier instead.")
def analyze_share_of_wallet(db, fmt, file, item, start, end, months, categories, summary):
    """Share of wallet: our sales / the customer's total spend in the category, per customer
    and by value tier.

    Example: patronage analyze share-of-wallet --file wallet.csv --from 2025-07-01 --to 2026-06-30
    """
    from patronage.loyalty.wallet import wallet_from_file, wallet_from_item

    if (file is None) == (item is None):
        raise click.UsageError("give the category spend with --file FILE or --item CODE (one)")
    engine = ready_engine(db)
    if file is not None:
        result = guard(lambda: wallet_from_file(engine, file, start=start, end=end,
                                                 months=months, categories=categories))
    else:
        result = guard(lambda: wallet_from_item(engine, item, months=months,
                                                 categories=categories))
    for line in result.messages():
        click.echo(line, err=True)
    click.echo(result.headline(), err=True)
    emit(result.tiers if summary else result.customers, fmt)
