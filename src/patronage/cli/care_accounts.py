"""``patronage care`` commands for key accounts, lost customers and win-back campaigns, and
``analyze key-accounts``."""

from __future__ import annotations

from datetime import date

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine

#: Commands of the ``care`` group defined here (assembled in :mod:`patronage.cli`).
commands: list[click.Command] = []


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


# -- key accounts --------------------------------------------------------------------------------

@click.group("account")
def account() -> None:
    """Key accounts: visit plans and visit reports."""


@account.command("plan")
@db_option
@click.argument("customer")
@click.option("--every", "every", type=int, required=True, metavar="DAYS",
              help="Visit every this many days (0 removes the plan).")
@click.option("--owner", default=None, help="The account owner's e-mail.")
def account_plan(db, customer, every, owner):
    """Put a key account on a visit plan, with its owner.

    Example: patronage care account plan C001 --every 90 --owner li@example.com
    """
    from patronage.care.accounts import set_visit_plan

    done = guard(lambda: set_visit_plan(ready_engine(db), customer, every, owner))
    click.echo(f"{done['customer']}: " + (f"visit every {done['every_days']} days"
                                          if done["every_days"] else "no visit plan"))


@account.command("visit")
@db_option
@click.argument("customer")
@click.option("--report", required=True, help="What was discussed and agreed.")
@click.option("--by", default=None, help="The visitor's e-mail.")
@click.option("--on", "on", default=None, help="The day of the visit (default today).")
@click.option("--outcome", default=None, help="A short outcome code, e.g. renewed.")
def account_visit(db, customer, report, by, on, outcome):
    """Record a visit and its report on the contact log.

    Example: patronage care account visit C001 --report "续签意向明确" --by li@example.com
    """
    from patronage.care.accounts import record_visit

    contact = guard(lambda: record_visit(ready_engine(db), customer, by=by, at=_day(on),
                                         report=report, outcome=outcome))
    click.echo(f"Visit recorded (contact {contact}).")


commands.append(account)


@analysis_commands.command("key-accounts")
@db_option
@format_option
@click.option("--today", default=None, help="Judge as of this day (default today).")
def analyze_key_accounts(db, fmt, today):
    """Key-account health: owner, visit plan and days overdue, spend against the account's own
    last two years, open cases, last NPS and a status with its reason.

    Example: patronage analyze key-accounts --format json
    """
    from patronage.care.accounts import key_accounts_table

    emit(guard(lambda: key_accounts_table(ready_engine(db), _day(today))), fmt)


# -- lost customers ------------------------------------------------------------------------------

@click.group("lost")
def lost() -> None:
    """Lost customers: mark, unmark and list them with their reasons and competitors."""


@lost.command("mark")
@db_option
@click.argument("customer")
@click.option("--reason", required=True, help="Why the customer left (e.g. 价格).")
@click.option("--competitor", default=None, help="Where the customer went.")
@click.option("--on", "on", default=None, help="The day the customer was lost (default today).")
@click.option("--by", default=None, help="Your e-mail.")
@click.option("--note", default=None)
def lost_mark(db, customer, reason, competitor, on, by, note):
    """Mark a customer lost.

    Example: patronage care lost mark C003 --reason 价格 --competitor 某竞争对手 --on 2026-05-31
    """
    from patronage.care.lost import mark_lost

    done = guard(lambda: mark_lost(ready_engine(db), customer, _day(on), reason, competitor,
                                   by, note=note))
    click.echo(f"{done['customer']} marked lost on {done['lost_on']}"
               + ("" if done["changed"] else " (already so marked)") + ".")


@lost.command("unmark")
@db_option
@click.argument("customer")
@click.option("--by", default=None, help="Your e-mail.")
@click.option("--note", default=None)
def lost_unmark(db, customer, by, note):
    """Take back a customer's lost mark (won back, or marked by mistake).

    Example: patronage care lost unmark C003 --note "重新下单"
    """
    from patronage.care.lost import unmark_lost

    changed = guard(lambda: unmark_lost(ready_engine(db), customer, by, note=note))
    click.echo(f"{customer}: " + ("no longer marked lost." if changed else "was not marked lost."))


@lost.command("list")
@db_option
@format_option
@click.option("--days", type=int, default=None, help="Only those lost in the last DAYS days.")
def lost_list(db, fmt, days):
    """The lost customers with reason, competitor and spend in their last year; the breakdown
    by reason and competitor is printed with the table.

    Example: patronage care lost list --days 365 --format csv
    """
    from patronage.care.lost import lost_table

    emit(guard(lambda: lost_table(ready_engine(db), days=days)), fmt)


commands.append(lost)


# -- win-back campaigns --------------------------------------------------------------------------

@click.group("campaign")
def campaign() -> None:
    """Win-back campaigns: a list split into target and control, tasks and/or messages to the
    target, and the result against the control group."""


@campaign.command("create")
@db_option
@click.argument("code")
@click.option("--name", required=True)
@click.option("--customer", "customers", multiple=True, help="A customer id (repeat).")
@click.option("--list", "list_name", type=click.Choice(["lost", "at_risk"]), default=None,
              help="A named list instead of --customer.")
@click.option("--days", type=int, default=365, show_default=True,
              help="With --list lost: lost in the last DAYS days.")
@click.option("--offer", default=None, help="The offer, filled in as {offer}.")
@click.option("--task", "task_type", type=click.Choice(["call", "visit", "message"]),
              default=None, help="A task of this type for each target customer.")
@click.option("--channel", type=click.Choice(["sms", "email"]), default=None,
              help="A message on this channel to each target customer.")
@click.option("--text", "text_zh_hans", default=None, help="Message or script (简体中文).")
@click.option("--text-zh-hant", default=None, help="Message or script (繁體中文).")
@click.option("--text-en", default=None, help="Message or script (English).")
@click.option("--control", "control_share", type=float, default=0.2, show_default=True,
              help="Share held out as the control group.")
@click.option("--seed", type=int, default=None, help="Seed of the random split.")
@click.option("--measure-days", type=int, default=90, show_default=True)
@click.option("--by", default=None, help="Your e-mail.")
def campaign_create(db, code, name, customers, list_name, days, offer, task_type, channel,
                    text_zh_hans, text_zh_hant, text_en, control_share, seed, measure_days, by):
    """Create a campaign (a draft; start it with `care campaign start`).

    Example: patronage care campaign create wb-2026q3 --name 老客户回流 --list lost --days 180
    --offer "九折券" --task call --channel sms --text "{name}您好，送您{offer}" --seed 7
    """
    from patronage.care.campaigns import create_campaign

    made = guard(lambda: create_campaign(
        ready_engine(db), code, name, customer_ids=list(customers), list_name=list_name,
        days=days, offer=offer, task_type=task_type, channel=channel,
        templates={"zh_Hans": text_zh_hans, "zh_Hant": text_zh_hant, "en": text_en},
        control_share=control_share, seed=seed, measure_days=measure_days, by=by))
    click.echo(f"Campaign {made['code']}: {made['members']} customers, {made['target']} target, "
               f"{made['control']} control (seed {made['seed']}).")


@campaign.command("start")
@db_option
@click.argument("code")
@click.option("--by", default=None, help="Your e-mail.")
def campaign_start(db, code, by):
    """Approach the target group (each customer once, however often this runs).

    Example: patronage care campaign start wb-2026q3
    """
    from patronage.care.campaigns import start_campaign
    from patronage.cli.common import settings_for

    made = guard(lambda: start_campaign(ready_engine(db), code, by=by, settings=settings_for(db)))
    click.echo(f"Campaign {code}: {made['tasks']} tasks, {made['messages']} messages"
               + (f", {made['not_reachable']} not reachable" if made["not_reachable"] else "")
               + ".")


@campaign.command("results")
@db_option
@format_option
@click.argument("code")
@click.option("--today", default=None, help="Measure up to this day (default today).")
def campaign_results_command(db, fmt, code, today):
    """Target against control: who bought again, revenue, the difference with its confidence
    interval and p-value.

    Example: patronage care campaign results wb-2026q3 --format json
    """
    from patronage.care.campaigns import results_table

    emit(guard(lambda: results_table(ready_engine(db), code, _day(today))), fmt)


@campaign.command("list")
@db_option
@format_option
def campaign_list_command(db, fmt):
    """The campaigns, newest first.

    Example: patronage care campaign list
    """
    from patronage.care.campaigns import campaign_list

    table = guard(lambda: campaign_list(ready_engine(db)))
    emit(table.drop(columns=["id"]), fmt)


commands.append(campaign)
