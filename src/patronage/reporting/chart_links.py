"""Where a click on a chart's bar or point leads: the list of respondents behind it.

A chart's links are ``{trace index: [address per point]}`` (None for a point that leads nowhere),
handed to the page as JSON beside the figure; ``static/charts.js`` opens the address of the
clicked point and offers the same addresses as links to keyboard users. Every address keeps the
page's filters and adds what the point stands for: a wave, an NPS group, a dimension, a segment
value, a driver.
"""

from __future__ import annotations

import json

from patronage.reporting import insights
from patronage.reporting.filters import SEGMENTS, Filters

#: The Overview's NPS groups chart: its traces in order, bottom of the stack first.
GROUP_TRACES = ("detractors", "passives", "promoters")
#: The Analysis page's crosstab traces (``scores_page``) and the list's name of each group.
CROSSTAB_GROUPS = {"promoter": "promoters", "passive": "passives", "detractor": "detractors"}


def respondents(filters: Filters, **extra) -> str:
    """The respondents list on ``filters`` with ``extra`` parameters (group, dimension)."""
    return "/respondents?" + filters.to_query(**extra)


def as_json(links: dict) -> str | None:
    """The links as the page carries them (None when no point leads anywhere)."""
    kept = {str(trace): points for trace, points in links.items() if any(points)}
    return json.dumps(kept) if kept else None


def overview_links(result, filters: Filters, charts) -> dict[str, str]:
    """The links of the Overview's charts (``trend``, ``groups``, ``dimensions``) that the page
    draws (``charts``), by chart key."""
    waves = list(result.waves["wave"]) if not result.empty else []
    by_wave = [respondents(filters.but(wave=w)) for w in waves]
    found = {"trend": {0: by_wave, 1: by_wave},
             "groups": {i: [respondents(filters.but(wave=w), group=group) for w in waves]
                        for i, group in enumerate(GROUP_TRACES)}}
    if waves and not result.dimensions.empty:
        latest = filters.but(wave=waves[-1])
        found["dimensions"] = {0: [respondents(latest, dimension=d)
                                   for d in result.dimensions["dimension"]]}
    return {key: text for key, links in found.items()
            if key in charts and (text := as_json(links))}


def analysis_links(sections, filters: Filters, codes) -> dict[str, str]:
    """The links of the Analysis page's charts by section key: a driver's bar and its point on
    the importance–performance chart lead to the respondents who rated it low (the drivers
    table's row links), a region's bar to its respondents, an industry's NPS group to those
    respondents. ``codes(kind, label)`` is the stored value of a segment's label (None if the
    label is not one)."""
    found = {}
    by_key = {s.key: s for s in sections if s.table is not None and s.chart}
    drivers = by_key.get("drivers")
    driver_links = drivers.table.attrs.get("row_links", {}) if drivers is not None else {}
    for key in ("drivers", "ipa"):
        if key in by_key:
            found[key] = {0: [driver_links.get(label) for label in by_key[key].table.index]}
    if "segments" in by_key:
        points = []
        for label in by_key["segments"].table.index:
            code = codes("region", label)
            points.append(None if code is None else respondents(filters.but(region=code)))
        found["segments"] = {0: points}
    if "crosstab" in by_key:
        table = by_key["crosstab"].table
        traces = [c for c in CROSSTAB_GROUPS if c in table.columns]
        industries = [codes("industry", label) for label in table.index]
        found["crosstab"] = {
            i: [None if code is None else respondents(filters.but(industry=code),
                                                     group=CROSSTAB_GROUPS[column])
                for code in industries]
            for i, column in enumerate(traces)}
    return {key: text for key, links in found.items() if (text := as_json(links))}


def loyalty_links(sections) -> dict[str, str]:
    """The links of the Loyalty page's charts whose bars are the rows of their table: an RFM
    segment's bar leads to the list of its customers (the table's row links)."""
    found = {}
    for section in sections:
        if section.key == "rfm" and section.table is not None and section.chart:
            row_links = section.table.attrs.get("row_links", {})
            found[section.key] = {0: [row_links.get(label) for label in section.table.index]}
    return {key: text for key, links in found.items() if (text := as_json(links))}


def loyalty_extras(sections, gettext, min_sample: int) -> dict:
    """What the Loyalty page adds to its sections: ``insights`` and ``chart_links``."""
    return {"insights": insights.loyalty_insights(sections, gettext, min_sample),
            "chart_links": loyalty_links(sections)}


def overview_extras(result, filters: Filters, charts, language: str, gettext,
                    min_sample: int) -> dict:
    """What the Overview adds to its charts: ``insights`` (the sentence under each) and
    ``chart_links`` (where their points lead)."""
    return {"insights": insights.overview_insights(result, gettext, language, min_sample),
            "chart_links": overview_links(result, result.filters or filters, charts)}


def analysis_extras(sections, filters: Filters, options, labels, language: str, gettext,
                    min_sample: int) -> dict:
    """What the Analysis page adds to its sections: ``insights`` and ``chart_links``.
    ``options`` are the segment values the filters offer and ``labels(kind, value)`` their
    names, which the charts show."""
    names = {(kind, labels(kind, value)): value for kind in SEGMENTS
             for value in options.get(kind, [])}
    return {"insights": insights.analysis_insights(sections, gettext, language, min_sample),
            "chart_links": analysis_links(sections, filters,
                                          lambda kind, label: names.get((kind, str(label))))}


__all__ = ["analysis_extras", "analysis_links", "as_json", "loyalty_extras", "loyalty_links",
           "overview_extras", "overview_links", "respondents"]
