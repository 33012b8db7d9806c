"""Turning a selection of customers on any list (at-risk, top CLV, an RFM segment, the customers
behind the whale curve, a driver's unhappy respondents, the customer list) into work.

:func:`tasks_for` schedules one follow-up task per customer; :func:`survey_for` invites exactly
these customers to an open survey through the survey programme's targeted draw, so survey
consent and the survey's quiet period hold as for any sample, and says who was skipped and why;
:func:`case_address` and :func:`campaign_address` are where a case or a campaign for the
selection is started; :func:`enrol_for` enrols the selection in the membership programme. A selection is customers' database ids; an empty one, or one larger than
:data:`MAX_SELECTION`, is refused with what to do instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from urllib.parse import urlencode

from sqlalchemy import Engine, select

from patronage.care.contacts import log_contact
from patronage.care.tasks import local_zone, schedule_followups
from patronage.members.enrolment import BulkEnrolment, enrol_customers
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import customers, invitations, surveys
from patronage.surveys.program import draw_sample

#: The most customers one action may take at once.
MAX_SELECTION = 5000
#: Channels a survey invitation may go out on (see :func:`patronage.surveys.program.draw_sample`).
SURVEY_CHANNELS = ("email", "sms", "phone", "link")
#: The contact-log channel of an invitation's channel.
CONTACT_CHANNEL = {"email": "email", "sms": "sms", "phone": "phone", "link": "other"}
#: Why a selected customer got no invitation, in the order a customer with several reasons is
#: counted under.
SKIP_REASONS = ("consent", "quiet", "email", "invited")
#: The local hour a task due on a day (a date without a time) is due at.
DUE_HOUR = 9


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def selection(customer_ids: Iterable) -> list[int]:
    """The distinct customer ids of a selection, in the order given.

    Refuses an empty selection, an id that is not a whole number and more than
    :data:`MAX_SELECTION` customers."""
    if isinstance(customer_ids, str | int):
        customer_ids = [customer_ids]
    ids: list[int] = []
    seen: set[int] = set()
    for value in customer_ids or ():
        text = str(value).strip()
        if not text:
            continue
        if not text.isdigit():
            raise UserError(N_("{value!r} is not a customer's number; choose customers on a "
                               "list."), value=text[:40])
        number = int(text)
        if number not in seen:
            seen.add(number)
            ids.append(number)
    if not ids:
        raise UserError(N_("No customer is selected. Tick the customers on the list first."))
    if len(ids) > MAX_SELECTION:
        raise UserError(N_("{count} customers are selected; at most {limit} can be handled at "
                           "once. Narrow the list or act on it in parts."),
                        count=len(ids), limit=MAX_SELECTION)
    return ids


def due_at_from_day(day: date | str, timezone: str | None = None) -> datetime:
    """The moment (naive UTC) a task due on ``day`` is due: :data:`DUE_HOUR` o'clock there."""
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day.strip())
        except ValueError:
            raise UserError(N_("The due date {value!r} is not a date; write it as 2027-03-01."),
                            value=day.strip()[:40]) from None
    if not isinstance(day, date):
        raise UserError(N_("Give the tasks a due date."))
    local = datetime.combine(day, time(DUE_HOUR)).replace(tzinfo=local_zone(timezone))
    return local.astimezone(UTC).replace(tzinfo=None)


def tasks_for(engine: Engine, customer_ids: Iterable, *, type: str, due_at: datetime,
              subject: str, assignee_id: int | None = None, team_id: int | None = None,
              by: int | None = None, now: datetime | None = None) -> int:
    """One follow-up task (``type`` call, visit or message, due ``due_at``) for each selected
    customer; returns how many were made.

    A team without an assignee hands the tasks out in turn; customers who asked not to be
    called get no call (see :func:`patronage.care.tasks.schedule_followups`). Each submission
    makes its own tasks: a hand-made task has no source to repeat."""
    ids = selection(customer_ids)
    return len(schedule_followups(engine, ids, type, due_at, subject, assignee_id=assignee_id,
                                  team_id=team_id, by=by, now=now))


@dataclass
class SurveyInvites:
    """What :func:`survey_for` did: ``invited`` customers (``mails`` of them by e-mail now) and
    ``skipped`` ones per reason (:data:`SKIP_REASONS`)."""

    survey: str
    invited: int
    mails: int
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def _reason(text: str) -> str:
    """The kind of an exclusion reason written by the sampling (``"no survey consent; invited
    2026-05-01, inside the 90-day quiet period"``), the first of :data:`SKIP_REASONS`."""
    text = str(text)
    found = {"consent": "consent" in text, "quiet": "quiet period" in text,
             "email": "e-mail" in text, "invited": "already invited" in text}
    return next((kind for kind in SKIP_REASONS if found[kind]), "invited")


def survey_for(engine: Engine, survey_code: str, customer_ids: Iterable, *, channel: str,
               wave: str | None = None, by: int | None = None, base_url: str | None = None,
               now: datetime | None = None) -> SurveyInvites:
    """Invite exactly the selected customers to the open survey ``survey_code`` (``wave``, if
    given) on ``channel``.

    The invitations are a targeted draw of :func:`patronage.surveys.program.draw_sample`:
    customers without survey consent, inside the survey's quiet period, already invited to
    this wave or (for e-mail) without an address are skipped and counted by reason. Each
    invitation is logged on the customer's contact log."""
    ids = selection(customer_ids)
    if channel not in SURVEY_CHANNELS:
        raise UserError(N_("Choose how the survey goes out: {choices}."),
                        choices=", ".join(SURVEY_CHANNELS))
    code = (survey_code or "").strip()
    if not code:
        raise UserError(N_("Choose the survey to send."))
    now = now or _now()
    keys = _external_ids(engine, ids)
    report = draw_sample(engine, code, wave or None, method="targeted", ids=list(keys.values()),
                         channel=channel, base_url=base_url, now=now)
    chosen = set(keys.values())
    skipped = {kind: 0 for kind in SKIP_REASONS}
    for customer, reason in zip(report.exclusions["customer_id"], report.exclusions["reason"],
                                strict=True):
        if customer in chosen:
            skipped[_reason(reason)] += 1
    if report.invited:
        _log_invitations(engine, code, list(keys), channel, by, now)
    return SurveyInvites(survey=code, invited=report.invited, mails=report.mails,
                         skipped={k: v for k, v in skipped.items() if v})


def _external_ids(engine: Engine, ids: list[int]) -> dict[int, str]:
    """``{id: external id}`` of the selected customers; refuses ids of no customer."""
    found: dict[int, str] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            found.update(conn.execute(select(customers.c.id, customers.c.external_id)
                                      .where(customers.c.id.in_(part))).all())
    missing = [i for i in ids if i not in found]
    if missing:
        raise UserError(N_("There is no customer {customer!r}; check the customer id."),
                        customer=str(missing[0]))
    return {i: found[i] for i in ids}


def _log_invitations(engine: Engine, code: str, ids: list[int], channel: str, by: int | None,
                     now: datetime) -> None:
    """A ``survey`` contact per invitation made at ``now`` (once per invitation)."""
    i = invitations.c
    with write_transaction(engine) as conn:
        title = conn.execute(select(surveys.c.title).where(surveys.c.code == code)).scalar()
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                select(i.id, i.customer_id).join(surveys, surveys.c.id == i.survey_id)
                .where(surveys.c.code == code, i.created_at == now,
                       i.customer_id.in_(ids[start:start + 500]))).all()
            for invitation_id, customer_id in rows:
                log_contact(conn, customer_id=customer_id, channel=CONTACT_CHANNEL[channel],
                            kind="survey", user_id=by, at=now, subject=title,
                            external_id=f"invitation:{invitation_id}", now=now)


def case_address(engine: Engine, customer_ids: Iterable) -> str:
    """The new-case form for the one selected customer."""
    ids = selection(customer_ids)
    if len(ids) != 1:
        raise UserError(N_("A case is opened for one customer; {count} are selected. Choose "
                           "one."), count=len(ids))
    key = _external_ids(engine, ids)[ids[0]]
    return "/cases/new?" + urlencode({"customer": key})


def enrol_for(engine: Engine, customer_ids: Iterable, *, by: int | None = None,
              now: datetime | None = None) -> BulkEnrolment:
    """Enrol the selected customers in the membership programme (a generated card each, the
    entry tier); customers who are members already are left as they are and counted."""
    return enrol_customers(engine, selection(customer_ids), actor_id=by, now=now)


def campaign_address(customer_ids: Iterable) -> str:
    """The new-campaign form with the selected customers as its list."""
    ids = selection(customer_ids)
    return "/care/campaigns/new?" + urlencode([("customer_id", i) for i in ids])


__all__ = ["MAX_SELECTION", "SKIP_REASONS", "SURVEY_CHANNELS", "SurveyInvites",
           "campaign_address", "case_address", "due_at_from_day", "enrol_for", "selection",
           "survey_for", "tasks_for"]
