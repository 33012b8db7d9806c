"""``patronage members`` commands for the rewards catalogue, redemptions, adjustments and the ledger."""

from __future__ import annotations

import uuid
from datetime import date

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine

#: Commands of the ``members`` group defined here (assembled in :mod:`patronage.cli`).
commands: list[click.Command] = []


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-06-30") from None


# -- the rewards catalogue -----------------------------------------------------------------------

@click.group("reward")
def reward() -> None:
    """The rewards catalogue: gifts, coupons and service upgrades for points."""


def _reward_options(func):
    options = [
        click.option("--name", "name_en", default=None, help="English name."),
        click.option("--name-zh-hans", default=None, help="Simplified Chinese name."),
        click.option("--name-zh-hant", default=None, help="Traditional Chinese name."),
        click.option("--kind", type=click.Choice(["gift", "coupon", "service"]), default=None),
        click.option("--points", default=None, help="Cost in points."),
        click.option("--cost", default=None, help="What one costs the company (yuan)."),
        click.option("--stock", default=None, help="Units available (blank: unlimited)."),
        click.option("--limit", "per_member_limit", default=None,
                     help="Most units one member may redeem."),
        click.option("--min-tier", default=None, help="Lowest tier (code) that may redeem it."),
        click.option("--from", "valid_from", default=None, help="First valid day."),
        click.option("--until", "valid_until", default=None, help="Last valid day."),
        click.option("--description", default=None),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _given(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


@reward.command("add")
@db_option
@click.argument("code")
@_reward_options
def reward_add(db, code, **values):
    """Add a reward to the catalogue.

    Example: patronage members reward add MUG --name-zh-hans 定制马克杯 --kind gift --points 800 --stock 200 --limit 2
    """
    from patronage.members.catalogue import add_reward

    values = _given(values)
    values.setdefault("kind", "gift")
    guard(lambda: add_reward(ready_engine(db), code, **values))
    click.echo(f"Reward {code} added.")


@reward.command("update")
@db_option
@click.argument("code")
@_reward_options
@click.option("--active/--inactive", default=None, help="Switch the reward on or off.")
def reward_update(db, code, **values):
    """Change a reward (only the options given); an empty value clears an optional field.

    Example: patronage members reward update MUG --points 900 --until 2026-12-31
    """
    from patronage.members.catalogue import update_reward

    changed = guard(lambda: update_reward(ready_engine(db), code, **_given(values)))
    click.echo(f"Reward {code}: " + (", ".join(f"{k} {old} → {new}"
                                               for k, (old, new) in changed.items())
                                     or "nothing changed") + ".")


@reward.command("stock")
@db_option
@click.argument("code")
@click.argument("stock", required=False)
@click.option("--add", "add", default=None, metavar="N",
              help="Add N units (negative to take them out) instead of setting the stock.")
def reward_stock(db, code, stock, add):
    """Set a reward's stock (leave STOCK out for unlimited), or add to it.

    Example: patronage members reward stock MUG --add 50
    """
    from patronage.members.catalogue import set_stock

    new = guard(lambda: set_stock(ready_engine(db), code, stock=stock, add=add))
    click.echo(f"Reward {code}: " + ("unlimited stock." if new is None else f"{new} in stock."))


@reward.command("list")
@db_option
@format_option
@click.option("--active", "active_only", is_flag=True, help="Only rewards switched on.")
def reward_list(db, fmt, active_only):
    """The catalogue with points, stock, limits, validity and units redeemed.

    Example: patronage members reward list --format csv
    """
    from patronage.members.catalogue import list_rewards

    frame = guard(lambda: list_rewards(ready_engine(db), active_only=active_only))
    emit(frame.drop(columns=["id", "description"]).set_index("code"), fmt)


commands.append(reward)


# -- redemptions ---------------------------------------------------------------------------------

def _refusal_told(compute, key: str):
    """Run ``compute``; a refusal says it is kept under its key (the same command gets the same
    answer)."""
    from patronage.members.rewards import NotEnoughPoints, RedemptionRefused

    try:
        return compute()
    except (RedemptionRefused, NotEnoughPoints) as exc:
        earlier = "earlier " if getattr(exc, "replayed", False) else ""
        raise ValueError(f"{exc} (Refused {earlier}under key {key}; to try again use a new "
                         "key.)") from None


@click.command("redeem")
@db_option
@click.argument("card")
@click.argument("reward_code", metavar="REWARD")
@click.option("--quantity", default=1, show_default=True, type=int)
@click.option("--key", default=None, metavar="IDEMPOTENCY_KEY",
              help="Run again with the same key and the redemption is made once, or "
                   "refused with the same answer (default: a new key, printed).")
@click.option("--by", default=None, help="Your e-mail.")
def redeem_command(db, card, reward_code, quantity, key, by):
    """Redeem a reward for a member's points.

    Example: patronage members redeem 80000000018 MUG --quantity 1 --key order-7781
    """
    from patronage.members.rewards import redeem

    key = key or uuid.uuid4().hex
    done = guard(lambda: _refusal_told(
        lambda: redeem(ready_engine(db), card, reward_code, quantity, key=key, channel="cli",
                       by=by), key))
    body = done.body
    click.echo(("Already redeemed" if done.replayed else "Redeemed")
               + f" (redemption {body['redemption']}, key {key}): {body['quantity']} × "
               f"{body['reward']} for {body['points']} points"
               + (f", coupon {body['coupon_code']}" if body["coupon_code"] else "")
               + (f"; {body['balance_after']} points left" if body["balance_after"] is not None
                  else "") + ".")


@click.command("cancel")
@db_option
@click.argument("redemption", type=int)
@click.option("--reason", required=True, help="Why it is cancelled.")
@click.option("--by", default=None, help="Your e-mail.")
def cancel_command(db, redemption, reason, by):
    """Cancel a redemption: the points go back to the member, the units back in stock.

    Example: patronage members cancel 17 --reason "客户退回礼品"
    """
    from patronage.members.rewards import cancel

    done = guard(lambda: cancel(ready_engine(db), redemption, reason, by=by))
    click.echo(f"Redemption {redemption} cancelled; {done['points']} points returned.")


@click.command("adjust", context_settings={"ignore_unknown_options": True})
@db_option
@click.argument("card")
@click.argument("points", type=int)
@click.option("--reason", required=True, help="Why (kept on the ledger).")
@click.option("--by", default=None, help="Your e-mail (kept on the ledger).")
def adjust_command(db, card, points, reason, by):
    """Give (positive) or take (negative) points by hand, with a reason.

    Example: patronage members adjust 80000000018 -200 --reason "重复积分更正" --by li@example.com
    """
    from patronage.members.adjustments import adjust

    done = guard(lambda: adjust(ready_engine(db), card, points, reason, by=by))
    click.echo(f"{points:+d} points; {done['balance']} points left.")


@click.command("statement")
@db_option
@format_option
@click.argument("card")
def statement_command(db, fmt, card):
    """A member's ledger lines with the running balance (and pending balance).

    Example: patronage members statement 80000000018 --format csv
    """
    from patronage.members.adjustments import statement_of_card

    lines = guard(lambda: statement_of_card(ready_engine(db), card))
    emit(lines.fillna({"reason": "", "by": ""}).set_index("id"), fmt)


@click.command("check")
@db_option
def check_command(db):
    """Check the ledger: cached balances equal the sums of transfers, the accounts add up to
    zero, no spendable balance below zero. Exits with 1 when something is wrong.

    Example: patronage members check
    """
    from patronage.members.ledger import ledger_problems

    problems = guard(lambda: ledger_problems(ready_engine(db)))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo("The ledger checks out.")


@click.command("expire")
@db_option
@click.option("--date", "on", default=None, help="Expire as of this day (default today).")
def expire_command(db, on):
    """Expire the points whose day has come, now (the worker does it every round).

    Example: patronage members expire --date 2026-12-31
    """
    from patronage.members.expiry import run_expiry

    members = guard(lambda: run_expiry(ready_engine(db), today=_day(on)))
    click.echo(f"{members} members lost expired points.")


commands.extend([redeem_command, cancel_command, adjust_command, statement_command,
                 check_command, expire_command])

__all__ = ["commands"]
