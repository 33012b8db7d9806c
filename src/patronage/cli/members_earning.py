"""``patronage members`` commands for earning rules and the accrual of points from transactions."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine, settings_for

#: Commands of the ``members`` group defined here (assembled in :mod:`patronage.cli`).
commands: list[click.Command] = []
KINDS = ["purchase", "member_day", "birthday_month", "first_purchase", "survey_completed",
         "referral"]


def _rule_options(func):
    """The options a rule is added or changed with (all optional: a kind needs only some)."""
    options = [
        click.option("--points-per-yuan", "points_per_yuan", default=None,
                     help="purchase: points per ¥1 (1 = one point per ¥1)."),
        click.option("--multiplier", default=None,
                     help="member_day, birthday_month: multiplies the points (2 doubles them)."),
        click.option("--points", default=None,
                     help="first_purchase, survey_completed, referral: the bonus points."),
        click.option("--weekday", default=None,
                     help="member_day: mon..sun or 0 (Monday) .. 6 (Sunday)."),
        click.option("--day-of-month", "day_of_month", default=None,
                     help="member_day: a day of the month (1-31) instead of a weekday."),
        click.option("--category", default=None, help="Only purchases in this category."),
        click.option("--channel", default=None, help="Only purchases on this channel."),
        click.option("--tiers", default=None, help="Only these tiers (codes, comma-separated)."),
        click.option("--cap-per-purchase", "cap_per_transaction", default=None,
                     help="At most this many points from the rule per purchase (or response)."),
        click.option("--cap-per-month", "cap_per_month", default=None,
                     help="At most this many points from the rule per member a month."),
        click.option("--from", "starts_on", default=None, help="First day, e.g. 2027-01-01."),
        click.option("--until", "ends_on", default=None, help="Last day, e.g. 2027-12-31."),
        click.option("--name", default=None, help="What the rule is called (default: what it "
                     "gives, in the customer language)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group("rule")
def rule() -> None:
    """Earning rules: how members earn points (the accrual applies them)."""


@rule.command("add")
@db_option
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--code", default=None, help="A short code for the rule (default kind-N).")
@_rule_options
def rule_add(db, kind, code, **values):
    """Add an earning rule (switched on).

    Example: patronage members rule add purchase --points-per-yuan 2 --category 家电
    """
    from patronage.members.earning import add_rule

    settings = settings_for(db)
    made = guard(lambda: add_rule(ready_engine(db), kind, code=code,
                                  language=settings.customer_language,
                                  **{k: v for k, v in values.items() if v is not None}))
    click.echo(f"Added rule {made['code']}: {made['name']}")


@rule.command("list")
@db_option
@format_option
def rule_list(db, fmt):
    """The earning rules: what each gives in words, its limits and the points it has given.

    Example: patronage members rule list --format json
    """
    from patronage.reporting.member_rules import rule_table

    emit(rule_table(ready_engine(db)), fmt)


@rule.command("update")
@db_option
@click.argument("rule_ref", metavar="RULE")
@_rule_options
def rule_update(db, rule_ref, **values):
    """Change a rule (by code or id): the options given take new values ("" clears one).

    Example: patronage members rule update purchase-1 --points-per-yuan 1.5 --cap-per-month 5000
    """
    from patronage.members.earning import update_rule

    saved = guard(lambda: update_rule(ready_engine(db), rule_ref, **values))
    click.echo(f"Saved rule {saved['code']}: {saved['name']}")


def _switch(name: str, active: bool):
    @db_option
    @click.argument("rule_ref", metavar="RULE")
    def command(db, rule_ref):
        from patronage.members.earning import switch_rule

        code = guard(lambda: switch_rule(ready_engine(db), rule_ref, active))
        click.echo(f"Switched rule {code} {name}.")

    command.__doc__ = (f"Switch an earning rule {name} (by code or id).\n\n"
                       f"Example: patronage members rule {name} member_day-3")
    return rule.command(name)(command)


_switch("on", True)
_switch("off", False)


@rule.command("remove")
@db_option
@click.argument("rule_ref", metavar="RULE")
def rule_remove(db, rule_ref):
    """Remove a rule that has given no points yet (switch one that has off instead).

    Example: patronage members rule remove purchase-4
    """
    from patronage.members.earning import remove_rule

    code = guard(lambda: remove_rule(ready_engine(db), rule_ref))
    click.echo(f"Removed rule {code}.")


@click.command("earn")
@db_option
@click.option("--until", "until", default=None, type=click.DateTime(["%Y-%m-%d"]),
              help="Only transactions dated up to this day (default: up to now).")
def earn(db, until):
    """Accrue points now for every transaction and survey answer not yet accrued (the worker
    does it every round); prints how many purchases earned how many points.

    Example: patronage members earn --until 2026-06-30
    """
    from patronage.members.accrual import accrue

    done = guard(lambda: accrue(ready_engine(db), until=until.date() if until else None))
    click.echo(f"{done.transactions:,} purchases earned {done.points:,} points; "
               f"{done.refunds:,} refunds took back {done.points_taken:,}; "
               f"{done.responses:,} survey answers earned points.")


commands.extend([rule, earn])

__all__ = ["commands"]
