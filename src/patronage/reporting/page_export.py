"""The tables of a dashboard page (Overview, Analysis, Loyalty) as one Excel workbook: a sheet
per section, the columns headed as on the page in the reader's language, real number formats
(the page's own precision per column, :data:`patronage.reporting.formats.COLUMN_KINDS`) and
every text cell neutralised against formula injection."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from patronage.messages import N_, UserError
from patronage.reporting import formats
from patronage.reporting.report_build import Column, Report, Section, Table

PAGES = ("overview", "analysis", "loyalty")
PAGE_TITLES = {"overview": N_("Overview"), "analysis": N_("Satisfaction analysis"),
               "loyalty": N_("Loyalty and customer value")}
#: The page's kinds (formats.COLUMN_KINDS) as the workbook's kinds (report_build.KINDS).
_KINDS = {"int": "integer", "percent": "percent", "money": "money", "signed": "signed",
          "text": "text", "p": "score", "number": "score", "points_pct": "score"}


def _columns(frame: pd.DataFrame, labels: dict, gettext) -> list[Column]:
    columns, kinds = [], formats.table_kinds(frame.columns, lambda key: frame[key].tolist())
    for key in frame.columns:
        kind, digits = kinds[key]
        if kind not in _KINDS or frame[key].dtype == object and kind != "text" and not all(
                isinstance(v, (int, float)) or formats.is_missing(v) for v in frame[key]):
            kind, digits = "text", 0
        columns.append(Column(str(key), gettext(labels.get(key, str(key))), _KINDS[kind], digits))
    return columns


def _table(title: str, frame: pd.DataFrame, labels: dict, gettext) -> Table:
    frame = frame.copy()
    if not isinstance(frame.index, pd.RangeIndex):
        name = frame.index.name or " "
        frame = frame.reset_index(names=name if name not in frame.columns else f"{name} ")
    frame.columns = [str(c) for c in frame.columns]
    return Table(title, frame, _columns(frame, labels, gettext))


def _overview(engine, survey, language, gettext, filters=None):
    from patronage.reporting.overview import overview

    shown = overview(engine, survey, filters=filters)
    labels = {"wave": N_("Wave"), "nps": "NPS", "csi": N_("CSI (0–100)"), "ci_low": N_("Lower 95%"),
              "ci_high": N_("Upper 95%"), "score": N_("Score"), "change": N_("Change"),
              "comment": N_("Comment"), "promoters": N_("Promoters"),
              "passives": N_("Passives"), "detractors": N_("Detractors")}
    dimensions = shown.dimensions
    if not dimensions.empty:
        column = f"label_{language}"
        dimensions = pd.DataFrame({
            "dimension": dimensions.get(column, dimensions["dimension"]),
            "score": dimensions["score"], "change": dimensions["change"]})
        labels["dimension"] = N_("Dimension")
    frames = [(gettext(N_("NPS and CSI by wave")), shown.waves.drop(
                  columns=["margin_of_error"], errors="ignore")),
              (gettext(N_("Dimension scores")), dimensions),
              (gettext(N_("Latest comments")), shown.comments)]
    return [(title, frame, labels) for title, frame in frames if not frame.empty]


def _sections(sections, labels):
    """``(title, table or the reason there is none, labels)`` of each section."""
    return [(s.title, s.table if isinstance(s.table, pd.DataFrame) and not s.table.empty
             else s.problem, labels) for s in sections
            if s.problem or isinstance(s.table, pd.DataFrame)]


def _loyalty(engine, language, gettext, filters):
    """The Loyalty page's tables on the customers the segment filters keep, each with its
    number of customers; the filters the page cannot take, named after the filter line."""
    from patronage.reporting.filters import NAMES, Filters, customer_filters
    from patronage.reporting.loyalty import COLUMN_LABELS, loyalty_report

    taken, dropped = customer_filters(filters or Filters())
    sections = loyalty_report(engine, gettext=gettext, language=language, filters=taken)
    parts = _sections(sections, COLUMN_LABELS)
    notes = {s.title: s.table.attrs.get("hint") for s in sections
             if isinstance(s.table, pd.DataFrame)}
    skipped = gettext(N_("Not applied on this page (it counts customers, not survey "
                         "responses)")) + ": " + ("、" if language.startswith("zh") else ", ").join(
        gettext(NAMES[k]) for k in dropped)
    return parts, notes, taken, skipped if dropped else None


def page_tables(engine: Engine, page: str, *, survey: str | None = None, language: str = "en",
                gettext=lambda s: s, filters=None, include_flagged: bool = False) -> Report:
    """The page's tables as a :class:`Report` (a section per table) for
    :func:`patronage.reporting.report_files.report_xlsx`, computed on the responses the page's
    ``filters`` keep (the Loyalty page: the customers its segment filters keep) and naming them
    on the first sheet; ``include_flagged`` as the Analysis page's checkbox."""
    from datetime import UTC, datetime

    from patronage.reporting.report_build import describe_filters

    if page not in PAGES:
        raise UserError(N_("Unknown page {page!r}: choose overview, analysis or loyalty."),
                        page=page)
    if page == "overview":
        parts = _overview(engine, survey, language, gettext, filters)
    elif page == "analysis":
        from patronage.reporting.satisfaction import COLUMN_LABELS, satisfaction_report

        parts = _sections(satisfaction_report(engine, survey, language=language,
                                              gettext=gettext, filters=filters,
                                              include_flagged=include_flagged), COLUMN_LABELS)
    notes, skipped = {}, None
    if page == "loyalty":
        parts, notes, filters, skipped = _loyalty(engine, language, gettext, filters)
    sections = [Section(f"table{i}", title, tables=[_table(title, frame, labels, gettext)],
                        notes=[notes[title]] if notes.get(title) else [])
                if isinstance(frame, pd.DataFrame) else Section(f"table{i}", title,
                                                                notes=[str(frame or "–")])
                for i, (title, frame, labels) in enumerate(parts)]
    if not sections:
        sections = [Section("empty", gettext(PAGE_TITLES[page]),
                            notes=[gettext(N_("No survey responses yet."))])]
    labels = {"survey": gettext("Survey"), "wave": gettext("Wave")}
    described = describe_filters(engine, filters, language, gettext)
    if described or skipped:  # under the title of every sheet
        labels["filters"] = " · ".join(part for part in (described, skipped) if part)
    return Report(gettext(PAGE_TITLES[page]), survey or "", None, language,
                  datetime.now(UTC), sections, labels)


__all__ = ["PAGES", "page_tables"]
