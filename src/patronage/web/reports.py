"""Downloads: the whole report (PDF, Excel, HTML) and a dashboard page's tables as Excel, built
in the background (:mod:`patronage.web.prepared`): the first visit gets the "being prepared"
page, which reloads itself until the file is ready, then the file."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from patronage.messages import N_, UserError
from patronage.reporting.filters import Filters
from patronage.reporting.page_export import PAGES, page_tables
from patronage.reporting.report_files import (
    FORMATS,
    MEDIA_TYPES,
    build_file,
    report_xlsx,
)
from patronage.web.deps import language_of, render, require_user, translated
from patronage.web.prepared import Job, prepared, preparing

router = APIRouter()
ANALYSTS = ("admin", "analyst")
TITLE = N_("Export report")


def _safely(compute, gettext):
    """``(bytes, None)``, or ``(None, message)`` when the input is refused."""
    def run():
        try:
            return compute(), None
        except ValueError as exc:
            return None, translated(exc, gettext)
    return run


def _answer(request: Request, job: Job, fmt: str, filename: str):
    ready = prepared(request, job)
    if ready is None:
        return preparing(request, TITLE)
    (data, problem), _current = ready
    if problem:
        return render(request, "error.html", 400, page_title=TITLE, status=400, message=problem)
    return Response(data, media_type=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store"})


def _filters(request: Request) -> Filters:
    """The dashboard filters the export button carried (the page's own address's); the
    report's ``wave`` parameter means "up to this wave", so it is not a filter here."""
    params = {k: v for k, v in request.query_params.items() if k != "wave"}
    params["wave"] = request.query_params.get("filter_wave", "")
    return Filters.from_query(params)


def _bad(request: Request, problem: UserError, gettext):
    return render(request, "error.html", 400, page_title=TITLE, status=400,
                  message=translated(problem, gettext))


@router.get("/reports/download")
def report_download(request: Request, format: str = "pdf", survey: str = "", wave: str = ""):
    """The whole report of ``survey`` up to ``wave`` in the reader's language, on the responses
    the page's filters keep (``filter_wave`` for the page's wave filter)."""
    require_user(request, *ANALYSTS)
    fmt = format if format in FORMATS else "pdf"
    language = language_of(request)
    engine, gettext = request.app.state.engine, request.app.state.translations[language].gettext
    try:
        filters = _filters(request)
    except UserError as exc:
        return _bad(request, exc, gettext)
    survey_code, wave_name = filters.survey, wave.strip() or None
    job = Job("report-file", (fmt, filters, wave_name, language),
              _safely(lambda: build_file(engine, fmt, survey=survey_code, wave=wave_name,
                                         language=language, gettext=gettext,
                                         filters=filters), gettext),
              ("report-file", fmt, filters, wave_name, language))
    return _answer(request, job, fmt, f"report-{survey_code or 'survey'}-{language}.{fmt}")


@router.get("/reports/tables")
def page_tables_download(request: Request, page: str = "overview", flagged: bool = False):
    """The tables of the Overview, Analysis or Loyalty page as one Excel workbook, on the
    responses the page's filters (in the address, as on the page) keep; ``flagged`` as the
    Analysis page's checkbox."""
    require_user(request, *ANALYSTS)
    page = page if page in PAGES else "overview"
    language = language_of(request)
    engine, gettext = request.app.state.engine, request.app.state.translations[language].gettext
    try:
        filters = Filters.from_query(request.query_params)
    except UserError as exc:
        return _bad(request, exc, gettext)
    flagged = flagged and page == "analysis"
    job = Job("page-tables", (page, filters, flagged, language),
              _safely(lambda: report_xlsx(page_tables(
                  engine, page, survey=filters.survey, language=language, gettext=gettext,
                  filters=filters, include_flagged=flagged)), gettext),
              ("page-tables", page, filters, flagged, language))
    return _answer(request, job, "xlsx", f"{page}-{language}.xlsx")
