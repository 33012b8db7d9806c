"""``patronage analyze programme``, ``analyze programme-effect`` and ``analyze loyalty-types``:
the membership programme's analytics (members, earn and burn, liability and breakage, tier
migration, incrementality) and the loyalty types."""

from __future__ import annotations

from datetime import date

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine

PARTS = ("summary", "monthly", "migration", "migration-shares")
EFFECT_PARTS = ("effects", "balance", "counts")
TYPES = ("monopoly", "affinity", "trust", "incentive", "inertia", "latent", "none")


#: Commands of the ``analyze`` group defined here (assembled in :mod:`patronage.cli`).
@click.group()
def analysis_commands() -> None:
    """``analyze`` commands defined here."""


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-06-30") from None


@analysis_commands.command("programme")
@db_option
@format_option
@click.option("--from", "since", default=None, help="First day of the period (default: 12 "
                                                   "months before its end).")
@click.option("--until", default=None, help="Last day of the period (default: the last day "
                                            "the data reach).")
@click.option("--part", type=click.Choice(PARTS), default="summary", show_default=True,
              help="The headline figures, the months, or the tier migration (counts or row "
                   "shares).")
def analyze_programme(db, fmt, since, until, part):
    """The membership programme's figures: members (memberships not closed) and of them those
    active (bought, earned or redeemed in the policy's active months), points issued,
    redeemed and expired per month, the redemption rate (Wilson interval), outstanding points,
    breakage (delta-method interval), the liability net of breakage and the tier migration.

    Example: patronage analyze programme --from 2025-07-01 --until 2026-06-30 --format json
    """
    from patronage.members.report import programme_figures, summary_table

    figures = guard(lambda: programme_figures(ready_engine(db), since=_day(since),
                                              until=_day(until)))
    shown = {"summary": lambda: summary_table(figures),
             "monthly": lambda: figures.monthly.set_axis(
                 [str(m) for m in figures.monthly.index]).rename_axis("month").rename(
                 columns={"active": f"active_in_{figures.policy.active_months}_months"}),
             "migration": lambda: figures.migration,
             "migration-shares": lambda: figures.migration_shares}[part]()
    emit(shown, fmt)


@analysis_commands.command("programme-effect")
@db_option
@format_option
@click.option("--until", default=None, help="The last day the data cover (default: the last "
                                            "purchase); only full months count.")
@click.option("--matches", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Non-members matched to each member.")
@click.option("--caliper", type=float, default=0.5, show_default=True,
              help="Leave out members with no non-member this close (standard units; 0 for "
                   "no limit).")
@click.option("--part", type=click.Choice(EFFECT_PARTS), default="effects", show_default=True,
              help="The effects, the balance before and after matching, or who was compared.")
def analyze_programme_effect(db, fmt, until, matches, caliper, part):
    """Does the programme create loyalty? Members' spend, purchases and retention in the 12
    months after joining against non-members matched on the 12 months before (and the naive
    comparison, and a difference-in-differences), with 95% intervals.

    Example: patronage analyze programme-effect --format json
    """
    import pandas as pd

    from patronage.members.report import programme_effect_of

    effect = guard(lambda: programme_effect_of(ready_engine(db), until=_day(until),
                                               matches=matches, caliper=caliper or None))
    if part == "counts":
        shown = pd.Series(effect.counts, name="customers").rename_axis("figure").to_frame()
    else:
        shown = effect.effects if part == "effects" else effect.balance
    shown.attrs["notes"] = [f"months {effect.settings['first_month']} to "
                            f"{effect.settings['last_month']}; naive spend effect / matched = "
                            f"{effect.overstatement:.2f}"]
    shown.attrs["about"] = {**effect.settings, "overstatement": effect.overstatement}
    emit(shown, fmt)


@analysis_commands.command("loyalty-types")
@db_option
@format_option
@click.option("--as-of", "as_of", default=None, help="Judge as of this day (default: the last "
                                                     "purchase).")
@click.option("--type", "code", type=click.Choice(TYPES), default=None,
              help="List the customers of this type instead.")
@click.option("--language", type=click.Choice(["en", "zh_Hans", "zh_Hant"]), default="en",
              show_default=True, help="The language of the rules.")
def analyze_loyalty_types(db, fmt, as_of, code, language):
    """The six loyalty types (monopoly, affinity, trust, incentive, inertia, latent) and the
    not loyal: customers per type with the rule that puts them there, or one type's customers.

    Example: patronage analyze loyalty-types --language zh_Hans
    """
    from patronage.members.report import loyalty_type_table, loyalty_types

    if code is None:
        emit(guard(lambda: loyalty_type_table(ready_engine(db), as_of=_day(as_of),
                                              language=language)), fmt)
        return
    classified = guard(lambda: loyalty_types(ready_engine(db), as_of=_day(as_of)))
    chosen = classified.loc[classified["loyalty_type"] == code].drop(
        columns=["loyalty_type", "customer_pk"]).sort_values("purchases", ascending=False)
    emit(chosen, fmt)


__all__ = ["analysis_commands"]
