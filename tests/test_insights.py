"""The sentences under the charts and analyses (reporting/insights.py): what they say follows the
numbers, a change is called a change only beyond sampling error, few answers are worded as a
hint, and the Chinese catalogs word them with the figures in place."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.ratings import nps_difference
from patronage.analytics.scores import nps_summary
from patronage.catalogs import gettext_for
from patronage.reporting import insights
from patronage.reporting.satisfaction import Section

EN = gettext_for("en")
ZH = gettext_for("zh_Hans")
HANT = gettext_for("zh_Hant")


def _scores(promoters: int, passives: int, detractors: int) -> pd.Series:
    return pd.Series([10] * promoters + [8] * passives + [3] * detractors, dtype=float)


def _waves(*groups) -> pd.DataFrame:
    """An Overview table by wave from (promoters, passives, detractors) counts per wave."""
    rows = []
    for i, counts in enumerate(groups):
        s = nps_summary(_scores(*counts))
        rows.append({"wave": f"2026-Q{i + 1}", "n": s["n"], "promoters": s["promoters"],
                     "passives": s["passives"], "detractors": s["detractors"], "nps": s["nps"],
                     "ci_low": s["ci_low"], "ci_high": s["ci_high"]})
    return pd.DataFrame(rows)


def test_difference_from_two_intervals_matches_the_z_test_on_the_answers():
    # Reference: the two-sample z test of an NPS difference with the multinomial variance of
    # each NPS (Rocks 2016, The American Statistician 70(4)), as analytics.ratings.nps_difference
    # computes it from the answers themselves.
    a, b = _scores(120, 200, 80), _scores(150, 180, 70)
    sa, sb = nps_summary(a), nps_summary(b)
    p = insights.difference_p(sa["nps"], sa["ci_low"], sa["ci_high"],
                              sb["nps"], sb["ci_low"], sb["ci_high"])
    assert p == pytest.approx(nps_difference(a, b)["p_value"], rel=1e-9)


def test_a_real_rise_is_called_a_rise_with_n_in_english_and_chinese():
    waves = _waves((100, 200, 100), (200, 150, 50))
    text = insights.overview_trend(waves, EN, min_sample=30)
    assert text.startswith("NPS rose 37.5 points from 2026 Q1 to 2026 Q2, to 37.5 (n = 400)")
    assert "p < 0.001" in text
    zh = insights.overview_trend(waves, ZH, min_sample=30)
    assert zh.startswith("NPS 从2026年第1季度到2026年第2季度上升 37.5 分，达到 37.5（n = 400）")
    assert "超出了抽样误差" in zh


def test_a_fall_is_called_a_fall():
    text = insights.overview_trend(_waves((200, 150, 50), (100, 200, 100)), ZH, min_sample=30)
    assert "下降 37.5 分，降至 0.0" in text


def test_a_small_change_is_within_sampling_error():
    waves = _waves((100, 200, 100), (104, 200, 96))
    text = insights.overview_trend(waves, EN, min_sample=30)
    assert "changed by +2.0 points" in text and "within sampling error" in text
    assert "rose" not in text
    zh = insights.overview_trend(waves, ZH, min_sample=30)
    assert "在抽样误差之内" in zh and "不能认为有真正的变化" in zh


def test_few_answers_make_a_hint_not_a_result():
    waves = _waves((5, 5, 10), (15, 3, 2))  # +55 points, but on 20 answers a wave
    text = insights.overview_trend(waves, EN, min_sample=30)
    assert "on few answers (n = 20 and 20)" in text and "rose" not in text
    assert "只能作为参考" in insights.overview_trend(waves, ZH, min_sample=30)


def test_one_wave_says_a_trend_needs_a_second():
    waves = _waves((100, 200, 100))
    assert "a trend needs a second wave" in insights.overview_trend(waves, EN, min_sample=30)
    assert insights.overview_trend(_waves((5, 5, 5)), EN, min_sample=30) is None
    chosen = insights.overview_trend(waves, ZH, min_sample=30, wave_chosen=True)
    assert chosen == "所选批次的 NPS 为 0.0（n = 400）；在筛选中选择全部批次可查看其变化。"


def test_dimensions_name_the_lowest_and_the_largest_fall():
    dims = pd.DataFrame({"score": [70.5, 57.3, 68.0], "change": [0.4, 0.9, -1.9]})
    text = insights.overview_dimensions(dims, ["产品", "价格", "服务"], ZH, "zh_Hans")
    assert text == ("价格得分最低（57.3 分，满分 100）：是最需要关注的维度。"
                    "与上一期相比，服务下降最多（-1.9 分）。")
    steady = dims.assign(change=[0.4, 0.9, -0.6])
    assert insights.overview_dimensions(steady, ["Product", "Price", "Service"], EN).endswith(
        "No dimension fell by a point or more since the previous wave.")


def _drivers(lower_first: float, n_used: int = 900) -> pd.DataFrame:
    table = pd.DataFrame({"importance": [0.26, 0.19, 0.10], "share": [0.39, 0.28, 0.15],
                          "lower": [lower_first, 0.17, 0.08], "upper": [0.28, 0.21, 0.11]},
                         index=["Product", "Service", "Price"])
    table.attrs["n_used"] = n_used
    return table


def test_drivers_name_the_first_two_and_doubt_an_overlap():
    clear = insights.drivers(_drivers(0.24), EN, min_sample=30)
    assert clear == ("Product moves overall satisfaction most (39% of what the drivers explain), "
                     "followed by Service.")
    overlap = insights.drivers(_drivers(0.20), ZH, "zh_Hans", min_sample=30)
    assert overlap.endswith("两者的 95% 置信区间重叠，先后次序并不确定。")
    few = insights.drivers(_drivers(0.24, n_used=12), EN, min_sample=30)
    assert few.endswith("On 12 answers only: read this as a hint, not a result.")


def test_ipa_names_the_first_thing_to_improve():
    table = pd.DataFrame({"importance": [0.3, 0.4, 0.1, 0.35],
                          "performance": [70.0, 52.5, 40.0, 55.0],
                          "quadrant": ["keep_up", "concentrate_here", "low_priority",
                                       "concentrate_here"]},
                         index=["产品", "价格", "沟通", "服务"])
    text = insights.ipa(table, ZH, "zh_Hans")
    assert text == ("价格是提升满意度的首要改进点：重要性高、表现低（52.5 分，满分 100）。"
                    "同一象限还有：服务。")
    calm = table.assign(quadrant=["keep_up", "keep_up", "low_priority", "keep_up"])
    assert insights.ipa(calm, EN) == ("No item is both important and performing poorly; 沟通 "
                                      "performs lowest (40.0 of 100) but matters less.")


def test_kano_lists_each_category_in_the_order_that_matters():
    table = pd.DataFrame({"n": [300, 300, 300, 300], "category": ["O", "M", "A", "M"]},
                         index=["24小时送达", "订单跟踪", "专属客户经理", "免费安装"])
    text = insights.kano(table, ZH, "zh_Hans", min_sample=30)
    assert text.startswith("必备型：订单跟踪、免费安装。做不好会引起不满。期望型：24小时送达。")
    assert "魅力型：专属客户经理" in text and "无差异型" not in text
    assert insights.kano(table.assign(n=10), EN, min_sample=30).endswith(
        "On 10 answers only: read this as a hint, not a result.")


def test_gap_names_the_largest_shortfall():
    table = pd.DataFrame({"gap": [-0.39, -1.41, 0.2],
                          "verdict": ["satisfied", "dissatisfied", "delighted"]},
                         index=["Clear", "Price", "Design"])
    assert insights.gap(table, EN) == ("Price falls furthest short of expectation (1.41 points "
                                       "on the answer scale); 1 of 3 items fall short enough to "
                                       "read as dissatisfaction.")
    assert insights.gap(table.drop(columns="verdict"), ZH).endswith("3 项中有 2 项差距大到可视为不满意。")
    assert insights.gap(table.assign(gap=[0.1, 0.0, 0.2]), ZH) == "每一项都达到或超过了客户的期望。"


def test_trend_section_uses_the_tables_test():
    table = pd.DataFrame({"n": [600, 740], "score": [8.5, 13.9], "change": [np.nan, 5.4],
                          "p_value": [np.nan, 0.16]}, index=["2025年第4季度", "2026年第1季度"])
    assert insights.trend(table, ZH, min_sample=30) == (
        "NPS 从2025年第4季度到2026年第1季度变化 +5.4 分（n = 740），在抽样误差之内（p = 0.160）："
        "不能认为有真正的变化。")
    real = table.assign(p_value=[np.nan, 0.01])
    assert "rose 5.4 points" in insights.trend(real, EN, min_sample=30)


def test_segments_leave_out_small_ones_and_read_the_test():
    table = pd.DataFrame({"n": [857, 465, 12], "nps": [19.0, 7.1, -40.0],
                          "p_value": [0.054] * 3}, index=["华东", "海外", "西北"])
    text = insights.segments(table, ZH, min_sample=30)
    assert text.startswith("海外的 NPS 最低（7.1，n = 465），华东最高（19.0，n = 857）")
    assert "在随机波动之内（p = 0.054）" in text
    assert "beyond chance (p = 0.010)" in insights.segments(table.assign(p_value=0.01), EN,
                                                            min_sample=30)


def test_crosstab_names_the_group_with_most_detractors():
    table = pd.DataFrame({"detractor": [0.21, 0.23, 0.19], "n": [280, 373, 913],
                          "p_value": [0.93] * 3}, index=["教育", "醫療", "製造"])
    assert insights.crosstab(table, HANT).startswith("醫療的貶損者佔比最高（23%，n = 373），但")


def test_analysis_insights_keep_the_sections_that_have_a_sentence():
    sections = [Section("drivers", "", _drivers(0.24), None, None),
                Section("kano", "", None, None, "no data"),
                Section("reliability", "", pd.DataFrame({"ave": [0.7]}), None, None)]
    found = insights.analysis_insights(sections, EN, "en", 30)
    assert list(found) == ["drivers"]


def test_competitor_names_what_is_better_and_worse_beyond_chance():
    table = pd.DataFrame({"difference": [0.41, -0.58, -0.08, 0.43, -0.57],
                          "p_holm": [1e-13, 4e-22, 0.32, 2e-14, 3e-23]},
                         index=["设计", "耐用性", "灵活性", "功能", "性能"])
    assert insights.competitor(table, ZH, "zh_Hans") == (
        "与竞争对手相比，同一批受访者对我们的评价在功能、设计上更好，在耐用性、性能上更差，"
        "均超出随机波动（Holm 校正 p < 0.05）。")
    only_better = table[table["difference"] > 0]
    assert insights.competitor(only_better, EN).endswith("and worse on nothing.")
    assert insights.competitor(table.assign(p_holm=0.3), EN) == (
        "No difference from the competitor is beyond chance.")


def test_loyalty_sentences_read_rfm_cohorts_and_the_holdout():
    rfm = pd.DataFrame({"customers": [1261, 829, 769], "monetary": [3.4e8, 8.5e7, 6.1e7]},
                       index=["重要价值客户", "忠诚客户", "有流失风险"])
    assert insights.rfm(rfm, ZH).startswith("重要价值客户（1,261 位客户，占客户的 44%）贡献了全部消费的 70%")
    cohorts = pd.DataFrame({"cohort_size": [12, 900, 800, 300], 4: [0.9, 0.6, 0.55, np.nan]},
                           index=["2024 Q2", "2024 Q3", "2024 Q4", "2025 Q1"])
    # The 12-customer cohort is too small, the 2025 Q1 one not a year old: (0.6·900 + 0.55·800)/1700
    assert insights.cohorts(cohorts, EN, min_sample=30) == (
        "A year after their first purchase, 58% of customers still buy (cohorts acquired from "
        "2024 Q3 to 2024 Q4, n = 1,700).")
    holdout = pd.DataFrame({"customers": [532, 4285], "actual": [1.68, 3.48],
                            "predicted": [1.86, 3.54]}, index=["0", "全部客户"])
    assert insights.holdout(holdout, ZH) == ("在留出期内，购买模型预计每位客户购买 3.54 次，实际为 "
                                             "3.48 次（相差 1.7%，n = 4,285）。")
