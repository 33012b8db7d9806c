"""``patronage care`` commands for the care calendar, greetings, outreach and opt-outs."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine, settings_for

#: Commands of the ``care`` group defined here (assembled in :mod:`patronage.cli`).
commands: list[click.Command] = []


@click.command("calendar")
@db_option
@format_option
@click.option("--days", default=60, show_default=True, type=click.IntRange(0, 366),
              help="How many days ahead.")
@click.option("--from", "start", default=None, type=click.DateTime(["%Y-%m-%d"]),
              help="First day (default: today in PATRONAGE_TIMEZONE).")
def calendar(db, fmt, days, start):
    """The coming occasions: birthdays, anniversaries, festivals and company days, with the
    number of customers each would reach.

    Example: patronage care calendar --days 60 --format json
    """
    from patronage.reporting.care_calendar import calendar_table

    engine = ready_engine(db)
    emit(guard(lambda: calendar_table(engine, days=days, today=start.date() if start else None,
                                      settings=settings_for(db))), fmt)


@click.group("occasion")
def occasion() -> None:
    """Occasions of the care calendar: add a company day, list, switch on or off, remove."""


@occasion.command("list")
@db_option
@format_option
def occasion_list(db, fmt):
    """Every occasion with its settings (built-ins come switched off).

    Example: patronage care occasion list
    """
    from patronage.reporting.care_calendar import occasion_table

    emit(guard(lambda: occasion_table(ready_engine(db))), fmt)


@occasion.command("add")
@db_option
@click.argument("code")
@click.option("--name", required=True, help="Its name (all languages unless --name-zh...).")
@click.option("--name-zh-hans", default=None)
@click.option("--name-zh-hant", default=None)
@click.option("--on", "on_date", default=None, help="A one-off date, e.g. 2027-05-20.")
@click.option("--every", default=None, metavar="MM-DD", help="Every year on this day.")
@click.option("--lunar", is_flag=True, help="--every is a lunar month and day.")
@click.option("--action", type=click.Choice(["greeting", "task"]), default="greeting",
              show_default=True)
@click.option("--channel", type=click.Choice(["sms", "email"]), default="sms", show_default=True)
@click.option("--template", default=None, help="Greeting in Simplified Chinese ({name}...).")
@click.option("--template-en", default=None)
@click.option("--template-zh-hant", default=None)
@click.option("--task-type", type=click.Choice(["call", "visit", "message"]), default=None)
@click.option("--gift", default=None)
@click.option("--gift-cost", type=float, default=None)
@click.option("--tiers", default=None, help="Only these tiers, comma-separated.")
@click.option("--days-before", type=int, default=0, show_default=True)
def occasion_add(db, code, name, name_zh_hans, name_zh_hant, on_date, every, lunar, action,
                 channel, template, template_en, template_zh_hant, task_type, gift, gift_cost,
                 tiers, days_before):
    """Add a company day (switched on).

    Example: patronage care occasion add anniversary10 --name 公司十周年 --on 2027-05-20
    """
    from patronage.care.occasions import add_occasion

    month = day = None
    if every:
        parts = every.split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise click.BadParameter("write it as MM-DD, e.g. 05-20", param_hint="--every")
        month, day = int(parts[0]), int(parts[1])
    values = dict(name_zh_hans=name_zh_hans, name_zh_hant=name_zh_hant, on_date=on_date,
                  month=month, day=day, lunar=lunar, action=action, channel=channel,
                  template_zh_hans=template, template_en=template_en,
                  template_zh_hant=template_zh_hant, task_type=task_type, gift=gift,
                  gift_cost=gift_cost, tiers=tiers, days_before=days_before)
    guard(lambda: add_occasion(ready_engine(db), code, name=name,
                               **{k: v for k, v in values.items() if v is not None}))
    click.echo(f"Added occasion {code}.")


def _switch(name: str, active: bool):
    @db_option
    @click.argument("code")
    def command(db, code):
        from patronage.care.occasions import set_active

        guard(lambda: set_active(ready_engine(db), code, active))
        click.echo(f"Switched occasion {code} {'on' if active else 'off'}.")

    command.__doc__ = (f"Switch an occasion {name}.\n\n"
                       f"Example: patronage care occasion {name} spring_festival")
    return occasion.command(name)(command)


_switch("on", True)
_switch("off", False)


@occasion.command("remove")
@db_option
@click.argument("code")
def occasion_remove(db, code):
    """Remove a company day (built-in occasions are switched off instead).

    Example: patronage care occasion remove anniversary10
    """
    from patronage.care.occasions import remove_occasion

    guard(lambda: remove_occasion(ready_engine(db), code))
    click.echo(f"Removed occasion {code}.")


@click.command("sms-replies")
@db_option
@click.argument("file", type=click.Path(dir_okay=False))
def sms_replies(db, file):
    """Record replies to text messages from a CSV file (columns from, body, at): TD / 退订 /
    STOP opts the sender out, other replies go on the contact log.

    Example: patronage care sms-replies replies.csv
    """
    from patronage.care.optout import read_replies_csv, record_replies

    settings = settings_for(db)
    engine = ready_engine(db)
    counts = guard(lambda: record_replies(engine, read_replies_csv(file, settings.timezone)))
    click.echo(", ".join(f"{name} {n}" for name, n in counts.items()))


commands.extend([calendar, occasion, sms_replies])
