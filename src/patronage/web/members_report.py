"""The programme's analytics page: members, earn and burn, liability and breakage, tier migration,
incrementality and loyalty types (``/members/report``), and the customers behind a loyalty type
(``/members/report/types/<type>``). What they show is put together in
:mod:`patronage.reporting.members_report`.

The report takes a few seconds on a large programme: it is computed in the background and kept
per language, period and state of the programme's data (see :mod:`patronage.web.prepared`); a
visit while it is being prepared gets a page that reloads by itself.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request

from patronage.messages import N_, UserError, translated
from patronage.reporting import members_report, selection_lists
from patronage.storage.reads_members import membership_version
from patronage.web.deps import gettext_for, language_of, render, require_user
from patronage.web.prepared import Job, freshness, prepared, preparing
from patronage.web.selection import with_notice

router = APIRouter()
ANALYSTS = ("admin", "analyst")
TITLE = N_("Programme report")


def _day(text: str) -> date | None:
    """A date from a query parameter, or None when it is empty or no date."""
    try:
        return date.fromisoformat(text.strip()[:10]) if text.strip() else None
    except ValueError:
        return None


def report_job(request: Request, since: date | None, until: date | None) -> Job:
    """The report in the reader's language for a period, at the programme's current data."""
    app, language = request.app, language_of(request)
    engine, gettext = app.state.engine, app.state.translations[language].gettext
    version = membership_version(engine)
    return Job("members_report", (language, since, until, version),
               lambda: members_report.report_page(engine, language=language, gettext=gettext,
                                                  since=since, until=until),
               ("members_report", since, until, version))


@router.get("/members/report")
def report_page(request: Request, since: str = "", until: str = ""):
    require_user(request, *ANALYSTS)
    ready = prepared(request, report_job(request, _day(since), _day(until)))
    if ready is None:
        return preparing(request, TITLE)
    shown, current = ready
    return render(request, "members_report.html", page_title=TITLE, **shown,
                  asked={"since": since[:10], "until": until[:10]}, **freshness(current),
                  kept_as=([shown], "members_report") if current else None)


@router.get("/members/report/types/{code}")
def type_list_page(request: Request, code: str, until: str = ""):
    """The customers of one loyalty type, with the selection form to act on them."""
    require_user(request, *ANALYSTS)
    ready = prepared(request, report_job(request, None, _day(until)))
    if ready is None:
        return preparing(request, TITLE)
    try:
        listing = members_report.type_list(ready[0], code[:40], gettext_for(request))
    except UserError as exc:
        return render(request, "error.html", 404, status=404,
                      message=translated(exc, gettext_for(request)))
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    tomorrow = (datetime.now().date() + timedelta(days=1)).isoformat()
    return render(request, "customer_list.html", listing=listing,
                  column_labels=members_report.LIST_COLUMNS, value_labels={},
                  choices=selection_lists.action_choices(request.app.state.engine),
                  next=with_notice(here), due=tomorrow, **freshness(ready[1]))


__all__ = ["report_job", "router"]
