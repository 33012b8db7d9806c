"""Where a click on a chart leads (reporting/chart_links.py): each bar or point to the respondents
list behind it, keeping the page's filters and adding the point's wave, NPS group, dimension,
region or industry, in the order of the chart's traces and points."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from patronage.reporting import chart_links
from patronage.reporting.filters import Filters
from patronage.reporting.overview import Overview
from patronage.reporting.satisfaction import Section


def _query(address: str) -> dict:
    parts = urlsplit(address)
    return {"path": parts.path, **{k: v[0] for k, v in parse_qs(parts.query).items()}}


def test_overview_points_lead_to_their_wave_group_and_dimension():
    waves = pd.DataFrame({"wave": ["2026-Q1", "2026-Q2"], "n": [40, 50]})
    dims = pd.DataFrame({"dimension": ["product", "price"]})
    filters = Filters(survey="relationship", region="East China")
    result = Overview(survey="relationship", surveys=["relationship"], waves=waves,
                      dimensions=dims, comments=pd.DataFrame(), filters=filters)
    links = chart_links.overview_links(result, filters, {"trend": "{}", "groups": "{}",
                                                         "dimensions": "{}"})
    trend = json.loads(links["trend"])
    assert [_query(a)["wave"] for a in trend["0"]] == ["2026-Q1", "2026-Q2"]
    groups = json.loads(links["groups"])  # detractors drawn first, at the bottom of the stack
    assert _query(groups["0"][1]) == {"path": "/respondents", "survey": "relationship",
                                      "wave": "2026-Q2", "region": "East China",
                                      "group": "detractors"}
    assert [_query(groups[k][0])["group"] for k in "012"] == ["detractors", "passives",
                                                              "promoters"]
    dimension = _query(json.loads(links["dimensions"])["0"][1])
    assert dimension["dimension"] == "price" and dimension["wave"] == "2026-Q2"
    assert set(chart_links.overview_links(result, filters, {"trend": "{}"})) == {"trend"}


def test_analysis_points_follow_the_drivers_rows_and_segment_codes():
    drivers = pd.DataFrame({"importance": [0.3, 0.2]}, index=["产品", "价格"])
    drivers.attrs["row_links"] = {"产品": "/analysis/respondents?item=product",
                                  "价格": "/analysis/respondents?item=price"}
    ipa = pd.DataFrame({"importance": [0.2, 0.3]}, index=["价格", "产品"])
    segments = pd.DataFrame({"nps": [10.0, 20.0]}, index=["华东", "未知地区"])
    crosstab = pd.DataFrame({"promoter": [0.3], "passive": [0.5], "detractor": [0.2]},
                            index=["制造业"])
    sections = [Section("drivers", "", drivers, "{}", None), Section("ipa", "", ipa, "{}", None),
                Section("segments", "", segments, "{}", None),
                Section("crosstab", "", crosstab, "{}", None),
                Section("kano", "", pd.DataFrame({"x": [1]}), None, None)]
    codes = {("region", "华东"): "East China", ("industry", "制造业"): "Manufacturing"}
    links = chart_links.analysis_links(sections, Filters(survey="relationship"),
                                       lambda kind, label: codes.get((kind, label)))
    assert json.loads(links["ipa"])["0"] == ["/analysis/respondents?item=price",
                                             "/analysis/respondents?item=product"]
    regions = json.loads(links["segments"])["0"]
    assert _query(regions[0])["region"] == "East China" and regions[1] is None
    crosstab_links = json.loads(links["crosstab"])
    assert _query(crosstab_links["2"][0]) == {"path": "/respondents", "survey": "relationship",
                                              "industry": "Manufacturing",
                                              "group": "detractors"}
    assert "kano" not in links  # a section without a chart has no links


def test_analysis_extras_map_labels_back_to_stored_values():
    segments = pd.DataFrame({"nps": [10.0], "n": [50], "p_value": [0.5]}, index=["华东"])
    extras = chart_links.analysis_extras(
        [Section("segments", "", segments, "{}", None)], Filters(),
        {"region": ["East China"]}, lambda kind, value: {"East China": "华东"}[value], "zh_Hans",
        lambda s: s, 30)
    assert _query(json.loads(extras["chart_links"]["segments"])["0"][0])["region"] == "East China"
    assert extras["insights"] == {}  # one region: nothing to compare


def test_loyalty_rfm_bars_lead_to_their_segments_customers():
    rfm = pd.DataFrame({"customers": [10, 20]}, index=["重要价值客户", "新客户"])
    rfm.attrs["row_links"] = {"重要价值客户": "/loyalty/customers?segment=champions",
                              "新客户": "/loyalty/customers?segment=new"}
    links = chart_links.loyalty_links([Section("rfm", "", rfm, "{}", None),
                                       Section("clv", "", rfm, "{}", None)])
    assert json.loads(links["rfm"])["0"] == ["/loyalty/customers?segment=champions",
                                             "/loyalty/customers?segment=new"]
    assert "clv" not in links
