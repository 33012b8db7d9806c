"""The number rules of :mod:`patronage.reporting.formats` as Jinja filters, bound to the page's
language and translations, and the Plotly configuration every chart is drawn with."""

from __future__ import annotations

from jinja2 import pass_context

from patronage.messages import N_
from patronage.reporting import formats

SMALL_SAMPLE = N_("Sample too small (n={n})")
#: Plotly's own messages that can still appear (the toolbar keeps only the download button).
PLOTLY_MESSAGES = {
    "Download plot as a PNG": N_("Download as image"),
    "Download plot": N_("Download as image"),
    "Double-click on legend to isolate one trace": N_("Double-click on legend to isolate one trace"),
    "Double-click to zoom back out": N_("Double-click to zoom back out"),
    "Preparing image - this may take a few seconds": N_("Preparing image - this may take a few seconds"),
}
_PLOTLY_LOCALE = {"en": "en", "zh_Hans": "zh-CN", "zh_Hant": "zh-TW"}


def _gettext(context):
    return context.get("_") or (lambda s: s)


def min_sample_of(context) -> int:
    request = context.get("request")
    try:
        return int(request.app.state.settings.min_sample)
    except AttributeError:
        return formats.DEFAULT_MIN_SAMPLE


@pass_context
def money_short(context, value) -> str:
    return formats.compact_money(value, context.get("lang", "en"))


@pass_context
def short(context, value) -> str:
    return formats.compact(value, context.get("lang", "en"))


@pass_context
def wave(context, label) -> str:
    """A wave's name as readers see it: quarters spelled one way, the whole survey when it has
    no waves worded as such."""
    return formats.wave_label(label, _gettext(context))


@pass_context
def week(context, label) -> str:
    """An ISO week (``2026-W27``) as readers see it: ``2026年第27周`` / ``Week 27, 2026``."""
    return formats.week_label(label, _gettext(context))


@pass_context
def score(context, value, n, digits: int = 1) -> str:
    """A score, or "sample too small (n=…)" when fewer than the minimum answers are behind it."""
    if formats.small_sample(n, min_sample_of(context)):
        return too_small(context, n)
    return formats.number(value, digits)


@pass_context
def too_small(context, n) -> str:
    count = 0 if formats.is_missing(n) else int(n)
    return _gettext(context)(SMALL_SAMPLE).format(n=count)


@pass_context
def is_small(context, n) -> bool:
    return formats.small_sample(n, min_sample_of(context))


def column_formats(table) -> dict:
    """``{column: (kind, decimals)}`` for a table: one format per column (a table may name its
    own in ``attrs["formats"]``, where a column name means something else than usual)."""
    own = table.attrs.get("formats", {})
    kinds = formats.table_kinds(table.columns, lambda column: table[column].tolist())
    return {column: own.get(column) or kinds[column] for column in table.columns}


def table_cell(value, spec=("number", 1)) -> str:
    return formats.cell(value, *spec)


@pass_context
def plotly_config(context) -> dict:
    """What ``static/charts.js`` draws every chart with: no logo, a toolbar with only the
    download button, Plotly's messages in the page's language."""
    _ = _gettext(context)
    language = context.get("lang", "en")
    tag = _PLOTLY_LOCALE.get(language, "en")
    dictionary = {source: _(target) for source, target in PLOTLY_MESSAGES.items()}
    return {
        "plotly": {"displaylogo": False, "responsive": True, "displayModeBar": True,
                   "locale": tag, "locales": {tag: {"dictionary": dictionary}}},
        "labels": {"download": _("Download as image"),
                   "respondents": _("Respondents behind this chart")},
        "min_sample": min_sample_of(context),
    }


def missing(value) -> bool:
    """None, NaN, NaT, pandas' NA or blank text: nothing to show."""
    if isinstance(value, str):
        return not value.strip()
    try:
        return formats.is_missing(value) or bool(value != value)  # NaT, NA
    except (TypeError, ValueError):
        return False


def shown(value, default: str = formats.MISSING):
    """``value``, or a dash when it is missing (never ``nan`` on a page)."""
    return default if missing(value) else value


def day(value) -> str:
    """A date or time as ``YYYY-MM-DD``; a dash when missing."""
    if missing(value):
        return formats.MISSING
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)[:10]


FILTERS = {
    "money": lambda value, digits=0: formats.money(value, digits),
    "money_short": money_short, "short": short,
    "pct": lambda value, digits=0: formats.percent(value, digits),
    "pvalue": formats.p_value,
    "num": lambda value, digits=1: formats.number(value, digits),
    "count": formats.integer, "signed": formats.signed,
    "wave": wave, "week": week, "score": score, "too_small": too_small,
    "column_formats": column_formats, "table_cell": table_cell,
    "shown": shown, "day": day,
}


def install(environment) -> None:
    """Register the filters and globals on the templates' Jinja environment."""
    environment.filters.update(FILTERS)
    environment.tests["small_sample"] = is_small
    environment.tests["missing"] = missing
    environment.globals["plotly_config"] = plotly_config
    environment.globals["estimates"] = formats.ESTIMATES


__all__ = ["FILTERS", "SMALL_SAMPLE", "install", "plotly_config"]
