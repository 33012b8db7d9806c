"""``patronage analyze`` commands for loyalty: value, RFM, cohorts, defection, segments.

Registered on the ``analyze`` group of :mod:`patronage.cli`; each calls one function of
:mod:`patronage.loyalty` on the database.
"""

from __future__ import annotations

import click
import pandas as pd

from patronage.cli import _emit, _engine, _guard, _require_current_schema, _settings, analyze, db_option


def _loyalty_engine(db):
    settings = _settings(db)
    _require_current_schema(settings)
    return _engine(settings)


def _format(func):
    return click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]),
                        default="table", show_default=True, help="Output format.")(db_option(func))


def _top(func):
    return click.option("--top", default=50, show_default=True, type=int,
                        help="Show this many customers (0 for all).")(func)


@analyze.command("clv")
@_format
@_top
@click.option("--months", default=12, show_default=True, type=int, help="CLV horizon.")
@click.option("--discount", default=0.01, show_default=True, type=float,
              help="Monthly discount rate.")
@click.option("--margin", default=None, type=float,
              help="Profit margin on spend (default: the company's profit / revenue).")
def analyze_clv(db, fmt, top, months, discount, margin):
    """Customer lifetime value (BG/NBD + Gamma-Gamma), P(alive) and value tiers.

    Example: patronage analyze clv --months 24 --top 20
    """
    from patronage.loyalty import clv_table

    engine = _loyalty_engine(db)
    _emit(_guard(lambda: clv_table(engine, top=top or None, months=months,
                                   monthly_discount=discount, margin=margin)), fmt)


@analyze.command("rfm")
@_format
@click.option("--summary", is_flag=True, help="Show customers per segment instead.")
def analyze_rfm(db, fmt, summary):
    """RFM quintile scores and named segments per customer.

    Example: patronage analyze rfm --summary
    """
    from patronage.loyalty import rfm_table

    table = _guard(lambda: rfm_table(_loyalty_engine(db)))
    if summary:
        table = table.groupby("segment").agg(customers=("R", "size"), monetary=("monetary", "sum"),
                                             recency_days=("recency_days", "median"))
    _emit(table, fmt)


@analyze.command("cohorts")
@_format
@click.option("--period", type=click.Choice(["M", "Q", "Y"]), default="Q", show_default=True)
@click.option("--curve", is_flag=True, help="Show the average retention curve instead.")
def analyze_cohorts(db, fmt, period, curve):
    """Acquisition-cohort retention matrix (or the retention and churn curve).

    Example: patronage analyze cohorts --period M --curve
    """
    from patronage.loyalty import cohort_table

    matrix, retention = _guard(lambda: cohort_table(_loyalty_engine(db), period=period))
    if curve:
        _emit(retention, fmt)
        return
    shares = matrix["retention"].round(3)
    shares.insert(0, "cohort_size", matrix["cohort_size"])
    shares.index = shares.index.astype(str)
    _emit(shares, fmt)


@analyze.command("at-risk")
@_format
@_top
@click.option("--window", default="90D", show_default=True, help="Recent window, e.g. 60D.")
def analyze_at_risk(db, fmt, top, window):
    """Customers showing latent switching, with the reason and the value at risk.

    Example: patronage analyze at-risk --window 60D --top 20
    """
    from patronage.loyalty import at_risk_table

    _emit(_guard(lambda: at_risk_table(_loyalty_engine(db), window=window, top=top or None)), fmt)


@analyze.command("segments")
@_format
def analyze_segments(db, fmt):
    """Value tiers, Jones–Sasser quadrants and advocates / users / comparers.

    Example: patronage analyze segments --format json
    """
    from patronage.loyalty import segments_table

    parts = _guard(lambda: segments_table(_loyalty_engine(db)))
    frames = [frame.rename_axis("segment").reset_index().assign(scheme=name)
              for name, frame in parts.items()]
    _emit(pd.concat(frames, ignore_index=True).set_index(["scheme", "segment"]), fmt)


@analyze.command("whale")
@_format
@click.option("--cost-per-touchpoint", default=300.0, show_default=True, type=float)
@click.option("--cost-per-case", default=1500.0, show_default=True, type=float)
def analyze_whale(db, fmt, cost_per_touchpoint, cost_per_case):
    """Profit whale curve figures: the 80/20 and 80/20/30 numbers of this customer base.

    Example: patronage analyze whale --cost-per-case 2000
    """
    from patronage.loyalty import whale_table

    _curve, figures = _guard(lambda: whale_table(_loyalty_engine(db),
                                                 cost_per_touchpoint=cost_per_touchpoint,
                                                 cost_per_case=cost_per_case))
    _emit(pd.Series(figures, name="value").rename_axis("figure").to_frame(), fmt)


@analyze.command("holdout")
@_format
@click.option("--weeks", default=26, show_default=True, type=int, help="Holdout length.")
def analyze_holdout(db, fmt, weeks):
    """Holdout validation of the purchase model: predicted against actual repeat purchases.

    Example: patronage analyze holdout --weeks 39
    """
    from patronage.loyalty import holdout_table

    _emit(_guard(lambda: holdout_table(_loyalty_engine(db), holdout_weeks=weeks)), fmt)


@analyze.command("defection")
@_format
def analyze_defection(db, fmt):
    """Why lost customers left and to which competitors.

    Example: patronage analyze defection --format csv
    """
    from patronage.loyalty.retention import defection_table

    _emit(_guard(lambda: defection_table(_loyalty_engine(db))), fmt)


@analyze.command("retention")
@_format
@click.option("--item", default="overall_satisfaction", show_default=True)
@click.option("--window", default=180, show_default=True, type=int,
              help="Days at the end of the data in which a retained customer bought.")
def analyze_retention(db, fmt, item, window):
    """Retention by satisfaction level, from answers joined to later purchases.

    Example: patronage analyze retention --window 365
    """
    from patronage.loyalty.retention import retention_by_satisfaction_table

    _emit(_guard(lambda: retention_by_satisfaction_table(_loyalty_engine(db), item=item,
                                                         window_days=window)), fmt)


@analyze.command("retention-value")
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

    _emit(_guard(lambda: retention_economics_table(_loyalty_engine(db), delta_points=points,
                                                   discount=discount)), fmt)


@analyze.command("survival")
@_format
@click.option("--category", default=None, help="Contract category, e.g. 'service contract'.")
@click.option("--inactive-days", default=180, show_default=True, type=int,
              help="No purchase for this long ends a relationship.")
def analyze_survival(db, fmt, category, inactive_days):
    """Kaplan–Meier survival of customer (or contract) relationships.

    Example: patronage analyze survival --category "service contract"
    """
    from patronage.loyalty.retention import survival_table

    _emit(_guard(lambda: survival_table(_loyalty_engine(db), category=category,
                                        inactive_days=inactive_days)), fmt)


@analyze.command("cross-buying")
@_format
def analyze_cross_buying(db, fmt):
    """Which categories the buyers of each category also buy.

    Example: patronage analyze cross-buying
    """
    from patronage.loyalty.retention import cross_buying_table

    _emit(_guard(lambda: cross_buying_table(_loyalty_engine(db))), fmt)
