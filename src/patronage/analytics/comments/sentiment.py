"""Sentiment of a comment: L2-regularised logistic regression per language on binary n-grams.

Method: logistic regression with an L2 penalty (``C`` = 1, the intercept unpenalised, both classes
weighing the same in total), fitted by
L-BFGS (Liu & Nocedal 1989) on the log-likelihood, as in Hastie, Tibshirani & Friedman, *The
Elements of Statistical Learning* (2009), §4.4; scikit-learn's ``LogisticRegression`` minimises
the same objective and the tests check the two agree on the same data. Features are binary (each
counted once per comment): for Chinese, the characters and character bigrams of the normalised
(Simplified) text, which need no word segmentation; for English, words and word bigrams. The
model of each language is trained on the labelled corpus a package ships (see :mod:`.corpora`);
the fit starts from zero and has no random step, so it is reproducible, and a held-out split with
a fixed seed measures it (``benchmarks/sentiment.py``; numbers in the README).

``p_positive`` is the model's probability of the positive class; a comment is labelled
``positive`` at 0.65 or more, ``negative`` at 0.35 or less and ``neutral`` in between (the
corpora are two-class, so "neutral" means the model is unsure either way).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, sparse

from patronage.analytics.comments import corpora
from patronage.analytics.comments.text import _CJK, language_of, normalise

POSITIVE_AT = 0.65
NEGATIVE_AT = 0.35
_EN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")
_ZH_TOKEN = re.compile(r"[\u3400-\u9fff]|[a-z0-9]+|[!?]")


def features(text: str) -> set[str]:
    """The set of features of one comment (see the module docstring)."""
    text = normalise(text)
    if _CJK.search(text):
        tokens = _ZH_TOKEN.findall(text)
        joined = "".join
    else:
        tokens = _EN_TOKEN.findall(text)
        joined = " ".join
    grams = set(tokens)
    grams.update(joined(pair) for pair in zip(tokens, tokens[1:]))
    return grams


class LogisticSentiment:
    """Two-class L2 logistic regression on binary features (labels 0 negative, 1 positive).

    ``fit(texts, labels)`` then ``predict_proba(texts)`` (P(positive) per text) and ``predict``.
    ``matrix(texts)`` gives the binary document-feature matrix, for checking against another
    implementation on the same features. ``C`` is the inverse penalty, as in scikit-learn;
    ``tol`` bounds the gradient of the (scaled) objective at the end of the fit.
    """

    def __init__(self, C: float = 1.0, tol: float = 1e-5):
        self.C, self.tol = C, tol
        self.balanced = True

    def matrix(self, texts) -> sparse.csr_matrix:
        rows, cols = [], []
        for i, text in enumerate(texts):
            found = [self.vocabulary_[f] for f in features(text) if f in self.vocabulary_]
            rows.extend([i] * len(found))
            cols.extend(found)
        data = np.ones(len(rows))
        return sparse.csr_matrix((data, (rows, cols)), shape=(len(texts), len(self.vocabulary_)))

    def fit(self, texts, labels) -> LogisticSentiment:
        texts, labels = list(texts), np.asarray(labels, dtype=float)
        if set(np.unique(labels)) != {0.0, 1.0}:
            raise ValueError("sentiment labels must hold both 0 (negative) and 1 (positive)")
        vocabulary: dict[str, int] = {}
        for text in texts:
            for f in sorted(features(text)):
                vocabulary.setdefault(f, len(vocabulary))
        self.vocabulary_ = vocabulary
        self.coef_, self.intercept_ = fit_logistic(self.matrix(texts), labels, C=self.C,
                                                   tol=self.tol, balanced=self.balanced)
        return self

    def predict_proba(self, texts) -> np.ndarray:
        z = self.matrix(list(texts)) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))

    def predict(self, texts) -> np.ndarray:
        return (self.predict_proba(texts) >= 0.5).astype(int)


def fit_logistic(x: sparse.csr_matrix, y: np.ndarray, *, C: float = 1.0, tol: float = 1e-5,
                 balanced: bool = True) -> tuple[np.ndarray, float]:
    """``(coef, intercept)`` minimising ``C · Σ v_i logloss_i + ½‖coef‖²`` by L-BFGS.

    With ``balanced`` each class weighs the same in total (``v_i = n / (2 n_class)``, what
    scikit-learn calls ``class_weight="balanced"``), so a corpus with more negative than positive
    texts does not tilt every comment towards negative; else ``v_i = 1``.

    The objective is divided by ``C · n`` (the same minimum) so that ``tol`` on the gradient
    means the same for any corpus size.
    """
    m = x.shape[1]
    sign = 2 * y - 1
    scale = 1.0 / (C * len(y))
    counts = np.bincount(y.astype(int), minlength=2)
    v = len(y) / (2.0 * counts[y.astype(int)]) if balanced else np.ones(len(y))

    def loss(theta):
        w, b = theta[:m], theta[m]
        z = sign * (x @ w + b)
        value = C * (v * np.logaddexp(0, -z)).sum() + 0.5 * w @ w
        g = -C * v * sign * np.exp(-np.logaddexp(0, z))   # d/dmargin of C·v·log(1 + e^-z)
        return scale * value, scale * np.append(x.T @ g + w, g.sum())

    result = optimize.minimize(loss, np.zeros(m + 1), jac=True, method="L-BFGS-B",
                               options={"maxiter": 2000, "gtol": tol})
    return result.x[:m], float(result.x[m])


MODEL_VERSION = 2  # raise when the features or the fit change: cached models are then refitted


@functools.cache
def trained_model(language: str, cache_dir: Path | None = None) -> LogisticSentiment:
    """The model of ``language`` (``zh``/``en``) trained on its whole shipped corpus.

    Fitted once per process (10–20 s of CPU), never at import. With ``cache_dir`` the fitted
    model is kept there as ``.npz`` (no pickle) under a name holding a hash of the corpus and
    :data:`MODEL_VERSION`, and later processes load it in a fraction of a second.
    """
    data = corpora.corpus(language)
    digest = hashlib.sha256(f"{MODEL_VERSION}|{LogisticSentiment().C}".encode())
    for text, label in zip(data["text"], data["label"]):
        digest.update(f"{label}\t{text}\n".encode())
    path = (Path(cache_dir) / f"sentiment-{language}-{digest.hexdigest()[:16]}.npz"
            if cache_dir else None)
    if path is not None and path.exists():
        try:
            return _load(path)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is refitted and written again
    model = LogisticSentiment().fit(data["text"], data["label"])
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(partial, vocabulary=np.array(list(model.vocabulary_), dtype=str),
                     coef=model.coef_, intercept=np.array([model.intercept_]))
            os.replace(partial, path)
        except OSError:
            pass  # no cache where it cannot be written: the model is still used
    return model


def _load(path: Path) -> LogisticSentiment:
    with np.load(path, allow_pickle=False) as stored:
        model = LogisticSentiment()
        model.vocabulary_ = {f: i for i, f in enumerate(stored["vocabulary"].tolist())}
        model.coef_ = stored["coef"]
        model.intercept_ = float(stored["intercept"][0])
    if len(model.coef_) != len(model.vocabulary_):
        raise ValueError(f"damaged sentiment model cache {path}")
    return model


def label_of(p_positive: float) -> str:
    """``positive``, ``neutral`` or ``negative`` for a probability (see the module docstring)."""
    if np.isnan(p_positive):
        return "neutral"
    return ("positive" if p_positive >= POSITIVE_AT
            else "negative" if p_positive <= NEGATIVE_AT else "neutral")


def score_comments(texts: pd.Series, models=None, cache_dir: Path | None = None) -> pd.DataFrame:
    """Per comment: ``language``, ``p_positive`` and ``sentiment`` (its label), same index.

    ``models`` maps a language to a fitted model (default: :func:`trained_model`, kept in
    ``cache_dir`` when given).
    """
    texts = texts.fillna("").astype(str)
    language = texts.map(language_of)
    p = pd.Series(np.nan, index=texts.index)
    for lang, part in texts.groupby(language):
        model = (models or {}).get(lang) or trained_model(lang, cache_dir)
        p.loc[part.index] = model.predict_proba(part.tolist())
    return pd.DataFrame({"language": language, "p_positive": p,
                         "sentiment": p.map(label_of)}, index=texts.index)


def accuracy_and_macro_f1(truth, predicted) -> tuple[float, float]:
    """Accuracy and macro-averaged F1 (the unweighted mean of each class's F1) of labels."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    accuracy = float((truth == predicted).mean())
    f1s = []
    for c in np.unique(np.concatenate([truth, predicted])):
        tp = float(((truth == c) & (predicted == c)).sum())
        fp = float(((truth != c) & (predicted == c)).sum())
        fn = float(((truth == c) & (predicted != c)).sum())
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return accuracy, float(np.mean(f1s))
