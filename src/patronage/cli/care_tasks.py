"""``patronage care`` commands for follow-up rules, tasks and outcomes, and ``analyze care``."""

from __future__ import annotations

import click

from patronage.cli.common import (
    db_option, emit, format_option, guard, ready_engine, settings_for,
)

#: Commands of the ``care`` group defined here (assembled in :mod:`patronage.cli`).
commands: list[click.Command] = []
TASK_COLUMNS = ["id", "due_at", "type", "customer", "customer_name", "phone", "subject",
                "attempts", "outcome", "assignee_email", "team"]


@click.group()
def analysis_commands() -> None:
    """``analyze`` commands defined here."""


def _frame(rows, columns):
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


# -- rules ---------------------------------------------------------------------------------------

@click.group("rule")
def rule() -> None:
    """Follow-up rules: what makes a care task (the worker runs them)."""


@rule.command("add")
@db_option
@click.option("--trigger", required=True,
              type=click.Choice(["purchase", "touchpoint", "case_resolved", "visit_due",
                                 "alive_drop"]))
@click.option("--days", default=None, help="Days after the event (purchase, touchpoint, "
              "case_resolved) or between visits (visit_due).")
@click.option("--category", default=None, help="purchase: only this product category.")
@click.option("--product", default=None, help="purchase: only this product.")
@click.option("--kind", default=None, help="touchpoint: its kind (default installation).")
@click.option("--every-days", "every_days", default=None, help="visit_due: default 90.")
@click.option("--below", default=None, help="alive_drop: P(alive) threshold (default 0.5).")
@click.option("--tiers", default=None, help="alive_drop: tiers, comma-separated (default all).")
@click.option("--within-days", "within_days", default=None,
              help="alive_drop: only customers who bought within this many days (default 365).")
@click.option("--type", "task_type", default="call", show_default=True,
              type=click.Choice(["call", "visit", "message"]))
@click.option("--team", default=None, help="Team name (tasks rotate among its members).")
@click.option("--assignee", default=None, help="Staff e-mail.")
@click.option("--to-owner", "to_owner", is_flag=True,
              help="Give the task to the customer's account owner when there is one.")
@click.option("--name", default=None, help="What the task is called (default from the trigger).")
@click.option("--code", default=None, help="A short code for the rule (default trigger-N).")
@click.option("--script-zh", "script_zh", default=None,
              help="Script in Simplified Chinese; {name}, {product}, {category}, {date} ...")
@click.option("--script-zh-hant", "script_zh_hant", default=None)
@click.option("--script-en", "script_en", default=None)
def rule_add(db, trigger, days, category, product, kind, every_days, below, tiers, within_days,
             task_type, team, assignee, to_owner, name, code, script_zh, script_zh_hant,
             script_en):
    """Add a follow-up rule.

    Example: patronage care rule add --trigger purchase --days 3 --category 空调 --type call
    --team 华东服务组 --script-zh "您好{name}，您购买的{product}用得怎么样？"
    """
    from patronage.care.rules import add_rule

    params = {"days": days, "category": category, "product": product, "kind": kind,
              "every_days": every_days, "below": below, "tiers": tiers,
              "within_days": within_days}
    params = {k: v for k, v in params.items() if v is not None}
    settings = settings_for(db)
    made = guard(lambda: add_rule(
        ready_engine(db), trigger=trigger, params=params, task_type=task_type, name=name,
        code=code, team=team, assignee=assignee, to_account_owner=to_owner,
        scripts={"en": script_en, "zh_Hans": script_zh, "zh_Hant": script_zh_hant},
        language=settings.customer_language))
    click.echo(f"Added rule {made['code']}: {made['name']}")


@rule.command("list")
@db_option
@format_option
def rule_list(db, fmt):
    """The follow-up rules with the tasks each made.

    Example: patronage care rule list --format json
    """
    from patronage.care.rules import list_rules

    rows = list_rules(ready_engine(db))
    emit(_frame(rows, ["id", "code", "name", "trigger", "params", "task_type", "team",
                       "assignee", "to_account_owner", "active", "made", "open_tasks"]), fmt)


@rule.command("remove")
@db_option
@click.argument("rule_ref", metavar="RULE")
@click.option("--off", is_flag=True, help="Only switch it off (keep it for later).")
def rule_remove(db, rule_ref, off):
    """Remove a rule (by code or id); its tasks stay.

    Example: patronage care rule remove purchase-1
    """
    from patronage.care.rules import remove_rule, switch_rule

    if off:
        code = guard(lambda: switch_rule(ready_engine(db), rule_ref, False))
        click.echo(f"Switched rule {code} off.")
    else:
        code = guard(lambda: remove_rule(ready_engine(db), rule_ref))
        click.echo(f"Removed rule {code}.")


# -- tasks ---------------------------------------------------------------------------------------

@click.command("tasks")
@db_option
@format_option
@click.option("--due", default="today", show_default=True,
              type=click.Choice(["today", "overdue", "week", "all"]),
              help="today, overdue (before today), week (next 7 days and overdue), all open.")
@click.option("--assignee", default=None, help="Staff e-mail.")
@click.option("--team", default=None, help="Team name.")
def tasks_command(db, fmt, due, assignee, team):
    """Open care tasks, soonest due first (numbers for `care done`).

    Example: patronage care tasks --due today --format json
    """
    from patronage.care.tasks import find_tasks

    settings = settings_for(db)
    rows = guard(lambda: find_tasks(ready_engine(db), due=due, assignee=assignee, team=team,
                                    timezone=settings.timezone))
    emit(_frame(rows, TASK_COLUMNS), fmt)


@click.command("done")
@db_option
@click.argument("number")
@click.option("--outcome", required=True, help="An outcome code (see `care outcomes list`).")
@click.option("--note", default=None)
@click.option("--by", "by", default=None, help="Staff e-mail of who made the call.")
def done_command(db, number, outcome, note, by):
    """Record what came of a task: no_answer retries later, reached_problem opens a case.

    Example: patronage care done 12 --outcome reached_ok --note "空调运行正常"
    """
    from patronage.care.tasks import complete_task, user_by_email
    from patronage.cases.config import DeskConfig

    engine, settings = ready_engine(db), settings_for(db)
    result = guard(lambda: complete_task(
        engine, number, outcome, note=note, by=user_by_email(engine, by),
        config=DeskConfig.from_settings(settings)))
    line = f"Task {result['task']}: {result['outcome']}, {result['status']}"
    if result["due_at"] is not None:
        line += f", due again {result['due_at']:%Y-%m-%d %H:%M} UTC"
    if result["case"]:
        line += f", case {result['case']} opened"
    click.echo(line)


@click.command("schedule")
@db_option
@click.option("--customer", "customer_ids", required=True, multiple=True,
              help="The customer's id (repeat for several).")
@click.option("--subject", required=True)
@click.option("--due", required=True, help="Due date, YYYY-MM-DD or YYYY-MM-DD HH:MM (local).")
@click.option("--type", "task_type", default="call", show_default=True,
              type=click.Choice(["call", "visit", "message"]))
@click.option("--assignee", default=None, help="Staff e-mail.")
@click.option("--team", default=None, help="Team name.")
@click.option("--note", default=None)
def schedule_command(db, customer_ids, subject, due, task_type, assignee, team, note):
    """Schedule a follow-up by hand.

    Example: patronage care schedule --customer C001 --due 2026-06-03 --subject "回访安装效果"
    """
    from patronage.care.tasks import schedule_by_name

    settings = settings_for(db)
    made = guard(lambda: schedule_by_name(
        ready_engine(db), customers=list(customer_ids), type=task_type, due=due,
        subject=subject, assignee=assignee, team=team, note=note, timezone=settings.timezone))
    click.echo(f"Scheduled {len(made)} task(s): {', '.join(map(str, made)) or '-'}")


@click.command("cancel")
@db_option
@click.argument("number")
@click.option("--note", default=None)
def cancel_command(db, number, note):
    """Cancel an open task.

    Example: patronage care cancel 12 --note "客户已来电"
    """
    from patronage.care.tasks import cancel_task

    click.echo(f"Cancelled task {guard(lambda: cancel_task(ready_engine(db), number, note=note))}.")


# -- outcomes ------------------------------------------------------------------------------------

@click.group("outcomes")
def outcomes() -> None:
    """The outcomes a care task can end with, and what each does."""


@outcomes.command("list")
@db_option
@format_option
def outcomes_list(db, fmt):
    """The outcome list (the defaults are written on first use).

    Example: patronage care outcomes list
    """
    from patronage.care.outcomes import list_outcomes

    emit(_frame(list_outcomes(ready_engine(db)),
                ["code", "name_en", "name_zh_hans", "name_zh_hant", "effect", "reached",
                 "retry_after_hours", "max_attempts", "active"]), fmt)


@outcomes.command("add")
@db_option
@click.argument("code")
@click.option("--name", "name_en", required=True, help="Name in English.")
@click.option("--name-zh", "name_zh", default=None, help="Name in Simplified Chinese.")
@click.option("--name-zh-hant", "name_zh_hant", default=None)
@click.option("--effect", default="done", show_default=True,
              type=click.Choice(["done", "open_case", "retry", "wrong_number", "do_not_call"]))
@click.option("--reached", is_flag=True, help="The customer was reached (the reach rate).")
@click.option("--retry-hours", "retry_hours", default=None, help="retry: hours (default 4).")
@click.option("--max-attempts", "max_attempts", default=None, help="retry: tries (default 3).")
@click.option("--off", is_flag=True, help="Offer this outcome no more.")
def outcomes_add(db, code, name_en, name_zh, name_zh_hant, effect, reached, retry_hours,
                 max_attempts, off):
    """Add an outcome (or change the one with this code).

    Example: patronage care outcomes add busy --name "Busy, call later" --name-zh 客户忙
    --effect retry --retry-hours 2
    """
    from patronage.care.outcomes import add_outcome, switch_outcome

    engine = ready_engine(db)
    code = guard(lambda: add_outcome(engine, code, name_en, effect=effect, name_zh_hans=name_zh,
                                     name_zh_hant=name_zh_hant, reached=reached,
                                     retry_after_hours=retry_hours, max_attempts=max_attempts))
    if off:
        guard(lambda: switch_outcome(engine, code, False))
    click.echo(f"Saved outcome {code}.")


# -- the report ----------------------------------------------------------------------------------

@analysis_commands.command("care")
@db_option
@format_option
@click.option("--weeks", default=12, show_default=True, type=int)
def analyze_care(db, fmt, weeks):
    """Care work per team and ISO week: completion rate, reach rate and outcome mix, with n.

    Example: patronage analyze care --weeks 12 --format json
    """
    from patronage.care.report import care_report, care_table

    settings = settings_for(db)
    emit(care_table(guard(lambda: care_report(ready_engine(db), weeks=weeks,
                                              timezone=settings.timezone))), fmt)


commands.extend([rule, tasks_command, done_command, schedule_command, cancel_command, outcomes])
