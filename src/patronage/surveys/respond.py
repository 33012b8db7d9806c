"""Answering a survey on the public pages: one section per page, no JavaScript needed.

Every post carries all answers given so far (the current page's inputs plus hidden fields for
the other pages), so the form works without scripts and a replayed post is harmless. Drafts are
saved on every page turn (save-and-resume); the final submit is idempotent through the
``submission_id`` made when the form was first shown.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from patronage.storage.schema import invitations, surveys
from patronage.surveys.answers import error_key, may_follow, pages, validate_submission
from patronage.surveys.definition import LANGUAGES, Item, Section
from patronage.surveys.submissions import (
    PreparedSubmission,
    SubmitResult,
    SurveyLink,
    prepare_from_link,
    save_draft,
    store_one,
)

ACTIONS = ("next", "back", "save", "submit")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")

#: The five Kano answers (Berger et al. 1993), in the survey's language.
KANO_CHOICES = {
    "en": ("I like it that way", "It must be that way", "I am neutral", "I can live with it",
           "I dislike it that way"),
    "zh_Hans": ("我喜欢这样", "理应如此", "无所谓", "能够忍受", "我不喜欢这样"),
    "zh_Hant": ("我喜歡這樣", "理應如此", "無所謂", "能夠忍受", "我不喜歡這樣"),
}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class FormState:
    """What the public page shows next."""

    link: SurveyLink
    language: str
    answers: dict[str, Any]
    page: int
    sections: list[Section]
    submission_id: str
    started_at: str
    errors: dict[str, str] = field(default_factory=dict)
    resume_key: str | None = None
    saved: bool = False
    result: SubmitResult | None = None

    @property
    def section(self) -> Section | None:
        return self.sections[self.page] if self.sections else None

    @property
    def last_page(self) -> bool:
        """No page follows this one, whatever its answers (the button says Submit)."""
        return self.page >= len(self.sections) - 1 and not (
            self.section is not None
            and may_follow(self.link.questionnaire, self.answers, self.section))

    @property
    def progress(self) -> int:
        """Per cent of the pages shown (given the answers so far) that lie behind."""
        return round(100 * self.page / len(self.sections)) if self.sections else 0

    def hidden_answers(self) -> list[tuple[str, str]]:
        """Answers of the other pages as (name, value) pairs for hidden inputs."""
        current = {c for i in (self.section.items if self.section else ()) for c in i.answer_codes()}
        out = []
        for code, value in self.answers.items():
            if code in current or value is None:
                continue
            out.append((code, _form_value(value)))
        return out

    def value(self, code: str) -> str:
        value = self.answers.get(code)
        return "" if value is None else _form_value(value)


def _form_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def choose_language(link: SurveyLink, requested: str | None) -> str:
    """The survey language: the requested one if the survey offers it, else the survey's own."""
    offered = link.questionnaire.languages
    if requested in offered:
        return requested
    return link.language if link.language in offered else offered[0]


@dataclass(frozen=True)
class Unavailable:
    """Why a survey link cannot be answered, for the respondent's page: ``closed`` when it
    names a survey that is not open (then ``language`` is the survey's), else unknown."""

    closed: bool
    language: str


def unavailable(engine: Engine, kind: str, token: str, requested: str | None,
                fallback: str) -> Unavailable:
    """What to tell someone whose link ``/kind/token`` did not resolve, in which language: the
    ``requested`` one if the survey offers it, else the survey's, else ``fallback`` (the
    browser's) when the link names no survey."""
    row = None
    if isinstance(token, str) and _TOKEN.match(token):
        s, i = surveys.c, invitations.c
        query = (select(s.language, s.definition).join(invitations, i.survey_id == s.id)
                 .where(i.token == token) if kind == "s"
                 else select(s.language, s.definition).where(s.open_token == token))
        with engine.connect() as conn:
            row = conn.execute(query).first()
    if row is None:
        return Unavailable(False, requested if requested in LANGUAGES else fallback)
    offered = (row.definition or {}).get("languages") or [row.language]
    return Unavailable(True, requested if requested in offered else row.language)


def start(link: SurveyLink, language: str) -> FormState:
    """The first page, or where a saved draft left off."""
    draft = link.draft or {}
    answers = dict(draft.get("answers") or {})
    sections = pages(link.questionnaire, answers)
    page = min(int(draft.get("page") or 0), max(len(sections) - 1, 0))
    started = draft.get("started_at") or _now()
    return FormState(link=link, language=language, answers=answers, page=page, sections=sections,
                     submission_id=uuid.uuid4().hex, started_at=_iso(started),
                     resume_key=draft.get("resume_key"))


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _started(text: Any) -> datetime | None:
    """An ISO time as naive UTC (how times are stored); ``...Z`` or an offset, as JavaScript's
    ``toISOString()`` sends it, is converted; anything unreadable is None."""
    if not isinstance(text, str) or not text or len(text) > 64:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def step(engine: Engine, link: SurveyLink, form: Mapping[str, Any], *, language: str,
         open_token: str | None = None) -> FormState:
    """Apply one post of the public form: go back, save, go on, or submit (on ``link`` as it
    was looked up, with its draft)."""
    q = link.questionnaire
    answers, errors = validate_submission(q, form, language)
    sections = pages(q, answers)
    try:
        page = min(max(int(str(form.get("page", "0"))), 0), max(len(sections) - 1, 0))
    except ValueError:
        page = 0
    submission_id = str(form.get("submission_id") or uuid.uuid4().hex)[:64]
    state = FormState(link=link, language=language, answers=answers, page=page,
                      sections=sections, submission_id=submission_id,
                      started_at=str(form.get("started_at") or _iso(_now())),
                      resume_key=str(form.get("resume_key") or "") or None)
    action = str(form.get("action") or "next")
    action = action if action in ACTIONS else "next"
    on_page = {error_key(i) for i in sections[page].items} if sections else set()
    if action == "back":
        state.page = max(page - 1, 0)
    elif action in ("next", "submit"):
        # Submit and Next both go on while the answers so far open further pages (a follow-up
        # a score just called for), so skip logic works forwards without a script.
        page_errors = {k: v for k, v in errors.items() if k in on_page}
        if page_errors:
            state.errors = page_errors
            return state
        if page < len(sections) - 1:
            state.page = page + 1
        elif errors:
            first = next((n for n, s in enumerate(sections)
                          if {error_key(i) for i in s.items} & set(errors)), page)
            state.page, state.errors = first, errors
            return state
        else:
            state.result = store_one(engine, prepare_from_link(
                link, answers=answers, submission_id=submission_id, language=language,
                started_at=_started(state.started_at), honeypot=str(form.get("website") or "")))
            return state
    state.saved = action == "save"
    state.resume_key = _save(engine, link, state, open_token)
    return state


def _save(engine: Engine, link: SurveyLink, state: FormState,
          open_token: str | None) -> str | None:
    # a resume key counts only when it is this link's draft (resolve_open_link checked it)
    own_key = link.draft["resume_key"] if link.draft else None
    kwargs = ({"invitation_token": link.token} if link.token else
              {"resume_key": own_key} if own_key and own_key == state.resume_key else
              {"open_token": open_token})
    if not any(kwargs.values()):
        return None
    return save_draft(engine, answers=state.answers, page=state.page, **kwargs)


def item_fields(item: Item, language: str) -> list[dict]:
    """The input groups of one item: name, legend, choices (value, label) or a text box."""
    def text(obj):
        return (obj or {}).get(language) or next(iter((obj or {}).values()), "")

    def scale(name: str, legend: str, low: int, high: int) -> dict:
        labels = {low: text((item.anchors or {}).get("low")),
                  high: text((item.anchors or {}).get("high"))}
        return {"name": name, "legend": legend, "kind": "scale",
                "choices": [(str(v), labels.get(v, "")) for v in range(low, high + 1)]}

    if item.type in ("rating", "importance"):
        name = item.answer_codes()[0]
        return [scale(name, text(item.text), *item.scale)]
    if item.type == "nps":
        return [scale(item.code, text(item.text), 0, 10)]
    if item.type == "pair":
        return [scale(f"{item.code}.exp", text(item.expectation_text) or text(item.text),
                      *item.scale),
                scale(item.code, text(item.perception_text) or text(item.text), *item.scale)]
    if item.type == "kano":
        f, d = item.answer_codes()
        choices = [(str(n + 1), label) for n, label in enumerate(KANO_CHOICES[language])]
        return [{"name": f, "legend": text(item.functional), "kind": "choice", "choices": choices},
                {"name": d, "legend": text(item.dysfunctional), "kind": "choice",
                 "choices": choices}]
    if item.type in ("single", "multiple"):
        return [{"name": item.code, "legend": text(item.text), "kind": item.type,
                 "choices": [(o.code, text(o.text)) for o in item.options]}]
    return [{"name": item.code, "legend": text(item.text), "kind": "text",
             "max_length": item.max_length or 2000}]




class AnswerErrors(ValueError):
    """The submitted answers do not pass the questionnaire's checks; ``fields`` says why."""

    def __init__(self, fields: dict[str, str]):
        self.fields = fields
        super().__init__("some answers are missing or invalid: " + ", ".join(sorted(fields)))


def prepare_payload(link: SurveyLink, payload: Mapping[str, Any]) -> PreparedSubmission:
    """Check a complete submission sent as JSON (the API) like the form checks it.

    ``payload``: ``submission_id``, ``answers`` (answer code → value, as a form would send),
    optional ``language`` and ``started_at``. Raises :class:`AnswerErrors` or ``ValueError``.
    """
    answers_in = payload.get("answers")
    if not isinstance(answers_in, Mapping):
        raise AnswerErrors({"answers": "must be an object of answer code to value"})
    q = link.questionnaire  # a field per answer code, or a multiple item's code once
    fields = len(q.answer_codes()) + sum(item.type == "multiple" for item in q.items)
    if len(answers_in) > fields:
        raise AnswerErrors({"answers": f"has {len(answers_in)} entries; survey {q.code!r} "
                                       f"takes at most {fields}"})
    form = {str(k): (v if isinstance(v, list) else ("" if v is None else str(v)))
            for k, v in answers_in.items()}
    language = choose_language(link, payload.get("language"))
    answers, errors = validate_submission(link.questionnaire, form, language)
    if errors:
        raise AnswerErrors(errors)
    return prepare_from_link(link, answers=answers,
                             submission_id=str(payload.get("submission_id") or ""),
                             channel="web", language=language,
                             started_at=_started(payload.get("started_at")))


def submit_payload(engine: Engine, link: SurveyLink, payload: Mapping[str, Any]) -> SubmitResult:
    """Store a complete submission sent as JSON (see :func:`prepare_payload`) on its own."""
    return store_one(engine, prepare_payload(link, payload))


__all__ = ["ACTIONS", "AnswerErrors", "FormState", "KANO_CHOICES", "choose_language",
           "Unavailable", "item_fields", "prepare_payload", "start", "step", "submit_payload",
           "unavailable"]
