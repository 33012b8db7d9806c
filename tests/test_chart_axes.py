"""Chart axes of large amounts read as people write them: ticks in 万/亿 (with ¥ for money) on
Chinese pages and k/M in English, one unit per axis, round steps covering the data and 0, and
tooltips in the same words (萬/億 in Traditional Chinese); the programme report's charts use them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from patronage.reporting import members_report
from patronage.reporting.charts import amount_axis, amount_texts


@pytest.mark.parametrize(("values", "language", "money", "texts"), [
    ([20_345_678, 3_000_000], "zh_Hans", False, ["0", "1,000万", "2,000万", "3,000万"]),
    ([-12_000_000, 25_000_000], "zh_Hant", False,
     ["-2,000萬", "-1,000萬", "0", "1,000萬", "2,000萬", "3,000萬"]),
    ([230_000_000], "zh_Hant", True, ["¥0", "¥1億", "¥2億", "¥3億"]),
    ([450_000, 120_000], "zh_Hans", True, ["¥0", "¥20万", "¥40万", "¥60万"]),
    ([230_000_000], "zh_Hans", True, ["¥0", "¥1亿", "¥2亿", "¥3亿"]),
    ([150_000_000], "zh_Hans", False, ["0", "0.5亿", "1.0亿", "1.5亿"]),
    ([3_200], "zh_Hans", False, ["0", "1,000", "2,000", "3,000", "4,000"]),
    ([20_345_678], "en", False, ["0", "10M", "20M", "30M"]),
    ([2_500], "en", True, ["¥0", "¥1k", "¥2k", "¥3k"]),
])
def test_ticks_are_round_steps_in_one_unit(values, language, money, texts):
    axis = amount_axis(values, language, money=money)
    assert axis["ticktext"] == texts
    steps = pd.Series(axis["tickvals"]).diff().dropna()
    assert steps.nunique() == 1  # evenly spaced
    assert axis["tickvals"][0] <= min(values + [0]) and axis["tickvals"][-1] >= max(values)
    assert axis["range"][0] < axis["tickvals"][0] and axis["range"][1] > axis["tickvals"][-1]


def test_tooltips_say_the_amount_in_the_readers_words():
    assert amount_texts([20_345_678, 8_765], "zh_Hans", money=True) == ["¥2,034.6万", "¥8,765"]
    assert amount_texts([20_345_678], "en") == ["20.3M"]
    assert amount_texts([20_345_678], "zh_Hant", money=True) == ["¥2,034.6萬"]


def test_the_programme_reports_charts_count_points_in_wan_on_chinese_pages():
    months = pd.period_range("2025-01", periods=3, freq="M")
    monthly = pd.DataFrame({"issued": [1.2e7, 2.1e7, 1.9e7], "redeemed": [0, 3e6, 5e6],
                            "returned": [0, 0, 1e6], "expired": [0, 0, 8e6],
                            "outstanding": [1.2e7, 3.0e7, 3.7e7]}, index=months)
    flows = json.loads(members_report._flows_chart(monthly, lambda s: s, "zh_Hans"))
    axis = flows["layout"]["yaxis"]
    # issued up to 2,100万 a month; redeemed and expired down to 1,200万 (5 − 1 + 8 hundred万)
    assert axis["ticktext"] == ["-2,000万", "-1,000万", "0", "1,000万", "2,000万", "3,000万"]
    assert flows["data"][0]["customdata"] == ["1,200.0万", "2,100.0万", "1,900.0万"]
    assert "%{customdata}" in flows["data"][0]["hovertemplate"]
    stock = json.loads(members_report._outstanding_chart(monthly, lambda s: s, "zh_Hans"))
    assert stock["layout"]["yaxis"]["ticktext"][-1] == "4,000万"
    english = json.loads(members_report._outstanding_chart(monthly, lambda s: s, "en"))
    assert english["layout"]["yaxis"]["ticktext"][-1] == "40M"


def test_a_charts_json_is_the_figure_on_the_white_template():
    """figure_json puts Plotly's plotly_white template in the JSON instead of on the figure (a
    template set on a figure is validated and copied, most of a chart's time): the JSON is what
    setting it would give, and the figure itself is left as it was."""
    import plotly.graph_objects as go

    from patronage.reporting.charts import _LAYOUT, figure_json

    figure = go.Figure(go.Bar(x=["价格", "质量"], y=[61.5, 72.25], text=["61.5", "72.3"]))
    figure.update_layout(title="维度得分", **_LAYOUT)
    before = figure.to_json()
    expected = go.Figure(figure).update_layout(template="plotly_white").to_json()
    shown = json.loads(figure_json(figure))
    assert shown == json.loads(expected)
    assert shown["layout"]["template"]["layout"]["plot_bgcolor"] == "white"
    assert figure.to_json() == before
