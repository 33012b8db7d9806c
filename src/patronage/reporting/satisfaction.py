"""The satisfaction analysis page: drivers, importance–performance, Kano, gaps, reliability and
trend, each as a table and (where it helps) a chart."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode
from dataclasses import dataclass
from functools import cache

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy import Engine

# The computations, through their wrappers shared by the page's languages (see shared.py).
from patronage.reporting.shared import (
    compare_table,
    customer_base_margins,
    drivers_table,
    filtered,
    gap_table,
    index_path_model,
    ipa_table,
    kano_table,
    reliability_table,
    survey_data_from_db,
    trend_table,
)
from patronage.satisfaction.indices import ALL, nps_table
from patronage.index_system import load_index_system
from patronage.labels import labels_for
from patronage.reporting import scores_page
from patronage.messages import N_, NotAsked, UserError, translated
from patronage.reporting.charts import _LAYOUT, figure_json, hover
from patronage.reporting.filters import SEGMENTS, Filters
from patronage.actions.sources import new_action_link
from patronage.storage import read_customers
from patronage.reporting.formats import quarter

log = logging.getLogger(__name__)

#: Sections in page order: key, English title (translated by the page), method.
SECTIONS = (
    ("drivers", "Key drivers of overall satisfaction (relative weights, 95% bootstrap interval)"),
    ("ipa", "Importance–performance"),
    ("kano", "Kano categories and Better / Worse"),
    ("gap", "Perception against expectation"),
    ("reliability", "Reliability of the dimensions"),
    ("trend", "NPS trend and the significance of each change"),
    ("pls", "Structural model (PLS path model): dimensions → satisfaction → loyalty"),
    ("segments", "NPS by region, and whether satisfaction differs between regions"),
)

#: Table columns shown per section.
COLUMNS = {
    "drivers": ["importance", "share", "lower", "upper", "rank"],
    "ipa": ["importance", "performance", "quadrant"],
    "kano": ["n", "share_A", "share_O", "share_M", "share_I", "category", "better", "worse",
             "note"],
    "gap": ["n", "perception", "expectation", "ratio", "gap", "verdict"],
    "reliability": ["items", "cronbach_alpha", "composite_reliability", "ave", "max_htmt"],
    "trend": ["n", "score", "ci_low", "ci_high", "change", "p_value", "p_holm"],
    "pls": ["original", "lower", "upper", "n"],
    "segments": ["n", "nps", "ci_low", "ci_high", "mean_satisfaction", "p_value"],
}


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    table: pd.DataFrame | None
    chart: str | None
    problem: str | None
    #: The survey does not ask the questions the section needs (listed once, not as a failure).
    absent: bool = False


#: The row of all responses (a survey without waves).
ALL_LABEL = N_("All responses")
#: Latent variables of the structural model that are not dimensions of the index system.
LATENT_NAMES = ("satisfaction", "loyalty")


def _labeller(language: str, gettext):
    system = load_index_system()
    names = [system.labels(kind, language) for kind in ("dimension", "item", "kano")]

    def label(code) -> str:
        if code == ALL:
            return gettext(ALL_LABEL)
        for found in names:  # a dimension's name first, then an item's, then a Kano attribute's
            text = found.get(str(code), str(code))
            if text != str(code):
                return text
        return gettext(str(code)) if code in LATENT_NAMES else quarter(code, gettext)

    return label


def _drivers_chart(table: pd.DataFrame, labels: list[str], title: str,
                   axis_title: str | None = None) -> str:
    figure = go.Figure(go.Bar(
        x=table["importance"].tolist(), y=labels, orientation="h",
        error_x=dict(type="data", array=(table["upper"] - table["importance"]).tolist(),
                     arrayminus=(table["importance"] - table["lower"]).tolist()),
        customdata=table[["lower", "upper"]].to_numpy().tolist(),
        hovertemplate=hover("%{y}", "%{x:.3f} (%{customdata[0]:.3f} … %{customdata[1]:.3f})")))
    figure.update_layout(title=title, xaxis=dict(title=axis_title),
                         yaxis=dict(autorange="reversed"), **_LAYOUT)
    return figure_json(figure)


def _scatter(x, y, labels, title: str, x_title: str, y_title: str, cuts=None) -> str:
    figure = go.Figure(go.Scatter(x=list(x), y=list(y), text=labels, mode="markers+text",
                                  textposition="top center", marker=dict(size=11),
                                  cliponaxis=False,
                                  hovertemplate=hover("%{text}", f"{x_title} %{{x:.2f}}",
                                                      f"{y_title} %{{y:.2f}}")))
    shapes = []
    if cuts is not None:
        shapes = [dict(type="line", x0=cuts[0], x1=cuts[0], yref="paper", y0=0, y1=1,
                       line=dict(dash="dot", color="#888")),
                  dict(type="line", y0=cuts[1], y1=cuts[1], xref="paper", x0=0, x1=1,
                       line=dict(dash="dot", color="#888"))]
    figure.update_layout(title=title, xaxis=dict(title=x_title), yaxis=dict(title=y_title),
                         shapes=shapes, **_LAYOUT)
    return figure_json(figure)


def _segments(data, by: str = "region") -> pd.DataFrame:
    """NPS with its interval per segment, the mean overall satisfaction and the p-value of the
    test that it differs between segments (ANOVA / Welch t)."""
    table = nps_table(data, by=by)[["n", "nps", "ci_low", "ci_high"]]
    compared = compare_table(data, item="overall_satisfaction", by=by)
    table["mean_satisfaction"] = compared["mean"].reindex(table.index)
    table["p_value"] = compared["p_value"].iloc[0]
    return table


def _segment_chart(table: pd.DataFrame, labels: list[str], title: str, nps_label: str,
                   axis_title: str | None = None) -> str:
    figure = go.Figure(go.Bar(
        x=labels, y=table["nps"].tolist(),
        error_y=dict(type="data", array=(table["ci_high"] - table["nps"]).tolist(),
                     arrayminus=(table["nps"] - table["ci_low"]).tolist()),
        customdata=table[["ci_low", "ci_high", "n"]].to_numpy().tolist(),
        hovertemplate=hover("%{x}", f"{nps_label} %{{y:.1f}} (%{{customdata[0]:.1f}} … "
                            "%{customdata[1]:.1f})", "n = %{customdata[2]:,d}")))
    figure.update_layout(title=title, xaxis=dict(title=axis_title), yaxis=dict(title=nps_label),
                         **_LAYOUT)
    return figure_json(figure)


def path_diagram(model, label, title: str) -> str:
    """The fitted path model as a diagram: exogenous latent variables on the left, endogenous
    ones in path order to the right, arrows labelled with their coefficients; each node shows its
    0–100 index (and R²)."""
    endogenous = list(model.inner)
    exogenous = [lv for lv in model.index_.index if lv not in endogenous]
    position = {lv: (0.0, 1 - (i + 0.5) / len(exogenous)) for i, lv in enumerate(exogenous)}
    for i, lv in enumerate(endogenous):
        position[lv] = (1.0 + i, 0.5)
    figure = go.Figure()
    annotations = []
    for target, sources in model.inner.items():
        for source in sources:
            (x0, y0), (x1, y1) = position[source], position[target]
            value = model.paths_.loc[source, target]
            annotations.append(dict(x=x1 - 0.12, y=y1, ax=x0 + 0.12, ay=y0, xref="x", yref="y",
                                    axref="x", ayref="y", showarrow=True, arrowhead=3,
                                    arrowwidth=1 + 4 * abs(value), arrowcolor="#1f6feb"))
            annotations.append(dict(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=f"{value:.2f}",
                                    showarrow=False, bgcolor="#fff", font=dict(size=11)))
    names = list(position)
    texts = []
    for lv in names:
        r2 = model.r2_.get(lv)
        extra = f"<br>R² {r2:.2f}" if r2 is not None and r2 == r2 else ""
        texts.append(f"<b>{label(lv)}</b><br>{model.index_[lv]:.1f}{extra}")
    figure.add_trace(go.Scatter(
        x=[position[n][0] for n in names], y=[position[n][1] for n in names], text=texts,
        mode="markers+text", textposition="middle center", hoverinfo="text",
        marker=dict(size=62, color="#e8f0fe", line=dict(color="#1f6feb", width=2))))
    # Room for each exogenous node's circle and a gap, so neighbouring circles never touch.
    layout = {**_LAYOUT, "height": max(420, 80 * len(exogenous) + 100)}
    figure.update_layout(title=title, annotations=annotations, showlegend=False,
                         xaxis=dict(visible=False, range=[-0.4, len(endogenous) + 0.4]),
                         yaxis=dict(visible=False, range=[-0.05, 1.05]), **layout)
    return figure_json(figure)


def respondents_address(survey: str | None, item: str, filters: Filters | None = None) -> str:
    """The list of respondents who rated driver ``item`` (a dimension or an item) low, among
    the responses the page's ``filters`` keep."""
    if filters is not None:
        return "/analysis/respondents?" + filters.but(survey=survey).to_query(item=item)
    return "/analysis/respondents?" + urlencode({"survey": survey or "", "item": item})


#: The sections whose rows offer "Plan an action", as the action's source.
ACTION_SOURCES = {"drivers": "driver", "ipa": "ipa", "kano": "kano"}


def _action_links(key: str, table: pd.DataFrame, labels: list[str], survey: str | None,
                  filters: Filters | None) -> dict[str, str]:
    """The new-action form of each row worth acting on, by its label: every key driver, the
    importance–performance dimensions to concentrate on and the Kano must-be attributes; the
    page's segment filters become the action's target segment."""
    if key == "ipa" and "quadrant" in table:
        rows = table.index[table["quadrant"].eq("concentrate_here")]
    elif key == "kano" and "category" in table:
        rows = table.index[table["category"].eq("M")]
    elif key == "drivers":
        rows = table.index
    else:
        return {}
    segment = urlencode([(k, getattr(filters, k)) for k in SEGMENTS
                         if getattr(filters, k)]) if filters is not None else ""
    names = dict(zip(table.index, labels, strict=True))
    return {names[code]: new_action_link(ACTION_SOURCES[key], str(code), survey, segment or None)
            for code in rows}


#: Why a section is empty when its method failed on data it did not foresee (the details are logged).
UNEXPECTED = N_("These answers cannot support this analysis (too few responses, or answers that "
                "do not vary). Collect more responses and look again.")


TIE = re.compile(r"tie between (?P<tied>[A-Z, ]+); (?P<chosen>[A-Z]) chosen by precedence")
NO_PAIRS_NOTE = N_("No complete answer pairs.")
TIE_NOTE = N_("Tie between {tied}; {chosen} chosen by precedence M > O > A > I.")


def _kano_note(note, gettext) -> str:
    """The Kano method's note on a tie, in the reader's language."""
    if note == "no complete answer pairs":
        return gettext(NO_PAIRS_NOTE)
    found = TIE.match(str(note or ""))
    if not found:
        return note
    return gettext(TIE_NOTE).format(tied=found["tied"], chosen=found["chosen"])


def section_problem(error: Exception, key: str, gettext) -> str:
    """The reader's explanation of why section ``key`` could not be computed."""
    if isinstance(error, UserError):
        return translated(error, gettext)
    log.warning("analysis section %s failed: %r", key, error)
    return gettext(UNEXPECTED)


def _base_margins(engine: Engine, filters: Filters | None) -> dict[str, pd.Series]:
    """The customer base the responses are weighted to: the customers the segment filters keep
    (weighting North China's respondents to the whole country's mix cannot be done)."""
    margins = customer_base_margins(engine)
    if filters is None or not any(getattr(filters, key) for key in SEGMENTS):
        return margins
    kept = filters.apply_customers(read_customers(engine))
    return {v: kept[v].dropna().astype(str).value_counts(normalize=True) for v in margins
            if kept[v].notna().any()}


def satisfaction_report(engine: Engine, survey: str | None, *, language: str = "en",
                        gettext=lambda s: s, include_flagged: bool = False,
                        filters: Filters | None = None) -> list[Section]:
    """Compute every section; a section that cannot be computed carries the reason instead.

    Responses flagged by cleaning are left out unless ``include_flagged``; ``filters`` (the
    dashboard's, see :mod:`patronage.reporting.filters`) narrow the responses every section is
    computed on (an unknown value is a ``UserError``).
    """
    data = survey_data_from_db(engine, survey, include_flagged=include_flagged)
    if filters is not None:
        data = filtered(filters, data)
    label = _labeller(language, gettext)
    label.category = labels_for(engine, language, gettext)  # regions, industries, competitors
    base = cache(lambda: _base_margins(engine, filters))
    return [_section(key, data, label, base, survey, filters, gettext) for key in SECTION_KEYS]


def analysis_section(engine: Engine, survey: str | None, key: str, *, language: str = "en",
                     gettext=lambda s: s, include_flagged: bool = False,
                     filters: Filters | None = None) -> Section:
    """Section ``key`` of :func:`satisfaction_report` alone (the page shows each as soon as it
    is computed); within a :func:`~patronage.reporting.shared.sharing` scope the survey data
    are read and filtered once for all the sections."""
    if key not in SECTION_KEYS:
        raise KeyError(key)
    data = survey_data_from_db(engine, survey, include_flagged=include_flagged)
    if filters is not None:
        data = filtered(filters, data)
    label = _labeller(language, gettext)
    label.category = labels_for(engine, language, gettext)
    base = cache(lambda: _base_margins(engine, filters))
    return _section(key, data, label, base, survey, filters, gettext)


def _section(key: str, data, label, base, survey: str | None, filters: Filters | None,
             _) -> Section:
    """Section ``key`` on ``data`` (already filtered), or the reason it cannot be computed."""
    title = TITLES[key]
    builder = _core_section if key in COLUMNS else _scores_section
    try:
        return builder(key, title, data, label, base, survey, filters, _)
    except Exception as exc:  # noqa: BLE001  (one section's failure never fails the page)
        return Section(key, _(title), None, None, section_problem(exc, key, _),
                       absent=isinstance(exc, NotAsked))


def _core_section(key, title, data, label, base, survey, filters, _) -> Section:
    compute = {"drivers": lambda: drivers_table(data, n_boot=200),
               "ipa": lambda: ipa_table(data), "kano": lambda: kano_table(data),
               "gap": lambda: gap_table(data), "reliability": lambda: reliability_table(data),
               "trend": lambda: trend_table(data),
               "pls": lambda: index_path_model(data, n_boot=200),
               "segments": lambda: _segments(data)}
    table = compute[key]()
    if key == "drivers":  # most important first, in the table and the chart
        table = table.sort_values("importance", ascending=False)
    chart = None
    if key == "pls":
        model = table
        chart = path_diagram(model, label, _(title))
        table = model.bootstrap_.xs("path", level="kind").assign(n=model.n_samples_)
        table.index = [f"{label(a)} → {label(b)}" for a, b in table.index]
    labels = [label.category("region", i) if key == "segments" else label(i)
              for i in table.index]
    if key == "kano":
        table = table.assign(note=[_kano_note(n, _) for n in table["note"]])
    if key == "drivers":
        chart = _drivers_chart(table, labels, _(title), _("Importance"))
    elif key == "segments":
        chart = _segment_chart(table, labels, _(title), _("NPS"), _("Region"))
    elif key == "ipa":
        chart = _scatter(table["performance"], table["importance"], labels, _(title),
                         _("Performance (0–100)"), _("Importance"),
                         cuts=(table.attrs.get("performance_cut"),
                               table.attrs.get("importance_cut")))
    elif key == "kano":
        chart = _scatter(table["better"], table["worse"].abs(), labels, _(title),
                         _("Better"), _("|Worse|"), cuts=(0.5, 0.5))
    shown = table[[c for c in COLUMNS[key] if c in table.columns]].copy()
    if key == "drivers":  # each driver leads to the respondents who rated it low
        shown.attrs["row_links"] = {text: respondents_address(survey, code, filters)
                                    for code, text in zip(table.index, labels, strict=True)}
        shown.attrs["hint"] = _("A driver's name lists the respondents who rated it 6 or "
                                "lower, to follow them up.")
    links = _action_links(key, table, labels, survey, filters)
    if links:  # "Plan an action" on what to improve
        shown.attrs["action_links"] = links
    shown.index = labels
    return Section(key, _(title), shown, chart, None)


def _scores_section(key, title, data, label, base, survey, filters, _) -> Section:
    table, chart = scores_page.BUILDERS[key](data, _, _(title), label, base)
    shown = table[[c for c in scores_page.COLUMNS[key] if c in table.columns]].copy()
    shown.index = [_(str(i)) if i in scores_page.LABELS
                   else label.category("industry", i) if key == "crosstab" else label(i)
                   for i in shown.index]
    return Section(key, _(title), shown, chart, None)


#: Every section of the page in order (those of :mod:`scores_page` last), and their titles.
TITLES = dict(SECTIONS) | dict(scores_page.SECTIONS)
SECTION_KEYS = tuple(TITLES)


#: English headers of the table columns (translated by the page).
COLUMN_LABELS = {
    "importance": "Importance", "share": "Share", "lower": "Lower 95%", "upper": "Upper 95%",
    "rank": "Rank", "performance": "Performance", "quadrant": "Quadrant", "n": "n",
    "share_A": "Attractive", "share_O": "One-dimensional", "share_M": "Must-be",
    "share_I": "Indifferent", "category": "Kano category", "better": "Better", "worse": "Worse",
    "note": "Note", "perception": "Perception", "expectation": "Expectation",
    "ratio": "Ratio C = b/a", "gap": "Gap b − a", "verdict": "Verdict", "items": "Items",
    "cronbach_alpha": "Cronbach's α", "composite_reliability": "Composite reliability",
    "ave": "AVE", "max_htmt": "Largest HTMT", "score": "Score", "ci_low": "Lower 95%",
    "ci_high": "Upper 95%", "change": "Change", "p_value": "p", "p_holm": "p (Holm)",
    "original": "Path coefficient", "nps": "NPS", "mean_satisfaction": "Mean satisfaction",
    **scores_page.COLUMN_LABELS,
}
#: Values shown translated: quadrants, verdicts, Kano categories (the letters of the share
#: columns' labels; R and Q, reverse and questionable, stay letters).
VALUE_LABELS = {
    "A": "Attractive", "O": "One-dimensional", "M": "Must-be", "I": "Indifferent",
    "concentrate_here": "Concentrate here", "keep_up": "Keep up the good work",
    "low_priority": "Low priority", "possible_overkill": "Possible overkill",
    "delighted": "Delighted", "satisfied": "Satisfied", "dissatisfied": "Dissatisfied",
}


__all__ = ["COLUMN_LABELS", "LATENT_NAMES", "SECTIONS", "SECTION_KEYS", "VALUE_LABELS", "Section",
           "analysis_section", "path_diagram", "satisfaction_report"]
