"""``patronage care`` commands for the contact log and customer profiles."""

from __future__ import annotations

import json

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine


@click.command("contact")
@db_option
@click.option("--customer", required=True, help="The customer's id.")
@click.option("--channel", required=True,
              help="phone, visit, sms, email, wechat, letter, web or other.")
@click.option("--kind", required=True, help="call, visit, message, greeting, gift, note, reply …")
@click.option("--direction", default="out", show_default=True,
              help="out: we contacted them; in: they contacted us.")
@click.option("--outcome", default=None, help="What came of it (a care outcome code or a word).")
@click.option("--note", default=None, help="What was said or done.")
@click.option("--at", default=None, help="When, in UTC (default now), e.g. 2026-06-01T14:30.")
@click.option("--cost", default=None, help="What it cost (a gift, a visit), in ¥.")
@click.option("--by", "by", default=None, help="The staff member's e-mail.")
def care_contact(db, customer, channel, kind, direction, outcome, note, at, cost, by):
    """Log a contact with a customer on their timeline.

    Example: patronage care contact --customer C001 --channel phone --kind call --outcome reached
    """
    from patronage.care.contacts import customer_pk, record_contact, user_id_of

    engine = ready_engine(db)

    def log():
        with engine.connect() as conn:
            user = user_id_of(conn, by)
        return record_contact(engine, customer_id=customer_pk(engine, customer), channel=channel,
                              kind=kind, direction=direction, outcome=outcome, body=note, at=at,
                              cost=cost, user_id=user)
    click.echo(f"contact {guard(log)} logged")


@click.command("contacts")
@db_option
@format_option
@click.option("--customer", required=True, help="The customer's id.")
@click.option("--limit", type=int, default=None, help="Only the newest N.")
def care_contacts(db, fmt, customer, limit):
    """A customer's contact log, newest first.

    Example: patronage care contacts --customer C001 --format json
    """
    from patronage.care.contacts import contacts_of

    emit(guard(lambda: contacts_of(ready_engine(db), customer, limit=limit)), fmt)


@click.group("customer")
def care_customer() -> None:
    """One customer's 360 profile: show it, edit it."""


@care_customer.command("show")
@db_option
@click.argument("customer")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def care_customer_show(db, customer, fmt):
    """The customer's header: tier, owner, value (CLV, P(alive), RFM segment), risk and why,
    NPS history, open cases and care tasks (fits the value models over all customers: seconds).

    Example: patronage care customer show C001 --format json
    """
    from patronage.reporting.customer360 import summary_of, summary_text

    shown = guard(lambda: summary_of(ready_engine(db), customer))
    click.echo(json.dumps(shown.to_dict(), ensure_ascii=False, indent=2) if fmt == "json"
               else summary_text(shown))


@care_customer.command("set")
@db_option
@click.argument("customer")
@click.argument("changes", nargs=-1, required=True)
@click.option("--by", "by", default=None, help="The staff member's e-mail (for the history).")
def care_customer_set(db, customer, changes, by):
    """Edit profile fields: field=value … (an empty value clears). Fields: phone, email,
    language, timezone, region, industry, size, tier, birthday, contract_on, consent_survey,
    consent_marketing, consent_care, account_owner (e-mail), visit_every_days,
    preferences.channel|best_time|do_not_call, attributes.<name>.

    Example: patronage care customer set C001 phone=13800000000 preferences.do_not_call=yes
    """
    from patronage.care.contacts import customer_pk, user_id_of
    from patronage.care.profile import parse_assignments, update_customer

    engine = ready_engine(db)

    def apply():
        with engine.connect() as conn:
            user = user_id_of(conn, by)
        return update_customer(engine, customer_pk(engine, customer), parse_assignments(changes),
                               by_user_id=user)
    changed = guard(apply)
    click.echo("changed: " + ", ".join(changed) if changed else "nothing changed")


#: Commands of the ``care`` group defined here (assembled in :mod:`patronage.cli`).
commands: list[click.Command] = [care_contact, care_contacts, care_customer]
