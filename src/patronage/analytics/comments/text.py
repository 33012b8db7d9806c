"""Comment text: normalising, language, words and search, for Chinese and English alike.

Matching happens on a normal form: Unicode NFKC (full-width letters, digits and punctuation become
their half-width forms, so ``ＡＢＣ１２３`` matches ``abc123``), case folded, and Traditional
characters converted to Simplified with OpenCC's ``t2s`` table, so ``設備`` and ``设备`` are the same
word. Chinese is written without spaces: a Chinese query is matched as a substring of the
normalised comment (no word segmentation can then hide a match), and words for themes come from
jieba's dictionary segmentation. OpenCC and jieba load their dictionaries on first use, never at
import time.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import pandas as pd

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPACE = re.compile(r"\s+")
_SPACE_NEXT_TO_CJK = re.compile(r"(?<=[\u3400-\u9fff])\s+|\s+(?=[\u3400-\u9fff])")
_EN_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
_WORD_CHARS = re.compile(r"^[\u3400-\u9fffa-z0-9][\u3400-\u9fffa-z0-9'-]*$")

# Function words that say nothing about a theme. Chinese words of one character are dropped
# anyway (see ``words``), so only longer ones are listed.
STOPWORDS_EN = frozenset("""
a about above after again all also am an and any are as at be been being but by can could did do
does doing down during each even ever every few for from further get got had has have having he her
here him his how i if in into is it its just me more most much my no nor not now of off on once
only or other our ours out over own same she should so some such than that the their them then
there these they this those through to too under until up us very was we were what when where
which while who whom why will with would you your yours really still always never one ones thing
things lot lots quite many make made
""".split())
STOPWORDS_ZH = frozenset("""
我们 你们 他们 她们 它们 我的 你的 自己 这个 那个 这些 那些 这样 那样 这里 那里 这次 那次 一个
一些 一下 一直 一点 有点 有些 非常 比较 还是 但是 可是 不过 而且 然后 因为 所以 如果 虽然 就是
还有 已经 总是 真的 觉得 感觉 希望 可以 不是 没有 什么 怎么 为什么 时候 现在 以前 以后 目前 之前
之后 贵公司 公司 其他 东西 问题 方面 情况 一样 很多 特别 实在 确实 比如 而且 并且 或者 以及
""".split())


@functools.cache
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


@functools.cache
def _segmenter():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def has_chinese(text: str) -> bool:
    """Whether ``text`` holds a Chinese character (the comment is then taken as Chinese)."""
    return bool(_CJK.search(text or ""))


def language_of(text: str) -> str:
    """``zh`` for a comment with Chinese characters, else ``en``."""
    return "zh" if has_chinese(text) else "en"


def normalise(text: str) -> str:
    """The matching form of ``text``: NFKC, case folded, Traditional → Simplified, one space
    between words and none next to a Chinese character."""
    text = unicodedata.normalize("NFKC", str(text or "")).casefold()
    if has_chinese(text):
        text = _converter("t2s").convert(text)
        text = _SPACE_NEXT_TO_CJK.sub("", text)
    return _SPACE.sub(" ", text).strip()


def to_traditional(text: str) -> str:
    """``text`` in Traditional characters (OpenCC ``s2t``), for readers of 繁體中文."""
    return _converter("s2t").convert(text) if has_chinese(text) else text


def words(text: str) -> list[str]:
    """Content words of a comment, normalised: jieba's segmentation for Chinese (words of two or
    more characters), letters-only words of three or more for English; stop words dropped."""
    text = normalise(text)
    if has_chinese(text):
        out = []
        for token in _segmenter().lcut(text):
            token = token.strip()
            if not token or not _WORD_CHARS.match(token) or token in STOPWORDS_ZH:
                continue
            if has_chinese(token) and len(token) < 2:
                continue
            if not has_chinese(token) and (len(token) < 3 or token in STOPWORDS_EN
                                           or token.isdigit()):
                continue
            out.append(token)
        return out
    return [w for w in _EN_WORD.findall(text) if len(w) >= 3 and w not in STOPWORDS_EN]


def search(texts: pd.Series, query: str) -> pd.Series:
    """Boolean mask of the comments matching every term of ``query``.

    Terms are separated by spaces (``设备 交货``: both must appear); a term matches a substring of
    the normalised comment, so a Traditional query finds Simplified text and back, full-width
    letters match half-width ones, and Chinese needs no spaces.
    """
    terms = [normalise(t) for t in unicodedata.normalize("NFKC", query or "").split()]
    terms = [t for t in terms if t]
    normal = texts.fillna("").astype(str).map(normalise)
    mask = pd.Series(True, index=texts.index)
    for term in terms:
        mask &= normal.str.contains(term, regex=False)
    return mask
