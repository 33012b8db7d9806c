"""``patronage action add|list|update``: improvement actions and their measured effect."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine

LIST_COLUMNS = ["id", "group", "status", "due_on", "title", "owner_email", "team", "budget",
                "metric", "segment", "target_change", "before", "after", "change", "ci_low",
                "ci_high", "p_value", "effect"]


@click.group("action")
def action() -> None:
    """Improvement actions: made from an analysis or by hand, followed to done, measured."""


@action.command("add")
@db_option
@click.argument("title")
@click.option("--due", required=True, help="Due date, e.g. 2026-09-30.")
@click.option("--metric", default="csi", show_default=True,
              help="What it should move: nps, csi, dimension:<code>, item:<code>.")
@click.option("--survey", default=None, help="Survey code (default: the most answered).")
@click.option("--target", default=None, help="The change aimed for, e.g. 0.5 (metric units).")
@click.option("--segment", default=None, help="The customers it targets, e.g. 'region=East China'.")
@click.option("--owner", default=None, help="Owner's e-mail.")
@click.option("--team", default=None, help="Team name.")
@click.option("--budget", default=None, help="Budget in ¥.")
@click.option("--baseline-wave", "baseline_wave", default=None,
              help="Baseline wave (default: the survey's newest).")
@click.option("--baseline-until", "baseline_until", default=None,
              help="Surveys without waves: the baseline is the answers before this day.")
@click.option("--source", default="manual", show_default=True,
              type=click.Choice(["ipa", "driver", "kano", "complaint", "theme", "manual"]))
@click.option("--source-ref", "source_ref", default=None,
              help="What it came from: a dimension, attribute, category or theme.")
@click.option("--description", default=None)
def add(db, title, due, metric, survey, target, segment, owner, team, budget, baseline_wave,
        baseline_until, source, source_ref, description):
    """Add an action (status planned).

    Example: patronage action add "缩短服务响应时间" --due 2026-09-30 --metric item:speed_timeliness
    --target 0.5 --segment "region=East China" --owner lin@example.com --budget 20000
    """
    from patronage.actions.records import create_action

    number = guard(lambda: create_action(
        ready_engine(db), title=title, due=due, metric=metric, survey=survey, target=target,
        segment=segment, owner=owner, team=team, budget=budget, baseline_wave=baseline_wave,
        baseline_until=baseline_until, source=source, source_ref=source_ref,
        description=description))
    click.echo(f"Added action #{number}: {title}")


@action.command("list")
@db_option
@format_option
@click.option("--status", default=None,
              type=click.Choice(["planned", "in_progress", "done", "cancelled"]))
@click.option("--owner", default=None, help="Owner's e-mail.")
@click.option("--team", default=None, help="Team name.")
@click.option("--group", "group", default=None,
              type=click.Choice(["late", "open", "achieved", "not_achieved", "waiting",
                                 "cancelled"]))
def list_command(db, fmt, status, owner, team, group):
    """Actions, soonest due first, with the effect measured on their metric.

    Example: patronage action list --group late --format json
    """
    from patronage.actions.board import board

    shown = guard(lambda: board(ready_engine(db), status=status, owner=owner, team=team,
                                group=group))
    emit(_frame(shown["rows"]), fmt)


def _frame(rows):
    import pandas as pd

    from patronage.actions.records import metric_text

    out = []
    for row in rows:
        effect = row["effect"]
        out.append({**{key: row.get(key) for key in LIST_COLUMNS},
                    "metric": metric_text(row["metric_kind"], row["metric_code"]),
                    "before": effect.before if effect else None,
                    "after": effect.after if effect else None,
                    "change": effect.change if effect else None,
                    "ci_low": effect.ci_low if effect else None,
                    "ci_high": effect.ci_high if effect else None,
                    "p_value": effect.p_value if effect else None,
                    "effect": row["sentence"]})
    return pd.DataFrame(out, columns=LIST_COLUMNS)


@action.command("update")
@db_option
@click.argument("number")
@click.option("--status", default=None,
              type=click.Choice(["planned", "in_progress", "done", "cancelled"]))
@click.option("--note", default=None, help="A note for the action's history.")
@click.option("--due", default=None, help="A new due date.")
@click.option("--owner", default=None, help="A new owner's e-mail.")
def update(db, number, status, note, due, owner):
    """Change an action's status, due date or owner, or add a note.

    Example: patronage action update 3 --status done --note "培训已完成"
    """
    from patronage.actions.records import update_action

    row = guard(lambda: update_action(ready_engine(db), number, status=status, note=note,
                                      due=due, owner=owner))
    click.echo(f"Action #{row['id']}: {row['status']}, due {row['due_on']}")


__all__ = ["action"]
