"""What the survey administration pages show and do, over the database.

The web pages (:mod:`patronage.web.survey_admin`) stay thin: they parse a form, call one function
here or in :mod:`patronage.surveys.program`, and render the result.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.messages import N_, Message, Term, UserError
from patronage.storage.schema import customers, invitations, outbox, responses, surveys
from patronage.surveys.definition import parse_definition
from patronage.surveys.draws import list_draws
from patronage.surveys.field import field_stats
from patronage.surveys.program import Survey, create_survey, get_survey
from patronage.surveys.templates import (
    list_templates,
    load_template,
    relationship_from_index_system,
)

#: The template built from the index system (not a file among :func:`list_templates`).
RELATIONSHIP = "relationship"
#: Customer columns a sample may be stratified by.
STRATA_COLUMNS = ("channel", "industry", "region", "size", "tier")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def template_choices() -> list[tuple[str, dict[str, str]]]:
    """``(code, title per language)`` of every template a survey can start from.

    The shipped templates (:func:`list_templates`) and ``relationship``, the relationship survey
    built from the index system (:func:`relationship_from_index_system`).
    """
    choices = list_templates()
    relationship = relationship_from_index_system()
    return [(RELATIONSHIP, dict(relationship.title)), *choices]


def create_from_template(engine: Engine, template: str, code: str, title: str | None = None,
                         language: str | None = None) -> str:
    """Store a new draft survey ``code`` with the questionnaire of ``template``; returns the code.

    ``language`` (one the template offers) becomes the survey language, i.e. the first of the
    questionnaire's languages; ``title`` defaults to the template title in that language. A
    typed ``title`` is what respondents see, in every language of the questionnaire (edit the
    definition to give it per language).
    Raises ValueError (a :class:`~patronage.surveys.definition.DefinitionError` for a bad code).
    """
    known = [c for c, _ in template_choices()]
    if template not in known:
        raise UserError(N_("unknown survey template {template!r}; choose one of {known}"),
                        template=template, known=known)
    q = relationship_from_index_system() if template == RELATIONSHIP else load_template(template)
    language = language or q.languages[0]
    if language not in q.languages:
        raise UserError(N_("template {template!r} is offered in {languages}; got language "
                           "{language!r}"), template=template, languages=list(q.languages),
                        language=language)
    data = q.to_dict()
    data.update(code=(code or "").strip(), version=1,
                languages=[language, *(x for x in q.languages if x != language)])
    if (title or "").strip():
        data["title"] = {lang: title.strip()[:300] for lang in q.languages}
    q = parse_definition(data, name=f"survey from template {template}")
    return create_survey(engine, q, title=(title or "").strip() or q.text(q.title, language))


def _counts(conn, table) -> pd.Series:
    rows = conn.execute(select(table.c.survey_id, func.count()).group_by(table.c.survey_id)).all()
    return pd.Series({int(k): int(n) for k, n in rows}, dtype="int64")


def survey_table(engine: Engine) -> pd.DataFrame:
    """Every survey: ``code, title, language, status, version, responses, invitations``."""
    s = surveys.c
    with engine.connect() as conn:
        rows = conn.execute(select(s.id, s.code, s.title, s.language, s.status, s.version)
                            .order_by(s.created_at.desc(), s.id.desc())).all()
        answered, invited = _counts(conn, responses), _counts(conn, invitations)
    frame = pd.DataFrame([tuple(r) for r in rows],
                         columns=["survey_pk", "code", "title", "language", "status", "version"])
    frame["responses"] = frame["survey_pk"].map(answered).fillna(0).astype("int64")
    frame["invitations"] = frame["survey_pk"].map(invited).fillna(0).astype("int64")
    return frame


@dataclass
class SurveyOverview:
    """What the survey page shows: the survey, its definition as JSON, waves and field stats."""

    survey: Survey
    definition_json: str
    open_url: str | None
    waves: list[str]
    stats: dict[str, pd.DataFrame]
    pending_mails: int
    draws: pd.DataFrame


def open_link_url(base_url: str, token: str | None) -> str | None:
    """The public address of an open (anonymous) link: ``{base_url}/o/{token}``."""
    return f"{base_url.rstrip('/')}/o/{token}" if token else None


def qr_data_uri(url: str) -> str:
    """A QR code of ``url`` as an SVG data URI, for printing on posters and receipts."""
    import segno

    return segno.make(url, error="m").svg_data_uri(scale=5, border=2)


def survey_overview(engine: Engine, code: str, base_url: str) -> SurveyOverview:
    """Gather the survey page of ``code``; ValueError when there is no such survey."""
    survey = get_survey(engine, code)
    stats = field_stats(engine, code)
    with engine.connect() as conn:
        pending = conn.execute(select(func.count()).select_from(outbox)
                               .where(outbox.c.status == "pending")).scalar_one()
    return SurveyOverview(
        survey=survey,
        definition_json=json.dumps(survey.questionnaire.to_dict(), ensure_ascii=False, indent=2),
        open_url=open_link_url(base_url, survey.open_token),
        waves=stats["by_wave"]["wave"].tolist(), stats=stats, pending_mails=int(pending),
        draws=list_draws(engine, code))


def exclusion_counts(exclusions: pd.DataFrame) -> pd.DataFrame:
    """How many customers each reason excluded: ``reason, customers``, most frequent first.

    A customer excluded for several reasons counts under each; dates inside a reason (the last
    invitation of the quiet period) are replaced by ``…`` so one reason groups together.
    """
    if exclusions is None or exclusions.empty:
        return pd.DataFrame({"reason": pd.Series(dtype=object),
                             "customers": pd.Series(dtype="int64")})
    reasons = (exclusions["reason"].astype(str).str.split("; ").explode()
               .str.replace(_DATE, "…", regex=True))
    counts = reasons.value_counts()
    # object: a string column would turn the messages into plain text (no translation)
    return pd.DataFrame({"reason": pd.Series([reason_message(r) for r in counts.index],
                                             dtype=object),
                         "customers": counts.to_numpy().astype("int64")})


#: The sampling's exclusion reasons (English, as :mod:`patronage.surveys.sampling` writes them).
_QUIET = re.compile(r"invited …, inside the (\d+)-day quiet period\Z")
_AGAIN = re.compile(r"already invited in wave (.+)\Z")
_REASONS = {"no survey consent": N_("no survey consent"),
            "no e-mail address": N_("no e-mail address")}


def reason_message(reason: str) -> str:
    """An exclusion reason as a :class:`~patronage.messages.Message` a page shows translated
    (an unknown reason stays as it is)."""
    if reason in _REASONS:
        return Message(_REASONS[reason])
    again = _AGAIN.match(reason)
    if again:
        return Message(N_("already invited in wave {wave}"), wave=again.group(1))
    quiet = _QUIET.match(reason)
    if quiet:
        return Message(N_("invited …, inside the {days}-day quiet period"),
                       days=int(quiet.group(1)))
    return reason


def parse_whole(text: str | None, what: str, *, minimum: int = 0,
                required: bool = True) -> int | None:
    """A whole number typed into a form; None when empty and not ``required``."""
    text = (text or "").strip()
    if not text:
        if required:
            raise UserError(N_("{what} is missing; type a whole number"), what=Term(what))
        return None
    try:
        value = int(text)
    except ValueError:
        raise UserError(N_("{what} must be a whole number; got {value!r}"), what=Term(what),
                        value=text) from None
    if value < minimum:
        raise UserError(N_("{what} must be at least {minimum}; got {value}"), what=Term(what),
                        minimum=minimum, value=value)
    return value


def parse_sd(text: str | None) -> dict[str, float] | None:
    """Standard deviations per stratum typed as ``East=1.2; North=0.8`` (Neyman allocation).

    Pairs are separated by ``;`` or new lines; None when the text is empty.
    """
    text = (text or "").strip()
    if not text:
        return None
    out: dict[str, float] = {}
    for part in re.split(r"[;\n]", text):
        if not part.strip():
            continue
        label, sep, number = part.rpartition("=")
        try:
            value = float(number)
        except ValueError:
            value = math.nan
        if not sep or not label.strip() or not math.isfinite(value) or value < 0:
            raise UserError(N_("cannot read standard deviation {part!r}; write stratum=number "
                               "pairs separated by ';', e.g. 'East=1.2; North=0.8'"),
                            part=part.strip())
        out[label.strip()] = value
    return out


def parse_strata(columns: list[str]) -> list[str]:
    """The stratification columns chosen, each one of :data:`STRATA_COLUMNS`."""
    chosen = [c for c in columns if c]
    unknown = [c for c in chosen if c not in STRATA_COLUMNS]
    if unknown:
        raise UserError(N_("cannot stratify by {unknown}; choose among {choices}"),
                        unknown=unknown, choices=list(STRATA_COLUMNS))
    return chosen


def _pairs(text: str | None):
    """``label=value`` pairs separated by ``;`` or new lines (full-width ``；`` too)."""
    for part in re.split(r"[;；\n]", text or ""):
        if part.strip():
            label, sep, value = part.rpartition("=")
            yield part.strip(), label.strip() if sep else "", value.strip()


def parse_segment_filter(text: str | None) -> dict[str, list[str]] | None:
    """Segments typed as ``size=key account; region=East China, North China``: customers in
    one of the listed values of every named column. None when the text is empty."""
    out: dict[str, list[str]] = {}
    for part, column, values in _pairs(text):
        allowed = [v.strip() for v in re.split(r"[,，、]", values) if v.strip()]
        if column not in STRATA_COLUMNS or not allowed:
            raise UserError(N_("cannot read segment {part!r}; write column=value pairs separated "
                               "by ';' with columns among {choices}, e.g. 'size=key account; "
                               "region=East China, North China'"),
                            part=part, choices=list(STRATA_COLUMNS))
        out[column] = allowed
    return out or None


def parse_ids(text: str | None) -> list[str] | None:
    """Customer ids separated by commas, spaces or new lines; None when there are none."""
    ids = [i for i in re.split(r"[\s,，、;；]+", text or "") if i]
    return list(dict.fromkeys(ids)) or None


def parse_quotas(text: str | None) -> dict | None:
    """Quotas typed as ``East China=50; North China=30``: the most customers a cell of the
    strata may give. A cell of several strata columns is written ``East China / small=20``.
    None when the text is empty."""
    out: dict = {}
    for part, label, number in _pairs(text):
        cell = tuple(v.strip() for v in label.split("/"))
        if not label or not number.isdigit() or not all(cell):
            raise UserError(N_("cannot read quota {part!r}; write cell=whole number pairs separated "
                               "by ';', e.g. 'East China=50; North China=30'"), part=part)
        out[cell if len(cell) > 1 else cell[0]] = int(number)
    return out or None


def sample_options(*, method: str, n: str, strata: list[str], allocation: str, sd: str,
                   seed: str, segments: str = "", ids: str = "", quotas: str = "") -> dict:
    """The keyword arguments of :func:`~patronage.surveys.program.draw_sample` from the
    sample form's fields; ``ValueError`` names the field that cannot be read."""
    columns = parse_strata(strata)
    options = {"method": method, "seed": parse_whole(seed, N_("the seed"), required=False),
               "n": parse_whole(n, N_("the sample size n"), minimum=1,
                                required=method != "targeted")}
    if method == "stratified":
        options.update(strata=columns or None, allocation=allocation, sd=parse_sd(sd))
    elif method == "targeted":
        options.update(segment_filter=parse_segment_filter(segments), ids=parse_ids(ids))
        if options["segment_filter"] is None and options["ids"] is None:
            raise UserError(N_("a targeted list needs a segment (e.g. 'size=key account') or "
                               "customer ids"))
    cells = parse_quotas(quotas)
    if cells is not None:
        if not columns:
            raise UserError(N_("quotas cap cells of the strata: tick the strata columns the "
                               "quota cells are made of"))
        options.update(quotas=cells, quota_by=columns)
    return options


def open_surveys(engine: Engine) -> list[tuple[str, str]]:
    """``(code, title)`` of the surveys open now: those an agent may enter interviews for."""
    s = surveys.c
    with engine.connect() as conn:
        rows = conn.execute(select(s.code, s.title).where(s.status == "open")
                            .order_by(s.created_at.desc(), s.id.desc())).all()
    return [(r.code, r.title) for r in rows]


def customer_name(engine: Engine, external_id: str | None) -> str | None:
    """The name of customer ``external_id`` or None when there is none."""
    if not external_id:
        return None
    with engine.connect() as conn:
        return conn.execute(select(customers.c.name)
                            .where(customers.c.external_id == external_id)).scalar()


__all__ = [
    "RELATIONSHIP",
    "STRATA_COLUMNS",
    "SurveyOverview",
    "create_from_template",
    "customer_name",
    "exclusion_counts",
    "open_link_url",
    "open_surveys",
    "qr_data_uri",
    "parse_ids",
    "parse_quotas",
    "parse_sd",
    "parse_segment_filter",
    "parse_strata",
    "parse_whole",
    "sample_options",
    "survey_overview",
    "survey_table",
    "template_choices",
]
