"""Comment analytics in Chinese (Simplified and Traditional) and English, offline.

- :mod:`.text`: the matching form of a comment, its words, search;
- :mod:`.corpora`: the labelled sentiment corpora that installed packages ship;
- :mod:`.sentiment`: logistic-regression sentiment per comment, trained on those corpora;
- :mod:`.themes`: themes found by TF-IDF and NMF with a fixed seed, editable by pinned keywords;
- :mod:`.summary`: everything per comment, theme shares with Wilson intervals, counts by group.

Segmentation (jieba) and script conversion (OpenCC) load on first use, never at import.
"""

from patronage.analytics.comments.sentiment import LogisticSentiment, score_comments
from patronage.analytics.comments.summary import CommentAnalysis, analyse_comments
from patronage.analytics.comments.text import normalise, search, to_traditional, words
from patronage.analytics.comments.themes import find_themes

__all__ = ["CommentAnalysis", "LogisticSentiment", "analyse_comments", "find_themes",
           "normalise", "score_comments", "search", "to_traditional", "words"]
