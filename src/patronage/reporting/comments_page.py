"""What the comments page shows, in the reader's language: the sentiment mix, the themes with
their share, 95% interval and n, each theme's share per wave, and example comments linked to the
customers' profiles. Built from :mod:`patronage.satisfaction.comments`.

Found themes are named by their top words, in the language of their comments (for readers of
繁體中文 the Chinese ones in Traditional characters); edited themes by the name people gave. A
found theme whose words are not in the reader's language (English comments on a Chinese page) is
shown by its words, said to be those of comments in that language, never as if it were a name
in the interface's language.
Comment texts are passed on as they are: the template escapes them.
"""

from __future__ import annotations

from sqlalchemy import Engine

from patronage.analytics.comments import to_traditional
from patronage.messages import N_, translated
from patronage.reporting import formats
from patronage.satisfaction import comments as service
from patronage.satisfaction.sources import SEGMENT_COLUMNS

SENTIMENT_LABELS = {"positive": N_("Positive"), "neutral": N_("Neutral"),
                    "negative": N_("Negative")}
SEGMENT_LABELS = {"region": N_("Region"), "industry": N_("Industry"), "size": N_("Size"),
                  "channel": N_("Sales channel"), "tier": N_("Tier")}
EXAMPLES = 3
#: What the words of a found theme are when they are not in the reader's language.
WORDS_OF = {"en": N_("keywords of comments in English"),
            "zh": N_("keywords of comments in Chinese")}


def theme_name(keywords, language: str) -> str:
    """A theme's name from its words: ``设备、故障、维修`` (Traditional for zh_Hant) or
    ``price, fair, increase``."""
    words = list(keywords)
    chinese = any("\u3400" <= ch <= "\u9fff" for w in words for ch in w)
    if chinese and language == "zh_Hant":
        words = [to_traditional(w) for w in words]
    return ("、" if chinese else ", ").join(words)


def words_language(keywords) -> str:
    """``zh`` for a theme whose words are Chinese, else ``en``."""
    return "zh" if any("\u3400" <= ch <= "\u9fff" for w in keywords for ch in w) else "en"


def _choices(engine: Engine, survey: str | None, cases: bool) -> dict:
    """Waves and segment values to filter by (all of the survey's comments, or all cases)."""
    if cases:
        texts, groups = service.case_descriptions(engine)
        waves = []
    else:
        texts, groups = service.survey_comments(engine, survey)
        waves = list(dict.fromkeys(groups.dropna(subset=["wave"])["wave"]))
    segments = {c: sorted(groups[c].dropna().astype(str).unique()) for c in SEGMENT_COLUMNS
                if c in groups and groups[c].notna().any()}
    return {"waves": waves, "segments": segments, "total": len(texts)}


def _example(row, index) -> dict:
    pk = row.get("customer_pk")
    return {"id": index, "text": row["text"], "sentiment": row["sentiment"],
            "p_positive": row["p_positive"], "wave": row.get("wave"),
            "customer_id": row.get("customer_id"),
            "customer_pk": None if formats.is_missing(pk) else int(pk)}


def comments_page(engine: Engine, *, survey: str | None = None, wave: str | None = None,
                  segment: str | None = None, query: str | None = None, language: str = "en",
                  gettext=lambda s: s, cases: bool = False) -> dict:
    """The page's content (see the module docstring); ``problem`` says why there is none.
    With ``cases`` the case descriptions are analysed instead of the survey's comments."""
    try:
        choices = _choices(engine, survey, cases)
        if cases:
            result = service.analyse_case_descriptions(engine, segment=segment, query=query)
        else:
            result = service.analyse_survey_comments(engine, survey, wave=wave,
                                                     segment=segment, query=query)
    except ValueError as exc:
        return {"problem": translated(exc, gettext), "themes": [], "sentiment": [], "n": 0,
                "waves": [], "segments": {}, "by_wave": None}
    themes = []
    for row in result.themes.itertuples():
        examples = result.examples(row.theme, EXAMPLES)
        found = row.theme == "/".join(row.keywords)
        words = words_language(row.keywords)
        themes.append({
            "key": row.theme, "n": int(row.n), "pinned": not found,
            "name": theme_name(row.keywords, language) if found else row.theme,
            "words": words if found else None,
            "words_label": (gettext(WORDS_OF[words]) if found and words != language[:2]
                            else None),
            "share": row.share, "ci_low": row.ci_low, "ci_high": row.ci_high,
            "positive": int(row.positive), "neutral": int(row.neutral),
            "negative": int(row.negative),
            "examples": [_example(r, i) for i, r in examples.iterrows()],
        })
    # Themes named in the reader's language first, then those known only by foreign words.
    themes.sort(key=lambda theme: theme["words_label"] is not None)
    unthemed = result.comments[result.comments["theme"].isna()]
    by_wave = None
    if not wave and not cases and len(choices["waves"]) > 1:
        table = result.by_group("wave")
        by_wave = {"waves": [w for w in choices["waves"] if w in set(table["wave"])],
                   "n": table.groupby("wave")["group_n"].first().to_dict(),
                   "cells": {(r.theme, r.wave): (r.share, int(r.n))
                             for r in table.itertuples()}}
    return {
        "problem": None, "n": result.n, "themes": themes,
        "sentiment": [dict(r._asdict()) for r in result.sentiment.itertuples(index=False)],
        "unthemed": len(unthemed),
        "by_wave": by_wave, **choices,
    }


def segment_label(column: str) -> str:
    """The message naming a segment column (``region`` → Region)."""
    return SEGMENT_LABELS.get(column, column)


