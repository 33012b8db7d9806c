"""Chart specifications for the dashboard, built with Plotly.

Functions return a figure as a JSON string; the page hands it to the Plotly.js bundled with the
``plotly`` Python package (served by the app itself, never from a CDN). Titles arrive already
translated.
"""

from __future__ import annotations

import math
from functools import cache

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from patronage.reporting import formats
from patronage.reporting.formats import D3

#: Colours of the NPS groups on every chart: detractors red, passives grey, promoters green.
NPS_COLOURS = {"promoter": "#1a7f37", "passive": "#9ea7b3", "detractor": "#cf222e"}
#: Other series never take the red and green that mean detractors and promoters.
COLOURWAY = ["#1f6feb", "#8250df", "#bf8700", "#0a7ea4", "#6e7781", "#e16f24"]

#: Every chart's layout; :func:`figure_json` gives it Plotly's ``plotly_white`` template.
_LAYOUT = dict(margin=dict(l=50, r=20, t=40, b=40), height=320,
               colorway=COLOURWAY, separators=".,",
               font=dict(family="system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"))


@cache
def _white_template() -> dict:
    return pio.templates["plotly_white"].to_plotly_json()


def figure_json(figure: go.Figure) -> str:
    """The figure as the page's JSON, on the ``plotly_white`` template. The template is put in
    the figure's JSON rather than set on the figure: Plotly validates and copies a template set
    on a figure, about 8 ms of a figure's 11 (a page of a dozen charts computed for a filter
    not seen before waits for it); the JSON is the same."""
    spec = figure.to_plotly_json()
    spec["layout"]["template"] = _white_template()
    return pio.to_json(spec, validate=False)


def hover(*parts: str) -> str:
    """A tooltip template from its lines (Plotly's ``%{...}`` fields), without the trace box."""
    return "<br>".join(parts) + "<extra></extra>"


def _finite(values) -> list:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
            for v in values]


def nps_trend(waves: pd.DataFrame, *, title: str, nps_label: str, csi_label: str,
              wave_labels: list[str] | None = None, min_sample: int = 1) -> str:
    """NPS per wave with its 95% interval as error bars, and CSI on a second axis.

    A wave with fewer than ``min_sample`` answers has no point: one answer is no score.
    ``wave_labels`` are the waves as readers see them.
    """
    counts = [0 if v is None else v for v in _finite(waves["n"])] if "n" in waves else []
    enough = [n >= min_sample for n in counts] or [True] * len(waves)
    x = wave_labels if wave_labels is not None else [str(w) for w in waves["wave"]]

    def shown(values):
        return [v if ok else None for v, ok in zip(values, enough)]

    nps = shown(_finite(waves["nps"])) if "nps" in waves else []
    upper = [None if v is None or h is None else h - v
             for v, h in zip(nps, _finite(waves.get("ci_high", [])))]
    lower = [None if v is None or lo is None else v - lo
             for v, lo in zip(nps, _finite(waves.get("ci_low", [])))]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=x, y=nps, name=nps_label, mode="lines+markers",
        error_y=dict(type="data", array=upper, arrayminus=lower, visible=True),
        customdata=[[lo, hi, n] for lo, hi, n in zip(_finite(waves.get("ci_low", nps)),
                                                    _finite(waves.get("ci_high", nps)), counts)],
        hovertemplate=hover("%{x}", f"{nps_label} %{{y:{D3['score']}}}"
                            f" (%{{customdata[0]:{D3['score']}}} … %{{customdata[1]:{D3['score']}}})",
                            "n = %{customdata[2]:,d}"),
    ))
    if "csi" in waves:
        figure.add_trace(go.Scatter(x=x, y=shown(_finite(waves["csi"])),
                                    name=csi_label, mode="lines+markers", yaxis="y2",
                                    line=dict(dash="dot"),
                                    hovertemplate=hover("%{x}", f"{csi_label} %{{y:{D3['score']}}}")))
    # Half a wave of room at either end: the first and last waves' labels are then not
    # written over the lowest ticks of the NPS axis (left) and the CSI axis (right).
    ends = dict(type="category", range=[-0.5, len(x) - 0.5]) if len(x) else {}
    figure.update_layout(title=title, xaxis=ends,
                         yaxis=dict(title=nps_label, range=[-100, 100]),
                         yaxis2=dict(title=csi_label, overlaying="y", side="right",
                                     range=[0, 100]),
                         legend=dict(orientation="h", y=-0.2), **_LAYOUT)
    return figure_json(figure)


def dimension_bars(labels: list[str], scores: list[float], *, title: str,
                   axis_title: str | None = None) -> str:
    """Horizontal bars of dimension scores on 0–100 (``axis_title`` names the scale)."""
    figure = go.Figure(go.Bar(x=_finite(scores), y=labels, orientation="h",
                              marker=dict(color=COLOURWAY[0]),
                              text=[f"{s:.1f}" if s is not None else "" for s in _finite(scores)],
                              textposition="auto",
                              hovertemplate=hover(f"%{{y}}: %{{x:{D3['score']}}}")))
    figure.update_layout(title=title, xaxis=dict(range=[0, 100], title=axis_title),
                         yaxis=dict(autorange="reversed"), **_LAYOUT)
    return figure_json(figure)


def nps_groups(waves: pd.DataFrame, *, title: str, names: dict[str, str], axis_title: str,
               wave_labels: list[str] | None = None, min_sample: int = 1) -> str:
    """The shares of detractors, passives and promoters per wave as stacked bars in their
    colours (detractors at the bottom); ``names`` are the groups' names by ``promoters``,
    ``passives``, ``detractors``. A wave with fewer than ``min_sample`` answers has no bars."""
    x = wave_labels if wave_labels is not None else [str(w) for w in waves["wave"]]
    counts = [0 if v is None else v for v in _finite(waves["n"])]
    figure = go.Figure()
    for group, colour in (("detractors", NPS_COLOURS["detractor"]),
                          ("passives", NPS_COLOURS["passive"]),
                          ("promoters", NPS_COLOURS["promoter"])):
        shares = [v if n >= min_sample else None for v, n in zip(_finite(waves[group]), counts)]
        figure.add_trace(go.Bar(
            x=x, y=shares, name=names[group], marker=dict(color=colour),
            text=[f"{100 * v:.0f}%" if v is not None else "" for v in shares],
            textposition="inside", insidetextanchor="middle", customdata=counts,
            hovertemplate=hover(f"%{{x}} · {names[group]}", f"%{{y:{D3['share']}}}",
                                "n = %{customdata:,d}")))
    figure.update_layout(title=title, barmode="stack",
                         yaxis=dict(title=axis_title, tickformat=".0%", range=[0, 1]),
                         legend=dict(orientation="h", y=-0.2, traceorder="normal"), **_LAYOUT)
    return figure_json(figure)


def _nice_step(span: float, ticks: int) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` intervals."""
    raw = max(span, 1e-9) / max(ticks, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def amount_axis(values, language: str = "en", *, money: bool = False, ticks: int = 4) -> dict:
    """Axis settings whose ticks read as people write large figures: ``2,000万`` and
    ``¥1.5亿`` in Chinese (one unit for the whole axis, the one of its largest tick), ``20M``
    and ``¥1.5k`` in English, and plain ``8,000`` below the first unit. Plotly would print
    ``20,000,000`` (or ``20M``, which Chinese readers do not use), so the tick values and
    texts are computed here: round steps over the range of ``values`` and 0."""
    finite = [v for v in _finite(values) if v is not None]
    low, high = min(finite + [0.0]), max(finite + [0.0])
    step = _nice_step(high - low, ticks)
    first, last = math.floor(low / step), math.ceil(high / step)
    spots = [k * step for k in range(first, last + 1)]
    top = max(abs(spots[0]), abs(spots[-1]))
    size, unit = next(((s, u) for s, u in formats.large_units(language) if top >= s),
                      (1.0, ""))
    scaled = step / size
    digits = 0 if abs(scaled - round(scaled)) < 1e-9 else 1 if abs(
        scaled * 10 - round(scaled * 10)) < 1e-9 else 2
    prefix = formats.CURRENCY if money else ""

    def text(value: float) -> str:
        if abs(value) < step / 2:
            return f"{prefix}0"
        sign = "-" if value < 0 else ""
        return f"{sign}{prefix}{abs(value) / size:,.{digits}f}{unit}"
    return {"tickmode": "array", "tickvals": spots, "ticktext": [text(v) for v in spots],
            "range": [spots[0] - step * 0.02, spots[-1] + step * 0.02]}


def amount_texts(values, language: str = "en", *, money: bool = False) -> list[str]:
    """Each value as a tooltip writes it: short with 万/亿 (k/M) past the first unit, in full
    below it (``¥1,234.6万``, ``8,765``)."""
    return [formats.compact_money(v, language) if money else formats.compact(v, language)
            for v in values]


__all__ = ["COLOURWAY", "NPS_COLOURS", "amount_axis", "amount_texts", "dimension_bars", "hover",
           "nps_groups", "nps_trend"]
