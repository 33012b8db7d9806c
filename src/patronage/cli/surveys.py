"""``patronage survey`` commands: the survey programme from the command line.

Added to the ``patronage`` command by :mod:`patronage.cli`; each calls one function of :mod:`patronage.surveys`.
"""

from __future__ import annotations

import click

from patronage.cli.common import (
    db_option, engine_for, guard, require_current_schema, run_worker, settings_for,
)


def _survey_engine(db):
    settings = settings_for(db)
    require_current_schema(settings)
    return settings, engine_for(settings)


@click.group()
def survey() -> None:
    """Survey programme: create, open, waves, samples, reminders, mail, triggers, cleaning."""


@survey.command("clean")
@db_option
@click.argument("code")
def survey_clean(db, code):
    """Flag duplicates, incomplete, out-of-range, straight-lining and speeding responses.

    Example: patronage survey clean relationship
    """
    from patronage.surveys.quality import clean_survey

    _settings_, engine = _survey_engine(db)
    counts = guard(lambda: clean_survey(engine, code))
    for flag, n in counts.items():
        click.echo(f"{flag:>16}: {n}")


@survey.command("work")
@db_option
@click.option("--loop", is_flag=True, help="Keep running (every --interval seconds).")
@click.option("--interval", default=30, show_default=True, type=int)
def survey_work(db, loop, interval):
    """The same as `patronage work` (kept as an alias): all scheduled work, including survey
    triggers and mail.

    Example: patronage survey work --loop --interval 60
    """
    run_worker(db, loop, interval)


@survey.command("trigger")
@db_option
@click.argument("code")
@click.option("--event", type=click.Choice(["purchase", "touchpoint", "case_closed"]),
              required=True)
@click.option("--delay-hours", default=24, show_default=True, type=int,
              help="Invite this long after the event.")
@click.option("--reopen-if", "reopen_if", default=None, metavar="CONDITION",
              help="With case_closed: an answer like this reopens the case, e.g. \"csat <= 2\".")
@click.option("--kind", default=None, metavar="KIND",
              help="With touchpoint: only after touchpoints of this kind, e.g. installation.")
def survey_trigger(db, code, event, delay_hours, reopen_if, kind):
    """Invite customers to survey CODE after each purchase, touchpoint or resolved case
    (transactional survey; the answer is tagged with the touchpoint, or the case's; after a
    case, the answer lands on the case and a low one can reopen it).

    Example: patronage survey trigger case-check --event case_closed --delay-hours 0 --reopen-if "csat <= 2"

    Example: patronage survey trigger after-install --event touchpoint --kind installation
    """
    from patronage.cases.rules import parse_condition
    from patronage.surveys.triggers import add_trigger

    _settings_, engine = _survey_engine(db)
    condition = guard(lambda: parse_condition(reopen_if)) if reopen_if else None
    guard(lambda: add_trigger(engine, code, event, delay_hours, reopen_condition=condition,
                              touchpoint_kind=kind))
    click.echo(f"Survey {code} now invites customers {delay_hours} h after each {kind or event}; "
               "`patronage work --loop` sends the invitations.")


@survey.command("create")
@db_option
@click.argument("code")
@click.option("--template", required=True,
              help="relationship, nps, csat, ces, acsi, ecsi, servqual22, kano, cdv, employee.")
@click.option("--title", default=None, help="Default: the template's title.")
@click.option("--language", type=click.Choice(["zh_Hans", "zh_Hant", "en"]), default=None,
              help="The survey language (default: the template's first).")
def survey_create(db, code, template, title, language):
    """Create draft survey CODE from a template.

    Example: patronage survey create nps-2026 --template nps --language zh_Hans
    """
    from patronage.surveys.admin import create_from_template

    _settings_, engine = _survey_engine(db)
    guard(lambda: create_from_template(engine, template, code, title, language))
    click.echo(f"Created draft survey {code}; open it with `patronage survey status {code} open`.")


@survey.command("status")
@db_option
@click.argument("code")
@click.argument("status", type=click.Choice(["open", "closed"]))
@click.option("--open-link", is_flag=True, help="Also give it an anonymous link and QR code.")
def survey_status(db, code, status, open_link):
    """Open or close survey CODE.

    Example: patronage survey status nps-2026 open --open-link
    """
    from patronage.surveys.program import set_status

    settings, engine = _survey_engine(db)
    token = guard(lambda: set_status(engine, code, status, open_link=open_link))
    click.echo(f"Survey {code} is {status}.")
    if token and status == "open":
        click.echo(f"Open link: {settings.survey_base_url()}/o/{token}")


@survey.command("wave")
@db_option
@click.argument("code")
@click.argument("name")
@click.option("--starts", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--ends", type=click.DateTime(["%Y-%m-%d"]), default=None)
def survey_wave(db, code, name, starts, ends):
    """Add wave NAME to survey CODE.

    Example: patronage survey wave relationship 2026-Q3 --starts 2026-07-01 --ends 2026-09-30
    """
    from patronage.surveys.program import add_wave

    _settings_, engine = _survey_engine(db)
    guard(lambda: add_wave(engine, code, name, starts.date(), ends.date() if ends else None))
    click.echo(f"Added wave {name} to survey {code}.")


@survey.command("sample")
@db_option
@click.argument("code")
@click.option("--wave", default=None, help="The wave to invite to.")
@click.option("--method", type=click.Choice(["simple", "stratified", "targeted"]),
              default="simple", show_default=True)
@click.option("--n", "n", default="", help="Sample size (a targeted list takes every match).")
@click.option("--strata", multiple=True, help="Stratify by this column (repeatable).")
@click.option("--allocation", type=click.Choice(["proportional", "neyman", "equal"]),
              default="proportional", show_default=True)
@click.option("--sd", default="", help="Neyman: standard deviations, e.g. 'East=1.2; North=0.8'.")
@click.option("--segment", default="", help="Targeted: e.g. 'size=key account; region=North'.")
@click.option("--ids", "ids_file", type=click.File("rb"), default=None,
              help="Targeted: a text file of customer ids (one per line or comma-separated).")
@click.option("--quotas", default="", help="Caps on strata cells, e.g. 'East=50; North=30'.")
@click.option("--seed", default="", help="Random seed, to repeat a draw.")
@click.option("--channel", type=click.Choice(["email", "sms", "phone", "link", "paper"]),
              default="email", show_default=True)
@click.option("--preview", is_flag=True,
              help="Show whom the draw would invite and its seed; invite no one.")
def survey_sample(db, code, wave, method, n, strata, allocation, sd, segment, ids_file,
                  quotas, seed, channel, preview):
    """Draw a sample from the customer panel and invite it to survey CODE (the same as the
    survey page's sample form; consent and the quiet period are respected).

    Example: patronage survey sample relationship --wave 2026-Q3 --method stratified --n 600
    --strata region --allocation neyman --sd 'East=1.2; North=0.8'
    """
    from patronage.storage.importing.reading import decode
    from patronage.surveys.admin import exclusion_counts, sample_options
    from patronage.surveys.program import draw_sample

    settings, engine = _survey_engine(db)
    # The encoding as an import file's: UTF-8 (with or without BOM), GB18030, UTF-16.
    ids = guard(lambda: decode(ids_file.read(), None)[0]) if ids_file else ""
    options = guard(lambda: sample_options(
        method=method, n=n, strata=list(strata), allocation=allocation, sd=sd, seed=seed,
        segments=segment, ids=ids, quotas=quotas))
    report = guard(lambda: draw_sample(engine, code, wave, channel=channel,
                                        base_url=settings.survey_base_url(), preview=preview,
                                        **options))
    if report.preview:
        click.echo(f"Preview: would invite {report.invited} of {report.eligible} eligible "
                   f"customers and queue {report.mails} mail(s); nobody was invited. Run again "
                   f"with --seed {report.seed} and without --preview to invite exactly them.")
        for row in report.customers.head(50).itertuples(index=False):
            click.echo(f"  {row.customer_id}  {row.stratum}")
    else:
        click.echo(f"Invited {report.invited} of {report.eligible} eligible customers; "
                   f"{report.mails} mail(s) queued (`patronage survey work` sends them).")
    for row in exclusion_counts(report.exclusions).itertuples(index=False):
        click.echo(f"  not eligible, {row.reason}: {row.customers}")
    if report.unmatched_ids:
        click.echo(f"  ids not found or not eligible: {', '.join(map(str, report.unmatched_ids))}")


@survey.command("draws")
@db_option
@click.argument("code")
@click.option("--withdraw", "drawn_at", default=None, metavar="DRAWN_AT",
              help="Withdraw the draw made at this moment (as listed), if none of its mail "
                   "was sent and nobody answered it.")
def survey_draws(db, code, drawn_at):
    """List the latest draws of survey CODE, or withdraw one whose mail has not gone out.

    Example: patronage survey draws nps-2026 --withdraw 2026-07-02T09:15:03.123456
    """
    from patronage.surveys.draws import list_draws, parse_drawn_at, withdraw_draw

    _settings, engine = _survey_engine(db)
    if drawn_at is not None:
        count = guard(lambda: withdraw_draw(engine, code, parse_drawn_at(drawn_at)))
        click.echo(f"Withdrew the draw of {drawn_at}: {count} invitation(s) and their queued "
                   "mail deleted.")
        return
    draws = guard(lambda: list_draws(engine, code))
    if draws.empty:
        click.echo(f"Survey {code} has no draws yet.")
    for d in draws.itertuples(index=False):
        state = "can be withdrawn" if d.withdrawable else "sent or answered"
        click.echo(f"{d.drawn_at.isoformat()}  wave {d.wave or '-'}: {d.invitations} invited, "
                   f"{d.mails_queued} mail(s) queued, {d.mails_sent} sent, {d.responded} "
                   f"answered; {state}")


@survey.command("remind")
@db_option
@click.argument("code")
@click.option("--wave", default=None)
@click.option("--older-than-days", default=7, show_default=True, type=click.IntRange(min=0),
              help="Remind those invited at least this many days ago who have not answered.")
def survey_remind(db, code, wave, older_than_days):
    """Queue a reminder to invited customers who have not answered survey CODE.

    Example: patronage survey remind relationship --wave 2026-Q3 --older-than-days 7
    """
    from patronage.surveys.program import send_reminders

    settings, engine = _survey_engine(db)
    queued = guard(lambda: send_reminders(engine, code, wave, older_than_days=older_than_days,
                                           base_url=settings.survey_base_url()))
    click.echo(f"Queued {queued} reminder(s).")
