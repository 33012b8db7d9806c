"""A whole report of one survey wave, in the reader's language, ready to be written as Excel,
HTML or PDF (:mod:`patronage.reporting.report_files`).

The report gathers what a management meeting reads: a summary (NPS and CSI of the wave with
their trend and n, the top drivers, the top complaint categories, the value at risk and, when a
membership programme runs, its liability), then satisfaction, loyalty, cases and comments. Each
table keeps its raw values (numbers stay numbers for Excel) and says per column how it is
written (percent, ¥, score, count, text) so every writer gives one precision per column. A
section that cannot be computed carries the reason instead of failing the report.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine

from patronage.labels import labels_for
from patronage.messages import N_, UserError
from patronage.reporting import formats
from patronage.reporting.filters import NAMES
from patronage.reporting.report_model import (  # the model's names, for the writers that read it
    Bars,
    Column,
    Kpi,
    Report,
    Section,
    Table,
    cell_text,
)
from patronage.reporting.report_sections import (
    cases_section,
    comments_section,
    loyalty_section,
    satisfaction_section,
    summary_section,
    survey_frames,
)
from patronage.reporting.satisfaction import section_problem
from patronage.storage import read_surveys

SMALL_SAMPLE = formats.DEFAULT_MIN_SAMPLE

SECTION_TITLES = {
    "summary": N_("Management summary"), "satisfaction": N_("Satisfaction"),
    "loyalty": N_("Loyalty"), "cases": N_("Cases"), "comments": N_("Comments"),
}


def describe_filters(engine: Engine, filters, language: str = "en", gettext=lambda s: s
                     ) -> str | None:
    """The filters a report was built on as its reader reads them ("Filters: Region East
    China, Tier Gold"), values by their labels; None when nothing but the survey is chosen.
    Written under a filtered report's title (``Report.labels["filters"]``) so a reader never
    takes it for the whole."""
    if filters is None or not filters.active:
        return None
    label = labels_for(engine, language, gettext)
    parts = []
    for key, value in filters.items():
        if key == "survey":
            continue
        shown = (formats.wave_label(value, gettext) if key == "wave"
                 else value if key.startswith("date_") else label(key, value))
        parts.append(f"{gettext(NAMES[key])} {shown}")
    separator = "，" if language.startswith("zh") else ", "
    return gettext(N_("Filters: {filters}")).format(filters=separator.join(parts))


def build_report(engine: Engine, survey: str | None = None, wave: str | None = None, *,
                 language: str = "en", gettext=lambda s: s,
                 now: datetime | None = None, filters=None) -> Report:
    """Gather every section of the report of ``survey`` (default: the survey with the most
    responses) up to and including ``wave`` (default: its latest wave), on the responses the
    dashboard's ``filters`` (a :class:`~patronage.reporting.filters.Filters`) keep; the value
    at risk, programme liability and cases count the customers its segment filters keep, each
    section naming the filters it cannot take."""
    _ = gettext
    frames = survey_frames(engine, survey, wave, filters)
    builders = [("summary", summary_section), ("satisfaction", satisfaction_section),
                ("loyalty", loyalty_section), ("cases", cases_section),
                ("comments", comments_section)]
    sections = []
    for key, builder in builders:
        section = Section(key, _(SECTION_TITLES[key]))
        try:
            builder(engine, frames, section, language=language, gettext=gettext)
        except Exception as exc:  # noqa: BLE001  (one section's failure never fails the report)
            section.notes.append(_("This section could not be computed: {reason}").format(
                reason=section_problem(exc, key, gettext)))
        sections.append(section)
    title = _("Customer satisfaction and loyalty report")
    labels = {"survey": _("Survey"), "wave": _("Wave"), "generated": _("Generated"),
              "n": "n", "small": _("fewer than {n} answers: read with care").format(
                  n=SMALL_SAMPLE), "change": _("change")}
    described = describe_filters(engine, filters, language, gettext)
    if described:  # written under the title, on the first page and sheet
        labels["filters"] = described
    return Report(title, frames["survey"], frames["wave"], language,
                  now or datetime.now(timezone.utc), sections, labels)


def check_survey(engine: Engine, survey: str | None) -> None:
    """Refuse an unknown survey code with the codes there are."""
    codes = read_surveys(engine)["code"].tolist()
    if survey is not None and survey not in codes:
        raise UserError(N_("There is no survey {code!r}; the surveys are: {codes}."),
                        code=survey, codes=", ".join(codes) or "–")


__all__ = ["Bars", "Column", "Kpi", "Report", "Section", "Table", "build_report", "cell_text",
           "check_survey", "describe_filters"]
