"""Category labels on the web: the ``label(kind)`` filter every page shows category values
through, and the Labels page where admins edit them (a table per kind, each row edited inline).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from jinja2 import pass_context

from patronage import labels as category_labels
from patronage.messages import N_, UserError
from patronage.reporting.questions import QuestionTexts
from patronage.storage.schema import LANGUAGES
from patronage.web.deps import check_csrf, gettext_for, language_of, render, require_user

router = APIRouter()
CSRF = [Depends(check_csrf)]


def labels_of(request: Request) -> category_labels.Labels:
    """The labels in the request's language, read once per request (and per data version)."""
    found = getattr(request.state, "labels", None)
    if found is None:
        cache = getattr(request.app.state, "labels", None)
        language, gettext = language_of(request), gettext_for(request)
        found = (cache.labels(language, gettext) if cache is not None
                 else category_labels.Labels(language, {}, gettext))
        request.state.labels = found
    return found


@pass_context
def label(context, value, kind: str) -> str:
    """``{{ customer.region|label("region") }}``: the value's label in the page's language."""
    request = context.get("request")
    if request is None:
        return category_labels.Labels("en", {})(kind, value)
    return labels_of(request)(kind, value)


@pass_context
def survey_title(context, code) -> str:
    """``{{ code|survey_title }}``: the survey's title in the page's language (its
    questionnaire's), else its stored title, else the code."""
    request = context.get("request")
    if request is None or not code:
        return code or ""
    texts = getattr(request.state, "question_texts", None)
    if texts is None:
        texts = QuestionTexts(request.app.state.engine, language_of(request),
                              gettext_for(request))
        request.state.question_texts = texts
    return texts.title(str(code))


def install(environment) -> None:
    environment.filters["label"] = label
    environment.filters["survey_title"] = survey_title


def _page(request: Request, status: int = 200, **context):
    table = category_labels.label_table(request.app.state.engine)
    kinds = [(kind, category_labels.KIND_NAMES[kind], table[table["kind"] == kind])
             for kind in category_labels.KINDS]
    return render(request, "labels.html", status, kinds=kinds, label_languages=LANGUAGES,
                  **context)


@router.get("/labels")
def labels_page(request: Request):
    require_user(request, "admin")
    return _page(request)


@router.post("/labels", dependencies=CSRF)
def save_labels(request: Request, kind: str = Form(""), value: str = Form(""),
                en: str = Form(""), zh_Hans: str = Form(""), zh_Hant: str = Form("")):
    require_user(request, "admin")
    given = {"en": en, "zh_Hans": zh_Hans, "zh_Hant": zh_Hant}
    try:
        category_labels.set_labels(request.app.state.engine,
                                   [(kind, value, language, given[language])
                                    for language in LANGUAGES])
    except UserError as exc:
        return _page(request, 400, error=exc)
    return _page(request, notice=N_("The labels were saved."), saved=(kind, value))


__all__ = ["install", "label", "labels_of", "router"]
