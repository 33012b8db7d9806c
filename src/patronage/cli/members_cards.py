"""``patronage members`` commands for enrolment, cards, tiers, tier reviews and the programme's
settings."""

from __future__ import annotations

import json
from datetime import datetime

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine


def _assignments(pairs) -> dict:
    """``KEY=VALUE`` arguments as a dict; a clear message for one without ``=``."""
    values = {}
    for pair in pairs:
        key, sign, value = pair.partition("=")
        if not sign or not key.strip():
            raise click.UsageError(f"write each setting as KEY=VALUE; not {pair!r}")
        values[key.strip()] = value
    return values


def _day(value: str | None):
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-06-30") from None


def _user(engine, by):
    from patronage.cases.inputs import user_id_of

    with engine.connect() as conn:
        return user_id_of(conn, by)


@click.command("enroll")
@db_option
@click.argument("customers", nargs=-1)
@click.option("--card", default=None, help="The card number (one customer; default: generated).")
@click.option("--joined", default=None, help="Join date, e.g. 2026-03-01 (default today).")
@click.option("--channel", default=None, help="Where they joined: store, web, app, referral …")
@click.option("--segment", default=None, metavar="KIND:VALUE",
              help="Enrol a whole segment: rfm:<segment>, tier:<customer tier>, region:<region>.")
@click.option("--no-consent", is_flag=True, help="They have not agreed to the programme's messages.")
@click.option("--by", "by", default=None, help="The staff member's e-mail.")
def enroll(db, customers, card, joined, channel, segment, no_consent, by):
    """Enrol customers (their ids in your system) or a segment in the membership programme;
    customers who are members already are left as they are.

    Example: patronage members enroll C001 C002 --channel store
    """
    from patronage.members import enrolment

    engine = ready_engine(db)
    if bool(customers) == bool(segment):
        raise click.UsageError("name the customers or a --segment (one of the two)")
    if card and (segment or len(customers) != 1):
        raise click.UsageError("--card is for one customer")
    options = {"joined_on": _day(joined), "channel": channel, "consent": not no_consent}

    def run():
        actor = _user(engine, by)
        if card or (len(customers) == 1 and not segment):
            done = enrolment.enrol(engine, customers[0], card_no=card, actor_id=actor, **options)
            return (f"{customers[0]}: card {done.card_no}"
                    + ("" if done.created else " (a member already)"))
        if segment:
            done = enrolment.enrol_segment(engine, segment, actor_id=actor, **options)
        else:
            with engine.connect() as conn:
                from patronage.cases.inputs import customer_pk

                ids = [customer_pk(conn, c) for c in customers]
            done = enrolment.enrol_customers(engine, ids, actor_id=actor, **options)
        return f"enrolled {done.created}; {done.existing} were members already"
    click.echo(guard(run))


@click.command("show")
@db_option
@click.argument("member")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def show(db, member, fmt):
    """A member's card, tier, points, what expires next, tier history and latest movements,
    by card number or customer id.

    Example: patronage members show 8000000011
    """
    from patronage.members.enrolment import find_member
    from patronage.reporting.member_profile import membership_panel, panel_text

    engine = ready_engine(db)

    def run():
        with engine.connect() as conn:
            found = find_member(conn, member)
        return membership_panel(engine, found["customer_id"])
    panel = guard(run)
    click.echo(json.dumps(panel, ensure_ascii=False, indent=2, default=str) if fmt == "json"
               else panel_text(panel))


@click.command("list")
@db_option
@format_option
@click.option("--tier", default="", help="Only members on this tier (its code).")
@click.option("--status", type=click.Choice(["current", "closed"]), default=None,
              help="Only current (not closed) or closed memberships. Whether a member is "
                   "active (bought or used points lately) is in `analyze programme`.")
@click.option("--search", default="", help="Card number, name or customer id contains this.")
@click.option("--limit", type=int, default=None, help="Only the newest N.")
def list_members(db, fmt, tier, status, search, limit):
    """The members, newest first: card, customer, tier, points, join date and last activity.

    Example: patronage members list --tier gold --format json
    """
    from patronage.reporting.members_pages import LIST_COLUMNS, STATUS_WORDS, members_table

    stored = {word: code for code, word in STATUS_WORDS.items()}.get(status or "", "")
    table = guard(lambda: members_table(ready_engine(db), tier=tier, status=stored,
                                        search=search, limit=limit))
    out = table[LIST_COLUMNS].copy()
    out["status"] = out["status"].map(STATUS_WORDS).fillna(out["status"])
    out.attrs["notes"] = [f"{table.attrs['total']:,} members match"]
    emit(out, fmt)


def _status_command(name: str, doc: str):
    @click.command(name)
    @db_option
    @click.argument("member")
    @click.option("--reason", required=True, help="Why (kept on the profile's change history).")
    @click.option("--by", default=None, help="Your e-mail.")
    def command(db, member, reason, by):
        from patronage.members import enrolment

        engine = ready_engine(db)
        change = enrolment.close_membership if name == "close" else enrolment.reopen_membership
        done = guard(lambda: change(engine, member, reason=reason, by=by))
        click.echo(f"{member}: {name + 'd' if name == 'close' else 'reopened'}" if done
                   else f"{member}: nothing to do")
    command.help = doc
    return command


close = _status_command("close", """Close a membership (by card number or customer id): the
member keeps their points and history but earns no points until reopened.

Example: patronage members close 8000000011 --reason "客户要求注销" --by lin@example.com
""")
reopen = _status_command("reopen", """Reopen a closed membership.

Example: patronage members reopen 8000000011 --reason "客户重新申请"
""")


@click.group("tier")
def tier() -> None:
    """The programme's tiers (VIP cards): add, list, change, remove; set a member's tier."""


@tier.command("add")
@db_option
@click.argument("code")
@click.option("--name", "name_en", required=True, help="English name, e.g. Gold.")
@click.option("--name-zh", "name_zh_hans", default=None, help="Simplified Chinese name, e.g. 金卡.")
@click.option("--name-zh-hant", "name_zh_hant", default=None, help="Traditional Chinese name.")
@click.option("--rank", required=True, help="0 is the entry card; higher is better.")
@click.option("--qualify", "qualify_value", default="0",
              help="Spend (¥) or base points in the window that reach the tier.")
@click.option("--multiplier", default="1", help="Points multiplier on purchases.")
@click.option("--case-severity", default=None,
              help="Cases of its members open at least at this severity (low … urgent).")
@click.option("--gifts", "gift_rewards", default=None,
              help="Reward codes given free on reaching the tier, comma-separated.")
@click.option("--benefits", "benefits_en", default=None, help="What the tier offers (English).")
@click.option("--benefits-zh", "benefits_zh_hans", default=None,
              help="What the tier offers (Simplified Chinese).")
def tier_add(db, code, **values):
    """Add a tier.

    Example: patronage members tier add gold --name Gold --name-zh 金卡 --rank 2 --qualify 5000 --multiplier 1.5
    """
    from patronage.members.programme import add_tier

    values = {k: v for k, v in values.items() if v is not None}
    made = guard(lambda: add_tier(ready_engine(db), code, **values))
    click.echo(f"tier {made.code} added (rank {made.rank})")


@tier.command("list")
@db_option
@format_option
def tier_list(db, fmt):
    """The tiers, entry card first, with their members.

    Example: patronage members tier list
    """
    from patronage.reporting.members_pages import tiers_table

    emit(guard(lambda: tiers_table(ready_engine(db))), fmt)


@tier.command("update")
@db_option
@click.argument("code")
@click.argument("settings", nargs=-1, required=True)
def tier_update(db, code, settings):
    """Change a tier's settings (name_en, name_zh_hans, name_zh_hant, rank, qualify_value,
    multiplier, case_severity, gift_rewards, benefits_en, benefits_zh_hans, benefits_zh_hant,
    active).

    Example: patronage members tier update gold qualify_value=6000 case_severity=high
    """
    from patronage.members.programme import update_tier

    changed = guard(lambda: update_tier(ready_engine(db), code, **_assignments(settings)))
    click.echo(f"tier {changed.code} changed")


@tier.command("remove")
@db_option
@click.argument("code")
def tier_remove(db, code):
    """Remove a tier no member holds.

    Example: patronage members tier remove trial
    """
    from patronage.members.programme import remove_tier

    guard(lambda: remove_tier(ready_engine(db), code))
    click.echo(f"tier {code} removed")


@tier.command("set")
@db_option
@click.argument("member")
@click.argument("tier_code")
@click.option("--reason", required=True, help="Why (kept on the member's tier history).")
@click.option("--by", "by", default=None, help="The staff member's e-mail.")
def tier_set(db, member, tier_code, reason, by):
    """Put a member (card number or customer id) on a tier by hand, from today.

    Example: patronage members tier set 8000000011 gold --reason "key account, signed 2026"
    """
    from patronage.members.enrolment import find_member
    from patronage.members.tiers import set_tier

    engine = ready_engine(db)

    def run():
        with engine.connect() as conn:
            found = find_member(conn, member)
        return set_tier(engine, found["id"], tier_code, reason=reason,
                        actor_id=_user(engine, by))
    click.echo(f"{member}: now {tier_code}" if guard(run) else f"{member}: on {tier_code} already")


@click.group("programme")
def programme() -> None:
    """The programme's settings: tier basis and window, reviews and grace, expiry, point cost."""


@programme.command("show")
@db_option
@format_option
def programme_show(db, fmt):
    """The programme's settings.

    Example: patronage members programme show --format json
    """
    import pandas as pd

    from patronage.members.programme import load_policy

    engine = ready_engine(db)
    with engine.connect() as conn:
        policy = load_policy(conn)
    emit(pd.DataFrame({"value": [str(v) for v in vars(policy).values()]},
                      index=pd.Index(list(vars(policy)), name="setting")), fmt)


@programme.command("set")
@db_option
@click.argument("settings", nargs=-1, required=True)
def programme_set(db, settings):
    """Change the programme's settings, all or none.

    Example: patronage members programme set tier_basis=spend grace_days=60 cost_per_point=0.01
    """
    from patronage.members.programme import update_policy

    values = _assignments(settings)
    guard(lambda: update_policy(ready_engine(db), **values))
    click.echo("changed: " + ", ".join(sorted(values)))


@click.command("review")
@db_option
@click.option("--date", "day", default=None, help="Review as of this day (default today).")
def review(db, day):
    """Run the tier reviews that are due (the worker does it every round).

    Example: patronage members review --date 2026-06-30
    """
    from patronage.members.tiers import run_reviews

    changed = guard(lambda: run_reviews(ready_engine(db), today=_day(day)))
    click.echo(f"{changed} members changed tier")


#: Commands of the ``members`` group defined here (assembled in :mod:`patronage.cli`).
commands: list[click.Command] = [enroll, show, list_members, close, reopen, tier, programme,
                                 review]

__all__ = ["commands"]
