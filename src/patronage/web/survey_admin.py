"""Survey administration pages: the survey list, one survey's page and the agents' entry form.

Admins and analysts manage surveys; agents (and the managers) may enter phone, paper and
interview answers. Each route parses the form, calls :mod:`patronage.surveys` and renders.
"""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from patronage.surveys import admin
from patronage.surveys.answers import error_key, validate_submission
from patronage.surveys.definition import DefinitionError, parse_definition
from patronage.surveys.draws import parse_drawn_at, withdraw_draw
from patronage.surveys.outbox import deliver_pending, sender_from_settings
from patronage.surveys.program import (
    add_wave,
    copy_survey,
    disable_open_link,
    draw_sample,
    enable_open_link,
    get_survey,
    send_reminders,
    set_status,
    update_definition,
)
from patronage.surveys.respond import item_fields
from patronage.surveys.sampling import ALLOCATIONS
from patronage.surveys.submissions import AGENT_CHANNELS, submit
from patronage.messages import N_, Term, UserError
from patronage.web.deps import check_csrf, form_fields, language_of, render, require_user

router = APIRouter()
MANAGERS = ("admin", "analyst")
ENTRY_ROLES = ("admin", "agent", "analyst")
CSRF = [Depends(check_csrf)]


def _engine(request: Request):
    return request.app.state.engine


def _detail(request: Request, code: str, status: int = 200, **context):
    """Render the survey page of ``code`` with ``context`` (a notice, errors, a report)."""
    try:
        overview = admin.survey_overview(_engine(request), code,
                                         request.app.state.settings.survey_base_url())
    except ValueError:
        raise HTTPException(404) from None
    context.setdefault("definition_text", overview.definition_json)
    return render(request, "survey.html", status, o=overview, methods=("simple", "stratified"),
                  qr_data_uri=admin.qr_data_uri, strata_columns=admin.STRATA_COLUMNS, allocations=sorted(ALLOCATIONS),
                  **context)


def _list(request: Request, status: int = 200, **context):
    return render(request, "surveys.html", status, surveys=admin.survey_table(_engine(request)),
                  templates=admin.template_choices(), form=context.pop("form", {}), **context)


@router.get("/surveys")
def surveys_page(request: Request):
    require_user(request, *MANAGERS)
    return _list(request)


@router.post("/surveys", dependencies=CSRF)
def create_survey_from_form(request: Request, template: str = Form(""), code: str = Form(""),
                            title: str = Form(""), language: str = Form("")):
    require_user(request, *MANAGERS)
    try:
        created = admin.create_from_template(_engine(request), template, code, title,
                                             language or None)
    except DefinitionError as exc:
        return _list(request, 400, problems=exc.problems, form=dict(
            template=template, code=code, title=title, language=language))
    except ValueError as exc:
        return _list(request, 400, problems=[exc], form=dict(
            template=template, code=code, title=title, language=language))
    return RedirectResponse(f"/surveys/{created}", status_code=303)


@router.get("/surveys/{code}")
def survey_page(request: Request, code: str):
    require_user(request, *MANAGERS)
    return _detail(request, code)


def _act(request: Request, code: str, action, done: str, counted: bool = False):
    """Run ``action()``; show the survey page with ``done`` (and the number ``action`` returned
    when ``counted``) or with the error it raised."""
    try:
        result = action()
    except ValueError as exc:
        return _detail(request, code, 400, error=exc)
    return _detail(request, code, notice=done, count=result if counted else None)


@router.post("/surveys/{code}/status", dependencies=CSRF)
def change_status(request: Request, code: str, status: str = Form(""),
                  open_link: str = Form("")):
    require_user(request, *MANAGERS)
    return _act(request, code, lambda: set_status(_engine(request), code, status,
                                                  open_link=bool(open_link)),
                N_("The survey status was changed."))


@router.post("/surveys/{code}/open-link", dependencies=CSRF)
def open_link(request: Request, code: str, enabled: str = Form("")):
    require_user(request, *MANAGERS)
    engine = _engine(request)
    if enabled == "on":
        return _act(request, code, lambda: enable_open_link(engine, code),
                    N_("The open link is on."))
    return _act(request, code, lambda: disable_open_link(engine, code),
                N_("The open link is off; its old address no longer works."))


@router.post("/surveys/{code}/definition", dependencies=CSRF)
def save_definition(request: Request, code: str, definition: str = Form("")):
    require_user(request, *MANAGERS)
    try:
        questionnaire = parse_definition(definition, name=f"survey {code}")
        version = update_definition(_engine(request), code, questionnaire)
    except DefinitionError as exc:
        return _detail(request, code, 400, problems=exc.problems, definition_text=definition)
    except ValueError as exc:
        return _detail(request, code, 400, error=exc, definition_text=definition)
    return _detail(request, code, notice=N_("The questionnaire was saved."), version=version)


@router.post("/surveys/{code}/copy", dependencies=CSRF)
def copy_from_form(request: Request, code: str, new_code: str = Form(""), title: str = Form("")):
    require_user(request, *MANAGERS)
    try:
        created = copy_survey(_engine(request), code, new_code.strip(), title=title)
    except DefinitionError as exc:
        return _detail(request, code, 400, problems=exc.problems)
    except ValueError as exc:
        return _detail(request, code, 400, error=exc)
    return RedirectResponse(f"/surveys/{created}", status_code=303)


def _date(text: str, what: str, required: bool = True) -> date | None:
    text = text.strip()
    if not text and not required:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(N_("{what} must be a date like 2026-07-01; got {value!r}"),
                        what=Term(what), value=text) from None


@router.post("/surveys/{code}/waves", dependencies=CSRF)
def add_wave_from_form(request: Request, code: str, name: str = Form(""),
                       starts_on: str = Form(""), ends_on: str = Form("")):
    require_user(request, *MANAGERS)
    return _act(request, code, lambda: add_wave(
        _engine(request), code, name, _date(starts_on, N_("The start date")),
        _date(ends_on, N_("The end date"), required=False)), N_("The wave was added."))


@router.post("/surveys/{code}/sample", dependencies=CSRF)
def sample_from_form(request: Request, code: str, wave: str = Form(""),
                     method: str = Form("simple"), n: str = Form(""),
                     strata: list[str] = Form([]), allocation: str = Form("proportional"),
                     sd: str = Form(""), seed: str = Form(""), segments: str = Form(""),
                     ids: str = Form(""), quotas: str = Form(""), action: str = Form("")):
    require_user(request, *MANAGERS)
    chosen = dict(wave=wave, method=method, n=n, strata=strata, allocation=allocation, sd=sd,
                  seed=seed, segments=segments, ids=ids, quotas=quotas)
    try:
        options = admin.sample_options(**{k: v for k, v in chosen.items() if k != "wave"})
        report = draw_sample(_engine(request), code, wave or None,
                             base_url=request.app.state.settings.survey_base_url(),
                             preview=action == "preview", **options)
    except ValueError as exc:
        return _detail(request, code, 400, error=exc)
    done = (N_("Preview only: nobody was invited yet.") if report.preview
            else N_("The sample was drawn and invited."))
    return _detail(request, code, notice=done, report=report,
                   chosen={**chosen, "seed": report.seed},
                   exclusions=admin.exclusion_counts(report.exclusions))


@router.post("/surveys/{code}/draws/withdraw", dependencies=CSRF)
def withdraw_from_form(request: Request, code: str, drawn_at: str = Form("")):
    require_user(request, *MANAGERS)
    return _act(request, code, lambda: withdraw_draw(_engine(request), code,
                                                     parse_drawn_at(drawn_at)),
                N_("The draw was withdrawn; invitations deleted"), counted=True)


@router.post("/surveys/{code}/reminders", dependencies=CSRF)
def reminders_from_form(request: Request, code: str, wave: str = Form(""),
                        older_than_days: str = Form("7")):
    require_user(request, *MANAGERS)
    settings = request.app.state.settings
    return _act(request, code, lambda: send_reminders(
        _engine(request), code, wave or None,
        older_than_days=admin.parse_whole(older_than_days, N_("the days since the invitation")),
        base_url=settings.survey_base_url()), N_("Reminders queued"), counted=True)


@router.post("/surveys/{code}/deliver", dependencies=CSRF)
def deliver_from_form(request: Request, code: str):
    require_user(request, *MANAGERS)
    settings = request.app.state.settings
    return _act(request, code, lambda: deliver_pending(
        _engine(request), sender_from_settings(settings), mail_from=settings.mail_from),
        N_("Mails sent"), counted=True)


# --------------------------------------------------------------------------- agent entry

def _entry(request: Request, code: str, status: int = 200, *, form=None, answers=None,
           errors=None, language=None, **context):
    survey = _survey_or_404(request, code)
    q = survey.questionnaire
    if language not in q.languages:
        language = language_of(request)
    language = language if language in q.languages else q.languages[0]
    form, answers = form or {}, answers or {}

    def value(name: str) -> str:
        given = answers.get(name)
        if given is None:
            raw = form.get(name)
            return raw if isinstance(raw, str) else ""
        return str(int(given)) if isinstance(given, float) and given.is_integer() else str(given)

    customer = str(form.get("customer") or context.pop("customer", "") or "")
    return render(request, "survey_entry.html", status, survey=survey, q=q, language=language,
                  item_fields=item_fields, error_key=error_key, value=value,
                  errors=errors or {}, channels=AGENT_CHANNELS, customer=customer,
                  customer_name=admin.customer_name(_engine(request), customer),
                  channel=form.get("channel", "phone"),
                  submission_id=form.get("submission_id") or uuid.uuid4().hex, **context)


@router.get("/enter")
def entry_list(request: Request):
    """The open surveys an agent may enter a phone, paper or interview answer for."""
    require_user(request, *ENTRY_ROLES)
    return render(request, "survey_entries.html", surveys=admin.open_surveys(_engine(request)))


@router.get("/surveys/{code}/enter")
def entry_page(request: Request, code: str, customer: str = ""):
    require_user(request, *ENTRY_ROLES)
    return _entry(request, code, customer=customer.strip())


@router.post("/surveys/{code}/enter", dependencies=CSRF)
def entry_post(request: Request, code: str, form: dict = Depends(form_fields)):
    require_user(request, *ENTRY_ROLES)
    survey = _survey_or_404(request, code)
    q = survey.questionnaire
    language = str(form.get("language") or "")
    language = language if language in q.languages else q.languages[0]
    answers, errors = validate_submission(q, form, language)
    channel = str(form.get("channel") or "")
    customer = str(form.get("customer") or "").strip()
    if channel not in AGENT_CHANNELS:
        errors["channel"] = N_("Choose the channel: phone, paper or interview.")
    if not customer:
        errors["customer"] = N_("Type the customer id.")
    if errors:
        return _entry(request, code, 400, form=form, answers=answers, errors=errors,
                      language=language)
    try:
        result = submit(_engine(request), survey_code=code, answers=answers,
                        submission_id=str(form.get("submission_id") or ""), channel=channel,
                        language=language, customer_external_id=customer)
    except ValueError as exc:
        return _entry(request, code, 400, form=form, answers=answers, language=language,
                      error=exc)
    return _entry(request, code, language=language, stored=result)


def _survey_or_404(request: Request, code: str):
    try:
        return get_survey(_engine(request), code)
    except ValueError:
        raise HTTPException(404) from None


__all__ = ["ENTRY_ROLES", "MANAGERS", "router"]
