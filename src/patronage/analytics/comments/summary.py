"""Comment analysis put together: sentiment and theme per comment, shares with intervals, counts
by group and examples.

A theme's share is the proportion of the analysed comments that belong to it, with the Wilson
score interval (Wilson 1927, JASA 22:209–212; :func:`patronage.analytics.ratings.wilson_interval`);
the sentiment mix likewise. Counts by group cross themes with a grouping column (wave, region …)
and give each theme's share of that group's comments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from patronage.analytics.comments.sentiment import score_comments
from patronage.analytics.comments.text import search
from patronage.analytics.comments.themes import DEFAULT_SEED, find_themes
from patronage.analytics.ratings import wilson_interval

SENTIMENTS = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class CommentAnalysis:
    """``comments``: one row per comment (``text``, ``language``, ``p_positive``,
    ``sentiment``, ``theme``, ``theme_weight`` and the given group columns); ``themes``: one row
    per theme (``theme``, ``keywords``, ``n``, ``share``, ``ci_low``, ``ci_high``,
    ``positive``, ``negative``), largest first; ``sentiment``: the mix (``sentiment``, ``n``,
    ``share``, ``ci_low``, ``ci_high``); ``n``: comments analysed."""

    comments: pd.DataFrame
    themes: pd.DataFrame
    sentiment: pd.DataFrame
    n: int

    def by_group(self, column: str) -> pd.DataFrame:
        """Per group of ``column`` and theme: ``n`` comments of the theme, ``group_n`` comments
        of the group and ``share`` of the group's comments, groups in order of appearance."""
        frame = self.comments.dropna(subset=["theme"])
        if column not in self.comments.columns:
            raise ValueError(f"no column {column!r} to group comments by")
        group_n = self.comments.groupby(column, sort=False, dropna=False).size()
        counts = frame.groupby([column, "theme"], sort=False, dropna=False).size()
        out = counts.rename("n").reset_index()
        out["group_n"] = out[column].map(group_n).to_numpy()
        out["share"] = out["n"] / out["group_n"]
        return out

    def examples(self, theme: str, k: int = 3) -> pd.DataFrame:
        """Up to ``k`` comments of ``theme``, the closest to it first (distinct texts)."""
        rows = self.comments[self.comments["theme"] == theme]
        rows = rows.sort_values("theme_weight", ascending=False, kind="stable")
        return rows.drop_duplicates(subset="text").head(k)


def _share_rows(counts: pd.Series, n: int) -> pd.DataFrame:
    out = counts.rename("n").rename_axis(None).to_frame()
    out["share"] = out["n"] / n if n else np.nan
    bounds = [wilson_interval(s, n) for s in out["share"]]
    out["ci_low"] = [b[0] for b in bounds]
    out["ci_high"] = [b[1] for b in bounds]
    return out


def analyse_comments(texts: pd.Series, groups: pd.DataFrame | None = None, *,
                     query: str | None = None, n_themes: int = 8, seed: int = DEFAULT_SEED,
                     pinned: dict[str, list[str]] | None = None,
                     models=None, cache_dir=None) -> CommentAnalysis:
    """Sentiment, themes and their shares of the non-empty ``texts`` (any index).

    ``groups``: columns on the same index (wave, region …) kept per comment for
    :meth:`CommentAnalysis.by_group`. ``query``: only comments matching it
    (:func:`.text.search`). ``pinned``: theme name → keywords (see :mod:`.themes`).
    ``models``/``cache_dir``: see :func:`.sentiment.score_comments`.
    """
    texts = texts.dropna().astype(str)
    texts = texts[texts.str.strip() != ""]
    if query:
        texts = texts[search(texts, query)]
    scored = score_comments(texts, models, cache_dir)
    found = find_themes(texts, n_themes=n_themes, seed=seed, pinned=pinned)
    comments = pd.DataFrame({"text": texts}).join(scored)
    comments["theme"] = found.assignment
    comments["theme_weight"] = found.weight
    if groups is not None:
        comments = comments.join(groups[[c for c in groups.columns if c not in comments]])
    n = len(comments)
    counts = comments["theme"].value_counts(sort=False)
    themes = _share_rows(counts, n)
    tone = comments.groupby(["theme", "sentiment"]).size().unstack(fill_value=0)
    for s in SENTIMENTS:
        themes[s] = tone[s].reindex(themes.index).fillna(0).astype(int) if s in tone else 0
    themes["keywords"] = [found.keywords.get(t, []) for t in themes.index]
    themes = (themes.rename_axis("theme").reset_index()
              .sort_values(["n", "theme"], ascending=[False, True], kind="stable")
              .reset_index(drop=True))
    mix = comments["sentiment"].value_counts().reindex(list(SENTIMENTS), fill_value=0)
    sentiment = _share_rows(mix, n).rename_axis("sentiment").reset_index()
    return CommentAnalysis(comments=comments, themes=themes, sentiment=sentiment, n=n)
