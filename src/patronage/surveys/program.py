"""The survey programme over the database: surveys, waves, samples and invitations.

A survey is stored with its questionnaire definition (JSON) and a version. The definition can
change only while the survey is a draft; once it is open, answers refer to that version, so a
changed questionnaire becomes a new survey (:func:`copy_survey`). Samples are drawn with
:mod:`patronage.surveys.sampling` from the panel, respecting consent and the quiet period, and
every invitation is written together with its outbox mail in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.messages import N_, Term, UserError
from patronage.storage.engine import write_transaction
from patronage.storage.reads import read_customers
from patronage.storage.schema import SURVEY_STATUSES, customers, invitations, surveys, waves
from patronage.surveys import outbox as mail
from patronage.surveys.definition import Questionnaire, next_version, parse_definition
from patronage.surveys.sampling import (
    apply_quotas,
    check_quota_cells,
    check_sd_strata,
    check_segment_values,
    eligible,
    simple_random,
    stratified,
    targeted,
)

METHODS = ("simple", "stratified", "targeted")
#: Allowed status changes; a survey never returns to draft once it has been open.
TRANSITIONS = {("draft", "open"), ("draft", "closed"), ("open", "closed"), ("closed", "open")}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_token() -> str:
    """A random URL-safe token of 192 bits (``secrets.token_urlsafe(24)``, 32 characters)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Survey:
    """A stored survey: its row and its parsed questionnaire."""

    id: int
    code: str
    title: str
    language: str
    status: str
    version: int
    open_token: str | None
    quiet_days: int
    questionnaire: Questionnaire


def _as_questionnaire(questionnaire: Questionnaire | Mapping | str) -> Questionnaire:
    if isinstance(questionnaire, Questionnaire):
        return questionnaire
    return parse_definition(questionnaire)


def _row_to_survey(row: Any) -> Survey:
    return Survey(id=row.id, code=row.code, title=row.title, language=row.language,
                  status=row.status, version=row.version, open_token=row.open_token,
                  quiet_days=row.quiet_days,
                  questionnaire=parse_definition(row.definition, name=f"survey {row.code}"))


def get_survey(engine_or_conn, code: str) -> Survey:
    """The survey ``code``; ValueError when there is none."""
    query = select(surveys).where(surveys.c.code == code)
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            row = conn.execute(query).first()
    else:
        row = engine_or_conn.execute(query).first()
    if row is None:
        raise UserError(N_("there is no survey {code!r}; create it first or check the code"),
                        code=code)
    return _row_to_survey(row)


def create_survey(engine: Engine, questionnaire: Questionnaire | Mapping | str, *,
                  title: str | None = None, status: str = "draft", quiet_days: int = 90,
                  now: datetime | None = None) -> str:
    """Store a new survey for ``questionnaire``; returns its code (the questionnaire's code).

    ``title`` defaults to the questionnaire title in its first language; the survey language
    is that first language. ``quiet_days`` is the quiet period used when sampling.
    """
    q = _as_questionnaire(questionnaire)
    if status not in ("draft", "open"):
        raise UserError(N_("a new survey is 'draft' or 'open'; got status {status!r}"),
                        status=status)
    if isinstance(quiet_days, bool) or not isinstance(quiet_days, int) or quiet_days < 0:
        raise UserError(N_("quiet_days must be a whole number >= 0; got {value!r}"),
                        value=quiet_days)
    title = (title or q.text(q.title)).strip()
    if not title:
        raise UserError(N_("the survey needs a title"))
    try:
        with write_transaction(engine) as conn:
            conn.execute(insert(surveys).values(
                code=q.code, title=title[:300], language=q.languages[0], status=status,
                definition=q.to_dict(), version=q.version, quiet_days=quiet_days,
                created_at=now or _now()))
    except IntegrityError:
        raise UserError(N_("a survey with code {code!r} exists already; choose another code "
                           "in the definition"), code=q.code) from None
    return q.code


def update_definition(engine: Engine, code: str,
                      questionnaire: Questionnaire | Mapping | str) -> int:
    """Replace the definition of a draft survey; returns the (possibly new) version.

    The version goes up by one when the content changed (:func:`next_version`).
    """
    new = _as_questionnaire(questionnaire)
    with write_transaction(engine) as conn:
        survey = get_survey(conn, code)
        if survey.status != "draft":
            raise UserError(N_("survey {code!r} is {status}; its questionnaire can no longer "
                               "change. Close it and copy it (copy_survey) to ask changed "
                               "questions"), code=code, status=Term(survey.status))
        if new.code != code:
            new = replace(new, code=code)
        new = next_version(survey.questionnaire, new)
        values = {"definition": new.to_dict(), "version": new.version,
                  "language": new.languages[0]}
        if new.title != survey.questionnaire.title:  # the title respondents see names it
            values["title"] = new.text(new.title)[:300]
        conn.execute(update(surveys).where(surveys.c.id == survey.id).values(**values))
    return new.version


def copy_survey(engine: Engine, code: str, new_code: str, *, title: str | None = None) -> str:
    """A new draft survey with the questionnaire of ``code`` under ``new_code`` (version 1).

    A ``title`` given is what the copy's respondents see, in every language; else the copy
    keeps the original's titles."""
    survey = get_survey(engine, code)
    q = replace(survey.questionnaire, code=new_code, version=1)
    if (title or "").strip():
        q = replace(q, title={lang: title.strip()[:300] for lang in q.languages})
    q = parse_definition(q.to_dict(), name=f"copy of {code}")  # checks new_code
    return create_survey(engine, q, title=title or survey.title, quiet_days=survey.quiet_days)


def set_status(engine: Engine, code: str, status: str, *, open_link: bool = False) -> str | None:
    """Change the status of survey ``code`` (draft → open → closed; closed → open reopens).

    With ``open_link`` an anonymous link is enabled as the survey opens (see
    :func:`enable_open_link`); returns the survey's open-link token, or None.
    """
    if status not in SURVEY_STATUSES:
        raise UserError(N_("status must be one of {choices}; got {status!r}"),
                        choices=list(SURVEY_STATUSES), status=status)
    with write_transaction(engine) as conn:
        survey = get_survey(conn, code)
        token = survey.open_token
        if survey.status != status:
            if (survey.status, status) not in TRANSITIONS:
                raise UserError(N_("survey {code!r} cannot go from {old} to {new}; a survey that "
                                   "has been open never returns to draft"),
                                code=code, old=Term(survey.status), new=Term(status))
            conn.execute(update(surveys).where(surveys.c.id == survey.id).values(status=status))
        if open_link and status == "open" and token is None:
            token = new_token()
            conn.execute(update(surveys).where(surveys.c.id == survey.id)
                         .values(open_token=token))
    return token


def enable_open_link(engine: Engine, code: str) -> str:
    """Give survey ``code`` an anonymous link (and QR code) token; returns it.

    The token has 192 random bits (:func:`new_token`); an existing token is kept.
    """
    with write_transaction(engine) as conn:
        survey = get_survey(conn, code)
        if survey.open_token is not None:
            return survey.open_token
        token = new_token()
        conn.execute(update(surveys).where(surveys.c.id == survey.id).values(open_token=token))
    return token


def disable_open_link(engine: Engine, code: str) -> None:
    """Revoke the anonymous link of survey ``code``: its token stops working."""
    with write_transaction(engine) as conn:
        survey = get_survey(conn, code)
        conn.execute(update(surveys).where(surveys.c.id == survey.id).values(open_token=None))


def add_wave(engine: Engine, code: str, name: str, starts_on: date,
             ends_on: date | None = None) -> int:
    """Add wave ``name`` to survey ``code``; returns its id."""
    if not isinstance(name, str) or not name.strip():
        raise UserError(N_("a wave needs a name, e.g. '2026-Q3'"))
    if not isinstance(starts_on, date):
        raise UserError(N_("starts_on must be a date; got {value!r}"), value=starts_on)
    if ends_on is not None and ends_on < starts_on:
        raise UserError(N_("wave {name!r} ends ({ends}) before it starts ({starts})"),
                        name=name, ends=ends_on, starts=starts_on)
    try:
        with write_transaction(engine) as conn:
            survey = get_survey(conn, code)
            result = conn.execute(insert(waves).values(survey_id=survey.id, name=name.strip(),
                                                       starts_on=starts_on, ends_on=ends_on))
            return int(result.inserted_primary_key[0])
    except IntegrityError:
        raise UserError(N_("survey {code!r} has a wave {name!r} already; choose another name"),
                        code=code, name=name) \
            from None


def _wave_id(conn, survey: Survey, wave: str | None) -> int | None:
    if wave is None:
        return None
    found = conn.execute(select(waves.c.id).where(
        (waves.c.survey_id == survey.id) & (waves.c.name == wave))).scalar()
    if found is None:
        raise UserError(N_("survey {code!r} has no wave {wave!r}; add it first"),
                        code=survey.code, wave=wave)
    return int(found)


@dataclass
class SampleReport:
    """What :func:`draw_sample` did.

    ``exclusions`` lists ``customer_id, reason`` for every panel member not eligible;
    ``allocation`` is the stratum table (``stratum, N_h, n_h, weight``) of a stratified draw;
    ``quotas`` the quota table when quotas were applied.
    """

    invited: int
    mails: int
    eligible: int
    exclusions: pd.DataFrame
    allocation: pd.DataFrame | None = None
    quotas: pd.DataFrame | None = None
    unmatched_ids: list = field(default_factory=list)
    #: The seed the draw used (drawn at random when none was given), to repeat it.
    seed: int | None = None
    #: A preview: nothing was written; ``invited`` and ``mails`` say what a draw would do.
    preview: bool = False
    #: ``customer_id, name, stratum, design_weight`` of the sampled customers.
    customers: pd.DataFrame | None = None


def _history(conn) -> pd.DataFrame:
    rows = conn.execute(select(customers.c.external_id, invitations.c.created_at)
                        .join(customers, customers.c.id == invitations.c.customer_id)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["customer_id", "invited_at"])


def _draw(pool: pd.DataFrame, method: str, *, n, strata, allocation, sd, min_per_stratum,
          segment_filter, ids, query, seed) -> pd.DataFrame:
    if method == "simple":
        if n is None:
            raise UserError(N_("a simple random sample needs n"))
        return simple_random(pool, n, seed=seed)
    if method == "stratified":
        if n is None or strata is None:
            raise UserError(N_("a stratified sample needs n and strata (column names)"))
        return stratified(pool, strata, n, allocation=allocation, sd=sd,
                          min_per_stratum=min_per_stratum, seed=seed)
    sample = targeted(pool, query=query, ids=ids, segment_filter=segment_filter)
    if n is not None and n < len(sample):
        raise UserError(N_("the targeted list has {count} customers, more than n={n}; narrow the "
                           "criteria or leave n out"), count=len(sample), n=n)
    return sample


def draw_sample(engine: Engine, code: str, wave: str | None, *, method: str = "simple",
                n: int | None = None, strata: str | list[str] | None = None,
                allocation: str = "proportional", sd=None, min_per_stratum: int = 0,
                quotas: dict | None = None, quota_by: str | list[str] | None = None,
                segment_filter: dict | None = None, ids: list | None = None,
                query: str | None = None, seed=None, today: date | None = None,
                channel: str = "email", base_url: str | None = None,
                now: datetime | None = None, preview: bool = False) -> SampleReport:
    """Draw a sample from the panel and invite it to wave ``wave`` of the open survey ``code``.

    The eligible population is the panel minus customers without survey consent, customers
    invited to any survey within the survey's ``quiet_days`` before ``today``, customers already
    invited to this wave and, for ``channel="email"``, customers without an e-mail address
    (:func:`patronage.surveys.sampling.eligible`). From it ``method`` draws a simple random,
    stratified (``strata``, ``allocation``, ``sd``) or targeted (``segment_filter``, ``ids``,
    ``query``) sample; ``quotas`` then caps cells of ``quota_by`` (default: ``strata``).

    Each sampled customer gets an invitation (a 192-bit token, ``stratum``, ``design_weight``
    — the inverse inclusion probability; 1 for a targeted list, which has none) and, for
    e-mail, an outbox message in the survey language, all in one transaction. With
    ``preview`` nothing is written: the report says whom the draw would invite, and the same
    ``seed`` (``report.seed``) on the same panel draws exactly them. Quota cells must name
    strata of the panel (:func:`~patronage.surveys.sampling.check_quota_cells`).
    """
    if method not in METHODS:
        raise UserError(N_("method must be one of {choices}; got {method!r}"),
                        choices=list(METHODS), method=method)
    if channel not in ("email", "phone", "paper", "sms", "link"):
        raise UserError(N_("channel must be email, sms, phone, link or paper; got {channel!r}"),
                        channel=channel)
    now = now or (datetime.combine(today, _now().time()) if today is not None else _now())
    today = today or now.date()
    if seed is None:
        seed = secrets.randbelow(2**31)
    with write_transaction(engine) as conn:
        survey = _locked_survey(conn, code)
        if survey.status != "open":
            raise UserError(N_("survey {code!r} is {status}; open it before inviting anyone"),
                            code=code, status=Term(survey.status))
        wave_id = _wave_id(conn, survey, wave)
        # Read while holding the write lock (SQLite) or the survey row lock (PostgreSQL), so
        # two concurrent draws for this survey cannot invite one customer twice.
        panel = read_customers(engine)
        history = _history(conn)
        already = set(conn.execute(
            select(invitations.c.customer_id).where(
                (invitations.c.survey_id == survey.id)
                & (invitations.c.wave_id.is_(None) if wave_id is None
                   else invitations.c.wave_id == wave_id))).scalars())
        sample, report = _sample(panel, already, history, survey, wave, today, method=method,
                                 n=n, strata=strata, allocation=allocation, sd=sd,
                                 min_per_stratum=min_per_stratum, quotas=quotas,
                                 quota_by=quota_by, segment_filter=segment_filter, ids=ids,
                                 query=query, seed=seed, channel=channel)
        report.seed = seed if isinstance(seed, int) else None
        report.customers = sample[[c for c in ("customer_id", "name", "stratum",
                                                "design_weight") if c in sample.columns]]
        if preview:
            report.preview, report.invited = True, len(sample)
            report.mails = int(sample["email"].map(
                lambda a: isinstance(a, str) and bool(a.strip())).sum()) \
                if channel == "email" else 0
            return report
        weights = sample["design_weight"].astype(float).fillna(1.0).to_numpy()
        rows = [{"survey_id": survey.id, "wave_id": wave_id, "customer_id": int(pk),
                 "token": new_token(), "channel": channel, "stratum": str(stratum)[:200],
                 "design_weight": float(w), "created_at": now}
                for pk, stratum, w in zip(sample["customer_pk"], sample["stratum"], weights,
                                          strict=True)]
        created = conn.execute(
            insert(invitations).returning(invitations.c.id, sort_by_parameter_order=True),
            rows).scalars().all() if rows else []
        for invitation_id, row, address in zip(created, rows, sample["email"], strict=True):
            if channel == "email" and isinstance(address, str) and address.strip():
                mail.enqueue_invitation(conn, invitation_id=invitation_id, token=row["token"],
                                        to_address=address, language=survey.language,
                                        title=survey.title, base_url=base_url, now=now)
                report.mails += 1
    report.invited = len(rows)
    return report


def _locked_survey(conn, code: str) -> Survey:
    query = select(surveys).where(surveys.c.code == code)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise UserError(N_("there is no survey {code!r}; create it first or check the code"),
                        code=code)
    return _row_to_survey(row)


def _sample(panel: pd.DataFrame, already: set, history: pd.DataFrame, survey: Survey,
            wave: str | None, today: date, *, method, n, strata, allocation, sd,
            min_per_stratum, quotas, quota_by, segment_filter, ids, query, seed,
            channel) -> tuple[pd.DataFrame, SampleReport]:
    by = quota_by if quota_by is not None else strata
    if quotas:
        if by is None:
            raise UserError(N_("quotas need quota_by (the column(s) the quota cells refer to)"))
        check_quota_cells(panel, quotas, by)
    if segment_filter and method == "targeted":
        check_segment_values(panel, segment_filter)
    if sd is not None and strata and method == "stratified" and allocation == "neyman":
        check_sd_strata(panel, strata, sd)
    in_wave = panel["customer_pk"].isin(already)
    pool, exclusions = eligible(panel.loc[~in_wave], history=history,
                                quiet_days=survey.quiet_days, today=today,
                                require_email=channel == "email")
    repeat = pd.DataFrame({"customer_id": panel.loc[in_wave, "customer_id"].to_numpy(),
                           "reason": f"already invited in wave {wave}"})
    exclusions = pd.concat([exclusions, repeat], ignore_index=True) if len(repeat) else exclusions
    rng = np.random.default_rng(seed)
    sample = _draw(pool, method, n=n, strata=strata, allocation=allocation, sd=sd,
                   min_per_stratum=min_per_stratum, segment_filter=segment_filter, ids=ids,
                   query=query, seed=rng)
    report = SampleReport(invited=0, mails=0, eligible=len(pool), exclusions=exclusions,
                          allocation=sample.attrs.get("allocation"),
                          unmatched_ids=list(sample.attrs.get("unmatched_ids", [])))
    if quotas:
        sample = apply_quotas(sample, quotas, by, seed=rng)
        report.quotas = sample.attrs.get("quotas")
    return sample, report


def send_reminders(engine: Engine, code: str, wave: str | None, *, older_than_days: int = 7,
                   now: datetime | None = None, base_url: str | None = None) -> int:
    """Queue one reminder per e-mail invitation of ``wave`` not answered and not yet reminded,
    invited at least ``older_than_days`` days ago; returns how many.

    ``reminded_at`` is set in the same transaction as the outbox rows, so a second call sends
    nothing twice.
    """
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int) \
            or older_than_days < 0:
        raise UserError(N_("older_than_days must be a whole number >= 0; got {value!r}"),
                        value=older_than_days)
    now = now or _now()
    i = invitations.c
    with write_transaction(engine) as conn:
        survey = get_survey(conn, code)
        if survey.status != "open":
            raise UserError(N_("survey {code!r} is {status}; reminders go out only while it is "
                               "open"), code=code, status=Term(survey.status))
        wave_id = _wave_id(conn, survey, wave)
        query = (select(i.id, i.token, customers.c.email)
                 .join(customers, customers.c.id == i.customer_id)
                 .where((i.survey_id == survey.id) & i.responded_at.is_(None)
                        & i.reminded_at.is_(None) & (i.channel == "email")
                        & (i.created_at <= now - timedelta(days=older_than_days))
                        & customers.c.consent_survey)
                 .order_by(i.id))
        if wave_id is not None:
            query = query.where(i.wave_id == wave_id)
        count = 0
        for invitation_id, token, address in conn.execute(query).all():
            if not address or "@" not in address:
                continue
            mail.enqueue_invitation(conn, invitation_id=invitation_id, token=token,
                                    to_address=address, language=survey.language,
                                    title=survey.title, kind="reminder", base_url=base_url,
                                    now=now)
            conn.execute(update(invitations).where(i.id == invitation_id)
                         .values(reminded_at=now))
            count += 1
    return count


__all__ = [
    "METHODS",
    "SampleReport",
    "Survey",
    "TRANSITIONS",
    "add_wave",
    "copy_survey",
    "create_survey",
    "disable_open_link",
    "draw_sample",
    "enable_open_link",
    "get_survey",
    "new_token",
    "send_reminders",
    "set_status",
]
