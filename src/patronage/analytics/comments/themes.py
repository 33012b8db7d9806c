"""Themes of comments found from the data: TF-IDF weighted words factorised by NMF.

Method: each comment becomes its content words (:func:`.text.words`: jieba segmentation for
Chinese, after Traditional → Simplified conversion, so both scripts share one vocabulary). Words in
at least ``min_df`` comments are weighted by TF-IDF with the smoothed idf ``ln((1+n)/(1+df)) + 1``
and each comment's vector scaled to unit length (Salton & Buckley 1988, "Term-weighting approaches
in automatic text retrieval"). The comment-word matrix ``V`` is factorised as ``W H`` with
non-negative ``W`` (comments × themes) and ``H`` (themes × words) by the multiplicative updates
of Lee & Seung (2001, "Algorithms for non-negative matrix factorization", NIPS 13) for the
Frobenius norm, from a random start drawn with a fixed ``seed``, so the same comments always give
the same themes. Chinese and English comments are factorised apart (``n_themes`` each), so a
theme's words are in its comments' language. A theme is named by its top words; a comment belongs
to the theme of its largest weight in ``W`` when it shares that theme's words (cosine of at least
``MIN_COSINE``), else to none.

Editing: ``pinned`` maps a theme's name to keywords; a comment holding one of them belongs to that
theme whatever the factorisation says, and only the other comments are factorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from patronage.analytics.comments.text import language_of, normalise, words

DEFAULT_SEED = 20261205
MIN_COSINE = 0.2


def tfidf(docs: list[list[str]], *, min_df: int = 2,
          max_df: float = 0.9) -> tuple[sparse.csr_matrix, list[str]]:
    """Unit-length TF-IDF rows of ``docs`` (lists of words) and the vocabulary, sorted."""
    df: dict[str, int] = {}
    for doc in docs:
        for w in set(doc):
            df[w] = df.get(w, 0) + 1
    n = len(docs)
    vocabulary = sorted(w for w, k in df.items() if k >= min_df and k <= max_df * n)
    index = {w: i for i, w in enumerate(vocabulary)}
    rows, cols, data = [], [], []
    for i, doc in enumerate(docs):
        counts: dict[int, int] = {}
        for w in doc:
            if w in index:
                counts[index[w]] = counts.get(index[w], 0) + 1
        rows.extend([i] * len(counts))
        cols.extend(counts)
        data.extend(counts.values())
    tf = sparse.csr_matrix((np.asarray(data, float), (rows, cols)), shape=(n, len(vocabulary)))
    idf = np.log((1 + n) / (1 + np.array([df[w] for w in vocabulary], float))) + 1
    weighted = tf @ sparse.diags(idf)
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1 / norms) @ weighted), vocabulary


def nmf(v, k: int, *, seed: int = DEFAULT_SEED, iterations: int = 400,
        w0=None, h0=None) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative ``W`` (n × k) and ``H`` (k × m) with ``V ≈ W H`` (Lee & Seung 2001,
    multiplicative updates for the Frobenius norm). The start is uniform random scaled by
    ``sqrt(mean(V) / k)`` from ``seed`` unless ``w0``/``h0`` are given."""
    v = sparse.csr_matrix(v)
    n, m = v.shape
    rng = np.random.default_rng(seed)
    scale = np.sqrt(v.mean() / k) if v.nnz else 1.0
    w = np.array(w0, float) if w0 is not None else scale * rng.random((n, k))
    h = np.array(h0, float) if h0 is not None else scale * rng.random((k, m))
    tiny = np.finfo(float).eps
    for _ in range(iterations):
        w *= (v @ h.T) / np.maximum(w @ (h @ h.T), tiny)
        h *= (v.T @ w).T / np.maximum(w.T @ w @ h, tiny)
    return w, h


@dataclass(frozen=True)
class Themes:
    """``assignment``: per comment (the input's index) its theme key or None, and ``weight``
    (its share of the comment's theme weights); ``keywords``: theme key → top words."""

    assignment: pd.Series
    weight: pd.Series
    keywords: dict[str, list[str]]


def find_themes(texts: pd.Series, *, n_themes: int = 8, seed: int = DEFAULT_SEED,
                top_words: int = 3, pinned: dict[str, list[str]] | None = None,
                min_df: int = 2) -> Themes:
    """Themes of ``texts`` (see the module docstring). A found theme's key is its top words
    joined by ``/``; a pinned theme's key is its given name."""
    texts = texts.fillna("").astype(str)
    assignment = pd.Series(None, index=texts.index, dtype=object)
    weight = pd.Series(np.nan, index=texts.index)
    keywords: dict[str, list[str]] = {}
    normal = texts.map(normalise)
    free = pd.Series(True, index=texts.index)
    for name, keys in (pinned or {}).items():
        keys = list(dict.fromkeys(normalise(k) for k in keys if normalise(k)))
        hit = free & normal.map(lambda t, keys=keys: any(k in t for k in keys))
        assignment[hit], weight[hit] = name, 1.0
        keywords[name] = keys
        free &= ~hit
    for _, rest in texts[free].groupby(texts[free].map(language_of)):
        _factorise(rest, n_themes, seed, top_words, min_df, assignment, weight, keywords)
    return Themes(assignment=assignment, weight=weight, keywords=keywords)


def _factorise(rest, n_themes, seed, top_words, min_df, assignment, weight, keywords):
    """Themes of the comments ``rest`` (one language), written into the other arguments."""
    if len(rest) < 2:
        return
    v, vocabulary = tfidf([words(t) for t in rest], min_df=min(min_df, len(rest)))
    k = min(n_themes, *v.shape) if v.shape[1] else 0
    if k < 1:
        return
    w, h = nmf(v, k, seed=seed)
    keys, by_words = [], {}
    for row in h:
        top = [vocabulary[j] for j in np.argsort(-row, kind="stable")[:top_words] if row[j] > 0]
        # Two factors with the same top words are one theme (its first order of the words).
        keys.append(by_words.setdefault(frozenset(top), "/".join(top)))
        keywords.setdefault(keys[-1], top)
    best = w.argmax(axis=1)
    # A comment belongs to its strongest theme only when it shares that theme's words: the
    # cosine between its TF-IDF row and the theme's word profile is at least MIN_COSINE.
    profile = h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), np.finfo(float).eps)
    cosine = np.asarray((v @ profile.T)[np.arange(len(best)), best]).ravel()
    has = (w.sum(axis=1) > 0) & (cosine >= MIN_COSINE)
    assignment[rest.index[has]] = [keys[j] for j in best[has]]
    weight[rest.index[has]] = cosine[has]
