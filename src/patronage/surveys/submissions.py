"""Respondents' side of the survey programme: tokens, drafts and submissions.

* :func:`resolve_token` / :func:`resolve_open_link` (from :mod:`patronage.surveys.links`) look a
  link up without changing anything, so a GET of the survey page is safe to repeat.
* :func:`save_draft` keeps the answers given so far (save-and-resume) under a random key.
* :func:`submit` stores a response exactly once. The database enforces it: the client's
  submission id is ``responses.external_id`` and the invitation is ``responses.invitation_id``,
  both unique, so of concurrent submits of one invitation one insert wins and the others hit
  the constraint, roll back and return the stored response.

Bot signals are recorded as quality flags with reasons, never used to drop a response: a filled
honeypot field (a form field hidden from people) and a completion faster than ``min_seconds``.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError

from patronage.messages import N_, Term, UserError
from patronage.storage.engine import write_transaction
from patronage.storage.schema import (
    LANGUAGES,
    RESPONSE_CHANNELS,
    customers,
    drafts,
    invitations,
    responses,
    surveys,
    waves,
)
from patronage.storage.schema import answers as answer_table
from patronage.storage.text import all_storable, unstorable_reason
from patronage.surveys.definition import Questionnaire
from patronage.surveys.links import (
    SurveyLink,
    _draft_of,
    _link_from_invitation,
    _token_ok,
    resolve_link,
    resolve_open_link,
    resolve_token,
    stored_questionnaire,
)

#: Channels where an agent types the answers in; no speed check applies to them.
AGENT_CHANNELS = ("interview", "paper", "phone")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class SubmitResult:
    """The stored response; ``created`` is False when this call found it already stored."""

    response_id: int
    created: bool
    quality_flags: dict = field(default_factory=dict)


def _check_draft_answers(answers_: Any) -> dict:
    if not isinstance(answers_, Mapping) or not all(isinstance(k, str) for k in answers_):
        raise ValueError("answers must be a dict of answer code to value")
    if not all_storable(dict(answers_)):
        raise ValueError("the answers contain characters the database cannot store (a NUL "
                         "character or an unpaired surrogate); remove them")
    out = {}
    for key, value in answers_.items():
        if isinstance(value, float) and not math.isfinite(value):
            continue  # missing: not stored
        if value is not None and not isinstance(value, str | int | float | list):
            raise ValueError(f"answer {key!r} must be a number, a text or a list of texts; "
                             f"got {type(value).__name__}")
        out[key] = value
    return out


def save_draft(engine: Engine, *, answers: Mapping[str, Any], page: int = 0,
               invitation_token: str | None = None, resume_key: str | None = None,
               open_token: str | None = None, now: datetime | None = None) -> str:
    """Save the answers given so far; returns the resume key (192 random bits).

    Give ``invitation_token`` (one draft per invitation), ``resume_key`` (a draft saved before)
    or ``open_token`` (a new draft on an open link).
    """
    data = _check_draft_answers(answers)
    if isinstance(page, bool) or not isinstance(page, int) or page < 0:
        raise ValueError(f"page must be a whole number >= 0; got {page!r}")
    now = now or _now()
    with write_transaction(engine) as conn:
        if resume_key is not None:
            found = conn.execute(select(drafts.c.id, surveys.c.status)
                                 .join(surveys, surveys.c.id == drafts.c.survey_id)
                                 .where(drafts.c.resume_key == resume_key)).first() \
                if _token_ok(resume_key) else None
            if found is None or found.status != "open":
                raise ValueError("no saved answers under this resume key (or the survey is "
                                 "closed); start the survey again")
            conn.execute(update(drafts).where(drafts.c.id == found.id)
                         .values(answers=data, page=page, updated_at=now))
            return resume_key
        if invitation_token is not None:
            link = _link_from_invitation(conn, invitation_token) \
                if _token_ok(invitation_token) else None
            if link is None:
                raise ValueError("unknown or closed survey link; check the address")
            if link.response_id is not None:
                raise ValueError("this invitation has been answered already")
            if link.draft is not None:
                conn.execute(update(drafts).where(drafts.c.invitation_id == link.invitation_id)
                             .values(answers=data, page=page, updated_at=now))
                return link.draft["resume_key"]
            key = secrets.token_urlsafe(24)
            conn.execute(insert(drafts).values(
                resume_key=key, survey_id=link.survey_id, invitation_id=link.invitation_id,
                answers=data, page=page, started_at=now, updated_at=now))
            return key
        if open_token is not None:
            row = conn.execute(select(surveys.c.id, surveys.c.status)
                               .where(surveys.c.open_token == open_token)).first() \
                if _token_ok(open_token) else None
            if row is None or row.status != "open":
                raise ValueError("unknown or closed survey link; check the address")
            _purge_anonymous_drafts(conn, now)
            key = secrets.token_urlsafe(24)
            conn.execute(insert(drafts).values(
                resume_key=key, survey_id=row.id, invitation_id=None, answers=data, page=page,
                started_at=now, updated_at=now))
            return key
    raise ValueError("give invitation_token, resume_key or open_token")


#: Anonymous (open-link) drafts untouched this many days are deleted: nobody can be reminded
#: of them, and anyone may start them.
ANONYMOUS_DRAFT_DAYS = 30
_PURGED: dict[str, datetime] = {}


def _purge_anonymous_drafts(conn, now: datetime) -> None:
    """Delete anonymous drafts untouched for :data:`ANONYMOUS_DRAFT_DAYS`; at most once an
    hour per database and process (the look-up reads the whole table)."""
    url = conn.engine.url.render_as_string(hide_password=True)
    last = _PURGED.get(url)
    if last is not None and abs((now - last).total_seconds()) < 3600:
        return
    _PURGED[url] = now
    conn.execute(delete(drafts).where(
        drafts.c.invitation_id.is_(None)
        & (drafts.c.updated_at < now - timedelta(days=ANONYMOUS_DRAFT_DAYS))))


# --------------------------------------------------------------------------- submit

def default_min_seconds(questionnaire: Questionnaire) -> float:
    """The speeder threshold: 20 % of 3 s per answer code, at least 15 s.

    Three seconds per answer is a typical reading-and-clicking pace for a rating item; a
    response faster than a fifth of it is flagged, in the spirit of Greszki, Meyer & Schoen
    (2015, *Public Opinion Quarterly* 79:471), who flag durations far below the typical one.
    """
    return max(15.0, 0.2 * 3.0 * len(questionnaire.answer_codes()))


def _answer_rows(q: Questionnaire, given: Mapping[str, Any]) -> list[dict]:
    if not isinstance(given, Mapping):
        raise ValueError("answers must be a dict of answer code to number or text")
    codes = set(q.answer_codes())
    rows = []
    for code, value in given.items():
        if code not in codes:
            raise ValueError(f"{code!r} is not an answer code of survey {q.code!r}; "
                             f"valid codes: {sorted(codes)}")
        if value is None or isinstance(value, bool):
            if value is None:
                continue
            raise ValueError(f"answer {code!r} must be a number or a text; got {value!r}")
        if isinstance(value, int | float):
            if math.isnan(value):
                continue  # missing stays missing
            if not math.isfinite(value):
                raise ValueError(f"answer {code!r} must be a finite number; got {value!r}")
            rows.append({"item_code": code, "value_num": float(value), "value_text": None})
        elif isinstance(value, str):
            if (reason := unstorable_reason(value)) is not None:
                raise ValueError(f"answer {code!r} cannot be stored: {reason}; remove it")
            if value.strip():
                rows.append({"item_code": code, "value_num": None, "value_text": value})
        else:
            raise ValueError(f"answer {code!r} must be a number or a text; "
                             f"got {type(value).__name__}")
    return rows


def _original(engine: Engine, prepared: PreparedSubmission) -> SubmitResult | None:
    """The stored response a refused insert of ``prepared`` replays, or None.

    A submission id is scoped to its survey, invitation and customer: the same id stored for
    another of them is a :class:`SubmissionConflict`, never that other response. Another
    submission id for an invitation answered already gets the invitation's response.
    """
    r = responses.c
    with engine.connect() as conn:
        same_id = conn.execute(select(r.id, r.survey_id, r.invitation_id, r.customer_id,
                                      r.quality_flags)
                               .where(r.external_id == prepared.submission_id)).first()
        answered = None
        if same_id is None and prepared.invitation_id is not None:
            answered = conn.execute(select(r.id, r.quality_flags)
                                    .where(r.invitation_id == prepared.invitation_id)).first()
    if same_id is not None:
        if same_id.survey_id != prepared.survey_id:
            raise SubmissionConflict("this submission_id was used for another survey; make a "
                                     "new one (a UUID per response)")
        if (same_id.invitation_id, same_id.customer_id) != (
                prepared.invitation_id, prepared.values["customer_id"]):
            raise SubmissionConflict("this submission_id was used for another invitation, "
                                     "link or customer; nothing was stored: make a new one "
                                     "(a UUID per response)")
        answered = same_id
    if answered is None:
        return None
    return SubmitResult(response_id=int(answered.id), created=False,
                        quality_flags=dict(answered.quality_flags or {}))


def _current_wave(conn, survey_id: int, when: datetime) -> int | None:
    w = waves.c
    return conn.execute(
        select(w.id).where((w.survey_id == survey_id) & (w.starts_on <= when.date())
                           & (w.ends_on.is_(None) | (w.ends_on >= when.date())))
        .order_by(w.starts_on.desc(), w.id.desc())).scalar()


def _bot_flags(q: Questionnaire, *, channel: str, honeypot: str, started_at, now,
               min_seconds) -> dict[str, str]:
    flags = {}
    if honeypot and str(honeypot).strip():
        flags["honeypot"] = "hidden field was filled"
    if started_at is not None and channel not in AGENT_CHANNELS:
        threshold = default_min_seconds(q) if min_seconds is None else float(min_seconds)
        elapsed = (now - started_at).total_seconds()
        if elapsed < threshold:
            flags["speeder"] = f"completed in {max(0, round(elapsed))} s"
    return flags


def _check_arguments(submission_id: Any, channel: str, language: str | None) -> None:
    if (not isinstance(submission_id, str) or not 0 < len(submission_id.strip()) <= 64
            or unstorable_reason(submission_id) is not None):
        raise UserError(N_("submission_id must be a non-empty text of at most 64 characters "
                           "(a UUID made by the client)"))
    if channel not in RESPONSE_CHANNELS:
        raise UserError(N_("channel must be one of {choices}; got {channel!r}"),
                        choices=list(RESPONSE_CHANNELS), channel=channel)
    if language is not None and language not in LANGUAGES:
        raise UserError(N_("language must be one of {choices}; got {language!r}"),
                        choices=list(LANGUAGES), language=language)


class SubmissionConflict(ValueError):
    """The client's submission id is stored already for another survey, invitation, open link
    or customer (HTTP 409)."""


class UnstorableSubmission(ValueError):
    """The database refused the submission's values (text it cannot encode)."""


class SurveyChanged(ValueError):
    """The survey stopped taking answers through this link (closed, a new definition version,
    or a new open link) between reading the link and writing the response."""


@dataclass(frozen=True)
class PreparedSubmission:
    """A checked submission, ready to be written by :func:`store_submissions`.

    ``values`` is the ``responses`` row; ``answers`` its answer rows (without the response id).
    The write checks again that the survey still takes it: its status is one of ``statuses``,
    its definition is still ``version`` and, for an open link, ``open_token`` is still its link.
    With ``current_wave`` the wave is the survey's current one, looked up when written.
    """

    survey_id: int
    survey_code: str
    version: int
    statuses: tuple[str, ...]
    values: dict
    answers: tuple[dict, ...]
    open_token: str | None = None
    draft_key: str | None = None
    current_wave: bool = False

    @property
    def submission_id(self) -> str:
        return self.values["external_id"]

    @property
    def invitation_id(self) -> int | None:
        return self.values["invitation_id"]

    def stored_as(self, response_id: int) -> SubmitResult:
        """The result of this submission newly stored as response ``response_id``."""
        return SubmitResult(response_id=int(response_id), created=True,
                            quality_flags=self.values["quality_flags"])


def prepare_from_link(link: SurveyLink, *, answers: Mapping[str, Any], submission_id: str,
                      channel: str = "web", language: str | None = None,
                      started_at: datetime | None = None, honeypot: str = "",
                      min_seconds: float | None = None, customer_pk: int | None = None,
                      statuses: tuple[str, ...] = ("open",),
                      now: datetime | None = None) -> PreparedSubmission:
    """Check a submission on ``link`` and build its rows; reads nothing from the database.

    Raises ``ValueError`` naming the bad argument or answer code. ``started_at`` defaults to the
    draft's start; bot signals become quality flags (see :func:`default_min_seconds`).
    """
    _check_arguments(submission_id, channel, language)
    now = now or _now()
    q = link.questionnaire
    rows = _answer_rows(q, answers)
    if started_at is None and link.draft is not None:
        started_at = link.draft["started_at"]
    flags = _bot_flags(q, channel=channel, honeypot=honeypot, started_at=started_at, now=now,
                       min_seconds=min_seconds)
    values = {
        "external_id": submission_id, "survey_id": link.survey_id, "wave_id": link.wave_id,
        "customer_id": link.customer_pk if link.customer_pk is not None else customer_pk,
        "invitation_id": link.invitation_id, "channel": channel,
        "language": language or link.language, "started_at": started_at, "submitted_at": now,
        "weight": link.design_weight, "quality_flags": flags,
        "touchpoint_id": link.touchpoint_id}
    return PreparedSubmission(
        survey_id=link.survey_id, survey_code=link.survey_code, version=link.version,
        statuses=statuses, values=values, answers=tuple(rows),
        open_token=link.open_token if link.invitation_id is None else None,
        draft_key=link.draft["resume_key"] if link.draft is not None else None,
        current_wave=link.invitation_id is None)


def _still_taken(conn, batch) -> list[bool]:
    s = surveys.c
    state = {row.id: row for row in conn.execute(
        select(s.id, s.status, s.version, s.open_token)
        .where(s.id.in_({p.survey_id for p in batch})))}
    out = []
    for p in batch:
        row = state.get(p.survey_id)
        out.append(row is not None and row.status in p.statuses and row.version == p.version
                   and (p.open_token is None or row.open_token == p.open_token))
    return out


def store_submissions(conn, batch: list[PreparedSubmission]) -> list[int | SurveyChanged]:
    """Write a batch of prepared submissions in the caller's transaction, a few statements for
    the whole batch (group commit); returns, per submission, its response id or a
    :class:`SurveyChanged` for one its survey no longer takes.

    A replayed submission id or invitation raises ``IntegrityError`` for the whole batch: roll
    back and store the submissions one by one with :func:`store_one`.
    """
    taken = _still_taken(conn, batch)
    accepted = [p for p, ok in zip(batch, taken, strict=True) if ok]
    waves_: dict[tuple, int | None] = {}
    rows = []
    for p in accepted:
        values = p.values
        if p.current_wave:
            key = (p.survey_id, values["submitted_at"].date())
            if key not in waves_:
                waves_[key] = _current_wave(conn, p.survey_id, values["submitted_at"])
            values = {**values, "wave_id": waves_[key]}
        rows.append(values)
    ids: list[int] = []
    if rows:
        ids = list(conn.execute(insert(responses).returning(
            responses.c.id, sort_by_parameter_order=True), rows).scalars())
        answer_rows = [{"response_id": rid, **a}
                       for rid, p in zip(ids, accepted, strict=True) for a in p.answers]
        if answer_rows:
            conn.execute(insert(answer_table), answer_rows)
        answered = [{"invitation": p.invitation_id, "at": p.values["submitted_at"]}
                    for p in accepted if p.invitation_id is not None]
        if answered:
            conn.execute(update(invitations).where(
                (invitations.c.id == bindparam("invitation"))
                & invitations.c.responded_at.is_(None)).values(responded_at=bindparam("at")),
                answered)
        used = [{"key": p.draft_key} for p in accepted if p.draft_key is not None]
        if used:
            conn.execute(delete(drafts).where(drafts.c.resume_key == bindparam("key")), used)
    stored = iter(ids)
    return [next(stored) if ok else SurveyChanged(
        f"survey {p.survey_code!r} no longer takes answers through this link (it was closed "
        f"or changed); reload the survey") for p, ok in zip(batch, taken, strict=True)]


def store_one(engine: Engine, prepared: PreparedSubmission) -> SubmitResult:
    """Write one prepared submission in its own transaction; a replay returns the original."""
    try:
        with write_transaction(engine) as conn:
            [outcome] = store_submissions(conn, [prepared])
    except IntegrityError:
        original = _original(engine, prepared)
        if original is None:
            raise
        return original
    except (DataError, UnicodeEncodeError) as exc:  # checked input never gets here
        raise UnstorableSubmission(
            "the database cannot store this submission: an answer contains characters it "
            "refuses (a NUL character or an unpaired surrogate); remove them") from exc
    if isinstance(outcome, SurveyChanged):
        raise outcome
    return prepared.stored_as(outcome)


def _invited(conn, survey_id: int, customer_pk: int, statuses) -> SurveyLink | None:
    """The customer's latest invitation to the survey, as a link, or None."""
    token = conn.execute(select(invitations.c.token).where(
        (invitations.c.survey_id == survey_id) & (invitations.c.customer_id == customer_pk))
        .order_by(invitations.c.id.desc())).scalar()
    return _link_from_invitation(conn, token, statuses=statuses) if token else None


def _answered_already(conn, link: SurveyLink, submission_id: str,
                      customer: str | None) -> SubmitResult:
    stored = conn.execute(select(responses.c.id, responses.c.external_id, responses.c.channel,
                                 responses.c.quality_flags)
                          .where(responses.c.id == link.response_id)).one()
    if stored.external_id == submission_id:  # this entry, sent again
        return SubmitResult(response_id=int(stored.id), created=False,
                            quality_flags=dict(stored.quality_flags or {}))
    raise UserError(N_("customer {customer!r} has answered survey {survey!r} already "
                       "(response #{response}, channel {channel}); nothing was stored"),
                    customer=customer, survey=link.survey_code, response=stored.id,
                    channel=Term(stored.channel))


def submit(engine: Engine, *, survey_code: str, answers: Mapping[str, Any], submission_id: str,
           invitation_token: str | None = None, channel: str = "web",
           language: str | None = None, started_at: datetime | None = None,
           customer_external_id: str | None = None, honeypot: str = "",
           min_seconds: float | None = None, resume_key: str | None = None,
           now: datetime | None = None) -> SubmitResult:
    """Store a completed questionnaire once; returns the response and whether it is new.

    ``answers`` maps answer codes to numbers (``value_num``) or texts (``value_text``);
    missing answers (None, NaN, blank text) are not stored. ``submission_id`` (the client's
    UUID) and the invitation each identify the response: repeating either returns the
    original response with ``created=False``. Web submissions need an open survey; agents
    (``channel`` phone, paper or interview, with ``customer_external_id``) may also enter
    answers for a closed one. An agent's entry for a customer who was invited answers that
    invitation (its wave and design weight, no more reminders); one who has answered it already
    is refused. ``weight`` is the invitation's design weight (1 without one);
    ``started_at`` defaults to the draft's start. Bot signals become ``quality_flags``
    (see :func:`default_min_seconds`).
    """
    _check_arguments(submission_id, channel, language)
    with engine.connect() as conn:
        survey = conn.execute(select(surveys).where(surveys.c.code == survey_code)).first()
        if survey is None:
            raise UserError(N_("there is no survey {code!r}"), code=survey_code)
        allowed = ("open", "closed") if channel in AGENT_CHANNELS else ("open",)
        if survey.status not in allowed:
            raise UserError(N_("survey {code!r} is {status} and takes no answers on channel "
                               "{channel}"), code=survey_code, status=Term(survey.status),
                            channel=Term(channel))
        link = None
        if invitation_token is not None:
            link = _link_from_invitation(conn, invitation_token, statuses=allowed) \
                if _token_ok(invitation_token) else None
            if link is None or link.survey_id != survey.id:
                raise UserError(N_("the invitation token does not belong to survey {code!r}; check "
                                   "the link"), code=survey_code)
        customer_pk = None
        if customer_external_id is not None:
            customer_pk = conn.execute(select(customers.c.id).where(
                customers.c.external_id == customer_external_id)).scalar()
            if customer_pk is None:
                raise UserError(N_("there is no customer {customer!r}"), customer=customer_external_id)
        if invitation_token is None and channel in AGENT_CHANNELS and customer_pk is not None:
            link = _invited(conn, survey.id, customer_pk, allowed)
            if link is not None and link.response_id is not None:
                return _answered_already(conn, link, submission_id, customer_external_id)
        if link is None:
            link = SurveyLink(
                survey_id=survey.id, survey_code=survey.code, title=survey.title,
                language=survey.language, version=survey.version,
                questionnaire=stored_questionnaire(conn, survey.id, survey.version,
                                                   survey.definition, survey.code),
                draft=_draft_of(conn, (drafts.c.resume_key == resume_key)
                                & (drafts.c.survey_id == survey.id)
                                & drafts.c.invitation_id.is_(None))
                if _token_ok(resume_key) else None)
    return store_one(engine, prepare_from_link(
        link, answers=answers, submission_id=submission_id, channel=channel, language=language,
        started_at=started_at, honeypot=honeypot, min_seconds=min_seconds,
        customer_pk=customer_pk, statuses=allowed, now=now))


__all__ = [
    "AGENT_CHANNELS",
    "ANONYMOUS_DRAFT_DAYS",
    "PreparedSubmission",
    "SubmissionConflict",
    "SubmitResult",
    "SurveyChanged",
    "SurveyLink",
    "UnstorableSubmission",
    "default_min_seconds",
    "prepare_from_link",
    "resolve_link",
    "resolve_open_link",
    "resolve_token",
    "save_draft",
    "store_one",
    "store_submissions",
    "submit",
]
