"""Comment analytics (patronage.analytics.comments): normalising and search in Chinese and
English, TF-IDF and NMF checked against scikit-learn, themes found from planted data, shares
with Wilson intervals checked against statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer
from statsmodels.stats.proportion import proportion_confint

from patronage.analytics.comments import analyse_comments, find_themes, normalise, search, words
from patronage.analytics.comments.text import to_traditional
from patronage.analytics.comments.themes import nmf, tfidf


def test_normal_form_joins_scripts_widths_and_case():
    assert normalise("設備故障") == normalise("设备故障") == "设备故障"
    assert normalise("ＡＢＣ　１２３") == "abc 123"
    assert normalise("设备 故障 太多") == "设备故障太多"
    assert to_traditional("设备故障") == "設備故障"


def test_search_finds_chinese_without_spaces_and_across_scripts():
    texts = pd.Series(["设备故障太多，影响生产。", "交貨太慢了，希望改進。", "Great SERVICE",
                       "价格合理"], index=[10, 11, 12, 13])
    assert search(texts, "设备").tolist() == [True, False, False, False]
    assert search(texts, "設備故障").tolist() == [True, False, False, False]   # Traditional query
    assert search(texts, "交货").tolist() == [False, True, False, False]       # Traditional text
    assert search(texts, "ｓｅｒｖｉｃｅ").tolist() == [False, False, True, False]  # full width
    assert search(texts, "交货 改进").tolist() == [False, True, False, False]  # every term
    assert search(texts, "交货 价格").tolist() == [False, False, False, False]
    assert search(texts, "").all()


def test_words_segment_chinese_and_drop_stop_words():
    assert words("設備故障太多，影響生產。") == ["设备", "故障", "影响", "生产"]
    assert words("We waited three days for the engineer") == ["waited", "three", "days",
                                                             "engineer"]


def test_tfidf_matches_scikit_learn():
    # Reference: scikit-learn's TfidfVectorizer (Pedregosa et al. 2011, JMLR 12) with the
    # smoothed idf and l2 rows, on the same pre-split words.
    docs = [words(t) for t in ["设备故障太多", "设备运行稳定", "价格太贵", "价格合理，设备稳定",
                               "交货太慢", "交货及时，价格合理"]]
    ours, vocabulary = tfidf(docs, min_df=2, max_df=0.9)
    reference = TfidfVectorizer(analyzer=lambda d: d, min_df=2, max_df=0.9)
    theirs = reference.fit_transform(docs)
    assert vocabulary == list(reference.get_feature_names_out())
    np.testing.assert_allclose(ours.toarray(), theirs.toarray(), atol=1e-12)


def test_nmf_matches_scikit_learn_multiplicative_updates():
    # Reference: scikit-learn's NMF, solver "mu" (Lee & Seung 2001) for the Frobenius norm,
    # from the same start; both run the same number of updates.
    rng = np.random.default_rng(7)
    v = rng.random((40, 12)) * (rng.random((40, 12)) < 0.4)
    w0, h0 = rng.random((40, 3)) + 0.1, rng.random((3, 12)) + 0.1
    w, h = nmf(v, 3, iterations=200, w0=w0, h0=h0)
    model = NMF(3, init="custom", solver="mu", beta_loss="frobenius", max_iter=200, tol=0.0)
    w_ref = model.fit_transform(v, W=w0.copy(), H=h0.copy())
    np.testing.assert_allclose(w @ h, w_ref @ model.components_, rtol=1e-6, atol=1e-9)


def _planted(seed: int = 3) -> tuple[pd.Series, pd.Series]:
    """Comments from three planted topics in both Chinese scripts and English noise."""
    rng = np.random.default_rng(seed)
    topics = {
        "equipment": ["设备故障太多，影响生产", "設備故障頻繁，停機維修", "设备经常故障需要维修",
                      "設備運行不穩定，故障多"],
        "delivery": ["交货延迟了两周", "交貨延遲，沒人通知", "发货延迟，交货时间太长",
                     "交貨時間一再延遲"],
        "price": ["价格太贵，比同行高", "價格偏高，希望降價", "涨价太快，价格不合理",
                  "價格合理，性價比高"],
    }
    texts, truth = [], []
    for topic, options in topics.items():
        for _ in range(30):
            texts.append(options[rng.integers(len(options))])
            truth.append(topic)
    order = rng.permutation(len(texts))
    return (pd.Series(np.array(texts)[order]), pd.Series(np.array(truth)[order]))


def test_themes_recover_planted_topics_and_repeat_with_the_seed():
    texts, truth = _planted()
    found = find_themes(texts, n_themes=3)
    again = find_themes(texts, n_themes=3)
    pd.testing.assert_series_equal(found.assignment, again.assignment)
    assert found.assignment.notna().mean() >= 0.8
    table = pd.crosstab(truth, found.assignment)
    # Each planted topic lands (nearly) all in one theme of its own.
    purity = table.max(axis=1) / table.sum(axis=1)
    assert (purity >= 0.95).all(), table
    assert table.idxmax(axis=1).nunique() == 3, table
    keywords = {t: found.keywords[k] for t, k in table.idxmax(axis=1).items()}
    assert "故障" in keywords["equipment"] and "价格" in keywords["price"]


def test_pinned_keywords_take_their_comments_first():
    texts, _ = _planted()
    found = find_themes(texts, n_themes=2, pinned={"交付延迟": ["延遲", "延迟"]})
    delayed = texts.map(normalise).str.contains("延迟")
    assert (found.assignment[delayed] == "交付延迟").all()
    assert not (found.assignment[~delayed] == "交付延迟").any()
    assert found.keywords["交付延迟"] == ["延迟"]


def test_theme_shares_carry_wilson_intervals_and_counts_by_group():
    texts, truth = _planted()
    groups = pd.DataFrame({"wave": np.where(np.arange(len(texts)) < 45, "Q1", "Q2")})
    result = analyse_comments(texts, groups, n_themes=3,
                              models={"zh": _ConstantModel(0.9), "en": _ConstantModel(0.1)})
    assert result.n == 90 and result.themes["n"].sum() <= 90
    for row in result.themes.itertuples():
        # Reference: statsmodels' proportion_confint(method="wilson") (Wilson 1927).
        low, high = proportion_confint(row.n, result.n, alpha=0.05, method="wilson")
        assert row.share == pytest.approx(row.n / 90)
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high), abs=1e-12)
    assert result.sentiment.set_index("sentiment")["n"].to_dict() == {
        "positive": 90, "neutral": 0, "negative": 0}
    by_wave = result.by_group("wave")
    assert set(by_wave["wave"]) == {"Q1", "Q2"}
    assert by_wave.groupby("wave")["group_n"].first().to_dict() == {"Q1": 45, "Q2": 45}
    top = result.themes["theme"].iloc[0]
    examples = result.examples(top, k=2)
    assert len(examples) == 2 and (examples["theme"] == top).all()
    assert examples["text"].is_unique


def test_search_narrows_the_analysis_and_empty_comments_are_left_out():
    texts = pd.Series(["設備故障太多", "设备运行稳定", "价格太贵", None, "  "])
    result = analyse_comments(texts, query="设备", models={"zh": _ConstantModel(0.5)})
    assert result.comments["text"].tolist() == ["設備故障太多", "设备运行稳定"]
    assert result.comments["sentiment"].eq("neutral").all()


class _ConstantModel:
    """A stand-in sentiment model giving every text the same probability."""

    def __init__(self, p: float):
        self.p = p

    def predict_proba(self, texts):
        return np.full(len(list(texts)), self.p)


def test_factors_with_the_same_top_words_are_one_theme():
    texts = pd.Series(["too many breakdowns this quarter"] * 6
                      + ["breakdowns again this quarter"] * 2 + ["great service team"] * 4)
    found = find_themes(texts, n_themes=4)
    named = {frozenset(words) for words in found.keywords.values()}
    assert len(named) == len(found.keywords)
    assert found.assignment.iloc[:8].nunique() == 1
