"""The start-up warmer's pages: the dashboard pages and the comments page prepared with default
options in every language, so that first visits find them ready (see
:class:`~patronage.web.prepared.PageWarmer`, started by the application factory).

It sits above the page modules it names, so that none of them imports another for the list.
"""

from __future__ import annotations

from patronage.reporting.filters import Filters
from patronage.web import analysis, overview, pages
from patronage.web.comments import comments_job
from patronage.web.i18n import LANGUAGES
from patronage.web.prepared import Job


def default_jobs(app) -> list[Job]:
    """What the warmer prepares: the three dashboard pages and the comments page with default
    options, in every language (the comments page last: its text analysis is the slowest)."""
    return ([overview.head_job(app, Filters())]
            + [overview.overview_job(app, Filters(), language) for language in LANGUAGES]
            + analysis.default_jobs(app)
            + [pages.loyalty_job(app, language) for language in LANGUAGES]
            + [comments_job(app, None, None, None, None, False, language)
               for language in LANGUAGES])


__all__ = ["default_jobs"]
