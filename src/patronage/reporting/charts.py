"""Chart specifications for the dashboard, built with Plotly.

Functions return a figure as a JSON string; the page hands it to the Plotly.js bundled with the
``plotly`` Python package (served by the app itself, never from a CDN). Titles arrive already
translated.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

_LAYOUT = dict(margin=dict(l=50, r=20, t=40, b=40), height=320, template="plotly_white",
               font=dict(family="system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"))


def _finite(values) -> list:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
            for v in values]


def nps_trend(waves: pd.DataFrame, *, title: str, nps_label: str, csi_label: str) -> str:
    """NPS per wave with its 95% interval as error bars, and CSI on a second axis."""
    nps = _finite(waves["nps"]) if "nps" in waves else []
    upper = [None if v is None or h is None else h - v
             for v, h in zip(nps, _finite(waves.get("ci_high", [])))]
    lower = [None if v is None or lo is None else v - lo
             for v, lo in zip(nps, _finite(waves.get("ci_low", [])))]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=[str(w) for w in waves["wave"]], y=nps, name=nps_label, mode="lines+markers",
        error_y=dict(type="data", array=upper, arrayminus=lower, visible=True),
    ))
    if "csi" in waves:
        figure.add_trace(go.Scatter(x=[str(w) for w in waves["wave"]], y=_finite(waves["csi"]),
                                    name=csi_label, mode="lines+markers", yaxis="y2",
                                    line=dict(dash="dot")))
    figure.update_layout(title=title, yaxis=dict(title=nps_label, range=[-100, 100]),
                         yaxis2=dict(title=csi_label, overlaying="y", side="right",
                                     range=[0, 100]),
                         legend=dict(orientation="h", y=-0.2), **_LAYOUT)
    return figure.to_json()


def dimension_bars(labels: list[str], scores: list[float], *, title: str) -> str:
    """Horizontal bars of dimension scores on 0–100."""
    figure = go.Figure(go.Bar(x=_finite(scores), y=labels, orientation="h",
                              text=[f"{s:.1f}" if s is not None else "" for s in _finite(scores)],
                              textposition="auto"))
    figure.update_layout(title=title, xaxis=dict(range=[0, 100]),
                         yaxis=dict(autorange="reversed"), **_LAYOUT)
    return figure.to_json()


__all__ = ["dimension_bars", "nps_trend"]
