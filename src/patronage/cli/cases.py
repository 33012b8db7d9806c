"""``patronage case``: the case desk from the command line, one library call per command."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine

STATUS_STEPS = {"resolve": "resolved", "close": "closed", "wait": "waiting",
                "start": "in_progress"}


def _config(db):
    from patronage.cases.config import DeskConfig
    from patronage.cli.common import settings_for

    return DeskConfig.from_settings(settings_for(db))


@click.group("case")
def case() -> None:
    """The case desk: open, list, work and close cases; alert rules; service levels; teams."""


@case.command("open")
@db_option
@click.option("--customer", required=True, help="The customer's id.")
@click.option("--subject", required=True)
@click.option("--description", default=None)
@click.option("--type", "type_", default="complaint", show_default=True)
@click.option("--channel", default="agent", show_default=True)
@click.option("--category", default=None)
@click.option("--severity", default="normal", show_default=True)
@click.option("--contact", default=None)
@click.option("--owner", default=None, help="Staff e-mail (default: by assignment rules).")
@click.option("--team", default=None)
@click.option("--ref", "external_ref", default=None, help="Your system's id for it (idempotent).")
@click.option("--touchpoint", default=None,
              help="The id of the touchpoint it is about, as imported (patronage import "
                   "touchpoints).")
def case_open(db, customer, subject, description, type_, channel, category, severity, contact,
              owner, team, external_ref, touchpoint):
    """Open a case.

    Example: patronage case open --customer C001 --subject "货物破损" --category delivery
    """
    from patronage.cases.desk import NewCase, open_case

    new = NewCase(customer=customer, subject=subject, description=description, type=type_,
                  channel=channel, category=category, severity=severity, contact=contact,
                  owner=owner, team=team, external_ref=external_ref, touchpoint=touchpoint)
    click.echo(guard(lambda: open_case(ready_engine(db), new, config=_config(db))))


@case.command("list")
@db_option
@format_option
@click.option("--status", default="open", show_default=True,
              help="open (still needs work), all, or new|assigned|in_progress|waiting|"
                   "resolved|closed.")
@click.option("--owner", default=None, help="Staff e-mail.")
@click.option("--team", default=None)
@click.option("--customer", default=None, help="The customer's id.")
@click.option("--breached", is_flag=True, help="Only cases past a service-level target.")
@click.option("--due-within", "due_within", type=float, default=None, metavar="HOURS")
@click.option("--unassigned", is_flag=True)
def case_list(db, fmt, status, owner, team, customer, breached, due_within, unassigned):
    """List cases, most urgent first.

    Example: patronage case list --status open --breached --format csv
    """
    from patronage.cases.queues import list_cases_by_name

    engine = ready_engine(db)
    emit(guard(lambda: list_cases_by_name(
        engine, status=status, owner=owner, team=team, customer=customer, breached=breached,
        due_within_hours=due_within, unassigned=unassigned)), fmt)


@case.command("show")
@db_option
@click.argument("number")
def case_show(db, number):
    """A case and its timeline.

    Example: patronage case show C000123
    """
    from patronage.cases.desk import case_detail
    from patronage.cases.queues import case_text

    click.echo(case_text(guard(lambda: case_detail(ready_engine(db), number))))


@case.command("assign")
@db_option
@click.argument("number")
@click.option("--owner", default=None, help="Staff e-mail.")
@click.option("--team", default=None, help="A team (its next member in rotation, without --owner).")
def case_assign(db, number, owner, team):
    """Give a case to a person or a team.

    Example: patronage case assign C000123 --owner li@example.com
    """
    from patronage.cases.desk import assign

    click.echo(guard(lambda: assign(ready_engine(db), number, owner=owner, team=team,
                                    config=_config(db))))


def _text_command(name: str, internal: bool, help_text: str):
    @db_option
    @click.argument("number")
    @click.argument("text")
    def command(db, number, text):
        from patronage.cases.desk import reply

        click.echo(guard(lambda: reply(ready_engine(db), number, text, internal=internal,
                                       config=_config(db))))

    command.__doc__ = help_text
    return case.command(name)(command)


_text_command("reply", False, "A reply to the customer (the first one meets the first-response "
              "target).\n\nExample: patronage case reply C000123 \"已安排换货\"")
_text_command("note", True, "An internal note on the case.\n\n"
              "Example: patronage case note C000123 \"客户要求周五前送达\"")


def _status_command(name: str, status: str):
    @db_option
    @click.argument("number")
    @click.option("--note", default=None, help="A note for the timeline.")
    def command(db, number, note):
        from patronage.cases.desk import set_status

        click.echo(guard(lambda: set_status(ready_engine(db), number, status, note=note,
                                            config=_config(db))))

    command.__doc__ = (f"Move a case to {status.replace('_', ' ')}.\n\n"
                       f"Example: patronage case {name} C000123 --note \"...\"")
    return case.command(name)(command)


for _name, _status in STATUS_STEPS.items():
    _status_command(_name, _status)


@case.command("reopen")
@db_option
@click.argument("number")
@click.option("--reason", required=True)
def case_reopen(db, number, reason):
    """Reopen a resolved or closed case (new service-level clocks).

    Example: patronage case reopen C000123 --reason "客户反映问题仍在"
    """
    from patronage.cases.desk import reopen

    click.echo(guard(lambda: reopen(ready_engine(db), number, reason=reason, config=_config(db))))


@case.group("rule")
def rule() -> None:
    """Alert rules: survey answers that open a case."""


@rule.command("add")
@db_option
@click.argument("code")
@click.argument("condition")
@click.option("--name", default=None, help="What the case subject starts with.")
@click.option("--survey", default=None, help="Only answers to this survey.")
@click.option("--type", "type_", default="detractor", show_default=True)
@click.option("--category", default=None)
@click.option("--severity", default="normal", show_default=True)
@click.option("--from-start", is_flag=True, help="Also check every answer already stored.")
def rule_add(db, code, condition, name, survey, type_, category, severity, from_start):
    """Add a rule, e.g. "nps <= 6", "comment contains 投诉|退货|律师", "key_account and nps < 7".

    Example: patronage case rule add detractor "nps <= 6" --name 差评预警
    """
    from patronage.cases.rules import add_rule

    guard(lambda: add_rule(ready_engine(db), code, name or code, condition, case_type=type_,
                           severity=severity, category=category, survey=survey,
                           from_start=from_start))
    click.echo(f"Added rule {code}.")


@rule.command("list")
@db_option
@format_option
def rule_list(db, fmt):
    """The alert rules.

    Example: patronage case rule list
    """
    import pandas as pd

    from patronage.cases.rules import list_rules

    rows = list_rules(ready_engine(db))
    columns = ["code", "name", "condition_text", "survey", "case_type", "category", "severity",
               "active"]
    emit(pd.DataFrame(rows, columns=columns), fmt)


@rule.command("remove")
@db_option
@click.argument("code")
def rule_remove(db, code):
    """Switch a rule off.

    Example: patronage case rule remove detractor
    """
    from patronage.cases.rules import remove_rule

    guard(lambda: remove_rule(ready_engine(db), code))
    click.echo(f"Switched rule {code} off.")


@case.group("sla")
def sla() -> None:
    """Service-level policies (targets in business time)."""


@sla.command("add")
@db_option
@click.argument("name")
@click.option("--first-response", "first_response", required=True, type=int, metavar="MINUTES")
@click.option("--resolution", required=True, type=int, metavar="MINUTES")
@click.option("--warn", default=60, show_default=True, type=int, metavar="MINUTES",
              help="Warn this long before the resolution target.")
@click.option("--severity", default=None, help="Only cases of this severity.")
@click.option("--category", default=None, help="Only cases of this category.")
def sla_add(db, name, first_response, resolution, warn, severity, category):
    """Add a policy; escalation goes to the owner at the breach, the team lead 4 business hours
    later and the manager after 9.

    Example: patronage case sla add urgent --severity urgent --first-response 30 --resolution 240
    """
    from patronage.cases.setup import add_policy

    guard(lambda: add_policy(ready_engine(db), name, first_response_minutes=first_response,
                             resolution_minutes=resolution, warn_minutes=warn, severity=severity,
                             category=category))
    click.echo(f"Added policy {name}.")


@sla.command("list")
@db_option
@format_option
def sla_list(db, fmt):
    """The service-level policies.

    Example: patronage case sla list
    """
    from patronage.cases.setup import list_policies

    emit(list_policies(ready_engine(db)), fmt)


@case.command("team")
@db_option
@click.argument("name")
@click.option("--lead", default=None, help="Staff e-mail of the team lead.")
@click.option("--manager", default=None, help="Staff e-mail of the manager.")
@click.option("--member", "members", multiple=True, help="Staff e-mail; repeat for more.")
def case_team(db, name, lead, manager, members):
    """Add a team (its members share new cases in turn).

    Example: patronage case team 华东服务组 --lead wang@example.com --member li@example.com
    """
    from patronage.cases.setup import add_team

    guard(lambda: add_team(ready_engine(db), name, lead=lead, manager=manager,
                           members=list(members)))
    click.echo(f"Added team {name}.")


@case.command("category")
@db_option
@click.argument("code")
@click.option("--en", required=True)
@click.option("--zh-hans", "zh_hans", required=True)
@click.option("--zh-hant", "zh_hant", required=True)
@click.option("--parent", default=None)
def case_category(db, code, en, zh_hans, zh_hant, parent):
    """Add a case category with its names.

    Example: patronage case category delivery --en Delivery --zh-hans 交付 --zh-hant 交付
    """
    from patronage.cases.setup import add_category

    guard(lambda: add_category(ready_engine(db), code, en=en, zh_hans=zh_hans, zh_hant=zh_hant,
                               parent=parent))
    click.echo(f"Added category {code}.")


@click.group()
def analysis_commands() -> None:
    """Complaint analyses (merged into ``patronage analyze``)."""


@analysis_commands.command("complaints")
@db_option
@format_option
@click.option("--show", type=click.Choice(["volume", "handling", "coverage", "paradox",
                                           "retention"]),
              default="volume", show_default=True,
              help="Cases per group; handling times, service levels, reopen rate and cost; "
                   "detractors that got a case; the recovery paradox on later answers or on "
                   "retention.")
@click.option("--by", default="category", show_default=True,
              help="With volume: category, touchpoint, region, product, month, type, severity, "
                   "channel.")
@click.option("--item", default="nps", show_default=True,
              help="With paradox: the later answer compared (nps, overall_satisfaction ...).")
@click.option("--window-days", default=180, show_default=True, type=int,
              help="With retention: a purchase within this many days counts as retained.")
def analyze_complaints(db, fmt, show, by, item, window_days):
    """Complaint analysis: volume and rate per 1,000 customers, handling times, service-level
    compliance, reopen rate, recovery cost, detractor coverage and the recovery paradox.

    Example: patronage analyze complaints --show paradox --item nps
    """
    from patronage.cases import analysis

    engine = ready_engine(db)
    compute = {"volume": lambda: analysis.volume(engine, by),
               "handling": lambda: analysis.handling(engine),
               "coverage": lambda: analysis.detractor_coverage(engine),
               "paradox": lambda: analysis.recovery_paradox(engine, item=item),
               "retention": lambda: analysis.recovery_paradox(engine, retention=True,
                                                              window_days=window_days)}[show]
    emit(guard(compute), fmt)
