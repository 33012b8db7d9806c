"""Issue 16: bootstrap intervals of the key drivers and the PLS path model on every engine by
the Poisson bootstrap (Hanley & MacGibbon 2006, "Creating non-parametric bootstrap samples
using Poisson frequencies", Comput. Methods Programs Biomed. 83:57-62; Chamandy, Muralidharan,
Najmi & Naidu 2012, "Estimating uncertainty for massive data streams", Google): each response
enters replicate b with a Poisson(1) count drawn by an integer hash of its id, b and the seed.

- The hash's residues are uniform (mean, variance, chi-square on 1e5 draws) and its counts
  Poisson(1) (chi-square) without correlation between neighbouring ids or replicates.
- SQLite, PostgreSQL, DuckDB (and Spark, in test_engines_spark_surveys.py) draw exactly the
  counts numpy draws, and their intervals equal a numpy computation with those counts on the
  same responses to 1e-8 relative.
- On a simulated sample of 3,000 rows the Poisson bootstrap's intervals and standard errors
  agree with the plain (multinomial) bootstrap's of the in-process analyses within their
  Monte-Carlo error (tolerances in the tests).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from patronage.analytics import PLSPathModel, driver_importance, driver_importance_from_moments
from patronage.analytics.moments import moments_of
from patronage.analytics.poisson_bootstrap import (
    MAX_COUNT,
    MODULUS,
    poisson_counts,
    poisson_hash,
    replicate_moments,
)
from patronage.cli import main
from patronage.engines import survey_models
from patronage.engines.bootstrap import _replicate_numbers, poisson_count_sql
from patronage.engines.database import DatabaseEngine
from patronage.engines.duckdb import DuckDBEngine
from patronage.index_system import load_index_system
from patronage.satisfaction import methods, survey_data_from_db
from patronage.satisfaction.methods import index_path_structure, pls_output
from patronage.storage.engine import make_engine
from patronage.storage.reads import read_responses

N_DRAWS = 100_000


# ------------------------------------------------------------------------------ the hash
def test_the_hash_residues_are_uniform_over_ids_and_over_replicates():
    over_ids = poisson_hash(np.arange(1, N_DRAWS + 1), [1], seed=0)[0]
    over_replicates = poisson_hash(np.arange(1, 11), np.arange(1, 10_001), seed=3).ravel()
    for h in (over_ids, over_replicates):
        u = h / MODULUS
        assert len(u) == N_DRAWS and (h >= 0).all() and (h < MODULUS).all()
        # U(0, 1): mean 1/2 (sd sqrt(1/12 / N)), variance 1/12 (sd sqrt((1/80 - 1/144) / N)).
        assert abs(u.mean() - 0.5) < 4 * math.sqrt(1 / 12 / N_DRAWS)
        assert abs(u.var() - 1 / 12) < 4 * math.sqrt((1 / 80 - 1 / 144) / N_DRAWS)
        counts = np.bincount((u * 100).astype(int), minlength=100)
        assert stats.chisquare(counts).pvalue > 1e-3


def test_the_counts_are_poisson_and_independent_of_neighbours():
    k = poisson_counts(np.arange(1, 1001), np.arange(1, 101), seed=0)  # 1e5 counts
    pmf = stats.poisson(1).pmf(np.arange(MAX_COUNT + 1))
    pmf[-1] += stats.poisson(1).sf(MAX_COUNT)  # the truncated tail
    observed = np.bincount(k.ravel(), minlength=MAX_COUNT + 1)
    top = 5  # pool 5..8 so that every expected count is above 5
    expected = np.append(pmf[:top], pmf[top:].sum()) * k.size
    pooled = np.append(observed[:top], observed[top:].sum())
    assert stats.chisquare(pooled, expected).pvalue > 1e-3
    bound = 4 / math.sqrt(k.size)
    assert abs(np.corrcoef(k[:, :-1].ravel(), k[:, 1:].ravel())[0, 1]) < bound  # ids
    assert abs(np.corrcoef(k[:-1].ravel(), k[1:].ravel())[0, 1]) < bound  # replicates
    other = poisson_counts(np.arange(1, 1001), np.arange(1, 101), seed=1)
    assert abs(np.corrcoef(k.ravel(), other.ravel())[0, 1]) < bound  # seeds


IDS = [1, 2, 3, 97, 2147483578, 2147483579, 2147483580, 10**12 + 7, 2**40, 2**62, -5]


def _engine_counts(engine, seed: int) -> np.ndarray:
    """The counts the engine draws for :data:`IDS` in replicates 1..30."""
    engine.materialise("ids", " UNION ALL ".join(
        f"SELECT CAST({i} AS BIGINT) AS id" for i in IDS))
    _replicate_numbers(engine, 30)
    drawn = poisson_count_sql("SELECT i.id, t.b FROM ids i CROSS JOIN replicates t", ["id"],
                              seed)
    rows = engine.rows(f"SELECT id, b, k FROM ({drawn}) x")
    out = np.full((30, len(IDS)), -1)
    for i, b, k in rows:
        out[int(b) - 1, IDS.index(int(i))] = int(k)
    return out


@pytest.mark.db
@pytest.mark.parametrize("seed", [0, 12345])
def test_duckdb_draws_the_numpy_counts(demo, seed):
    with DuckDBEngine(demo[1]) as duck:
        assert (_engine_counts(duck, seed) == poisson_counts(IDS, np.arange(1, 31), seed)).all()


@pytest.mark.db
def test_the_database_draws_the_numpy_counts(engine):
    with DatabaseEngine(engine) as database:
        for seed in (0, 12345):
            expected = poisson_counts(IDS, np.arange(1, 31), seed)
            assert (_engine_counts(database, seed) == expected).all()
            assert expected.min() == 0 and expected.max() >= 3


# ------------------------------------------------------- the engines against numpy
@pytest.fixture(scope="module")
def demo(demo_export):
    """The demo company's database, its export and an engine on the database."""
    url, folder, _ = demo_export
    engine = make_engine(url)
    yield url, folder, engine
    engine.dispose()


def _reference(engine, data, frame: pd.DataFrame, n_boot: int, seed: int):
    """The full and replicate moments of the complete rows of ``frame`` (indexed by the
    responses' ids of ``survey_data_from_db``) in numpy, with the counts of the ids in the
    database."""
    pk = read_responses(engine).set_index("response_id")["response_pk"]
    w = data.weights.reindex(frame.index).to_numpy(dtype=float)
    keep = frame.notna().all(axis=1).to_numpy() & (w > 0)
    part = frame[keep]
    ids = pk.reindex(part.index).to_numpy(dtype=np.int64)
    reps = replicate_moments(part.to_numpy(dtype=float), w[keep], ids, n_boot, seed,
                             columns=list(part.columns))
    return moments_of(part, w[keep]), reps


def _engines(demo):
    yield DatabaseEngine(demo[2])
    yield DuckDBEngine(demo[1])


@pytest.mark.db
@pytest.mark.parametrize("options", [
    {}, {"level": "item"},
    {"method": "shapley", "target": "nps", "predictors": ["overall_satisfaction", "trust",
                                                          "repurchase_intent"]}])
def test_engine_driver_intervals_equal_numpy_with_the_same_counts(demo, options):
    engine = demo[2]
    data = survey_data_from_db(engine)
    system = load_index_system()
    target = options.get("target", "overall_satisfaction")
    for compute_on in _engines(demo):
        with compute_on:
            ours = survey_models.drivers_table(compute_on, n_boot=40, random_state=5, **options)
        if options.get("level") == "item" or "predictors" in options:
            X = data.answers[list(ours.index)]
        else:
            X = data.scores(system.items)[list(ours.index)]
        full, reps = _reference(engine, data, pd.concat([X, data.answers[target]], axis=1), 40, 5)
        theirs = driver_importance_from_moments(full, target, replicates=reps,
                                                method=options.get("method",
                                                                   "relative_weights"))
        assert ours["lower"].notna().all() and (ours["lower"] < ours["upper"]).all()
        assert ours.attrs["interval"] == "Poisson bootstrap" and ours.attrs["n_boot"] == 40
        pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-8, atol=1e-12)
        # The estimates are the in-process analysis'.
        plain = methods.drivers_table(data, n_boot=0, **options)
        pd.testing.assert_series_equal(ours["importance"], plain["importance"],
                                       check_exact=False, rtol=1e-8)


@pytest.mark.db
@pytest.mark.parametrize("show", ["paths", "loadings"])
def test_engine_pls_intervals_equal_numpy_with_the_same_counts(demo, show):
    engine = demo[2]
    data = survey_data_from_db(engine)
    inner, outer = index_path_structure(data.answers.columns, load_index_system())
    indicators = list(dict.fromkeys(c for codes in outer.values() for c in codes))
    full, reps = _reference(engine, data, data.answers[indicators], 30, 0)
    theirs = pls_output(PLSPathModel(inner, outer).fit_moments(full, replicates=reps), show, 30)
    for compute_on in _engines(demo):
        with compute_on:
            ours = survey_models.pls_table(compute_on, show=show, n_boot=30)
        assert list(ours.columns) == ["original", "mean", "se", "lower", "upper", "n"]
        assert ours["se"].gt(0).all()
        pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-8, atol=1e-12)


def _command(*args: str) -> pd.DataFrame:
    result = CliRunner().invoke(main, ["analyze", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return pd.DataFrame(data["rows"] if isinstance(data, dict) else data)


@pytest.mark.db
@pytest.mark.parametrize("command", [["drivers"], ["pls", "--show", "loadings"]])
def test_the_commands_give_intervals_on_every_engine(demo, command):
    url, folder, _ = demo
    on_duckdb = _command(*command, "--engine", "duckdb", "--source", f"parquet:{folder}",
                         "--bootstrap", "25")
    on_database = _command(*command, "--engine", "database", "--db", url, "--bootstrap", "25")
    assert on_duckdb[["lower", "upper"]].notna().all().all()
    pd.testing.assert_frame_equal(on_duckdb, on_database, check_exact=False, rtol=1e-8,
                                  atol=1e-12)
    in_process = _command(*command, "--db", url, "--bootstrap", "25")  # the plain bootstrap
    assert list(in_process.columns) == list(on_duckdb.columns)


@pytest.mark.db
def test_too_many_resamples_on_an_engine_are_refused(demo):
    result = CliRunner().invoke(main, ["analyze", "drivers", "--engine", "duckdb", "--source",
                                       f"parquet:{demo[1]}", "--bootstrap", "20000"])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert "At most 10000 bootstrap resamples" in result.output


# ------------------------------------------ the Poisson bootstrap against the plain one
def _sample(n: int = 3000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 1))
    X = latent * [0.6, 0.5, 0.4, 0.3] + rng.normal(size=(n, 4)) * [0.8, 0.9, 1.0, 1.1]
    y = X @ [0.5, 0.3, 0.2, 0.1] + rng.normal(scale=1.0, size=n)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    return frame.assign(w=rng.uniform(0.5, 2.0, size=n))


def test_poisson_driver_intervals_agree_with_the_plain_bootstrap():
    """A percentile bound from B replicates has the Monte-Carlo sd
    sqrt(a (1 - a) / B) / f(q_a) (Efron & Tibshirani 1993, ch. 19), 2.67 s / sqrt(B) for
    a = 0.025 and a normal replicate distribution of sd s (s = width / 3.92); the two
    bootstraps' bounds are independent, so they differ by 3.78 s / sqrt(B) in sd, and by O(1/n)
    in expectation. Tolerance: 4 of these sds."""
    frame, n_boot = _sample(), 2000
    X, y, w = frame[["a", "b", "c", "d"]], frame["y"], frame["w"].to_numpy()
    plain = driver_importance(X, y, n_boot=n_boot, random_state=1, sample_weight=w)
    assert plain.attrs["interval"] == "bootstrap"
    values = frame[["a", "b", "c", "d", "y"]]
    ids = np.arange(1, len(frame) + 1)
    reps = replicate_moments(values.to_numpy(), w, ids, n_boot, seed=2,
                             columns=list(values.columns))
    poisson = driver_importance_from_moments(moments_of(values, w), "y", replicates=reps)
    s = (plain["upper"] - plain["lower"]) / 3.92
    tolerance = 4 * 3.78 * s / math.sqrt(n_boot)
    for bound in ("lower", "upper"):
        assert ((poisson[bound] - plain[bound]).abs() < tolerance).all(), bound
    # The check has power: bounds too narrow by 1/sqrt(2) (Poisson(2) counts) fail it.
    narrow = poisson["importance"] + (poisson["lower"] - poisson["importance"]) / math.sqrt(2)
    assert not ((narrow - plain["lower"]).abs() < tolerance).all()


def test_poisson_pls_standard_errors_agree_with_the_plain_bootstrap():
    """The standard error from B replicates has a relative Monte-Carlo sd of about
    1 / sqrt(2 (B - 1)) (Efron & Tibshirani 1993, ch. 19.3), so two independent ones differ
    by 1 / sqrt(B) relative in sd: tolerance 4 / sqrt(B), and half the bound's (see above)."""
    frame, n_boot = _sample(), 1000
    data = frame.rename(columns={"a": "x1", "b": "x2", "c": "z1", "d": "z2"})
    inner, outer = {"Y": ["X", "Z"]}, {"X": ["x1", "x2"], "Z": ["z1", "z2"], "Y": ["y"]}
    indicators = ["x1", "x2", "z1", "z2", "y"]
    w = frame["w"].to_numpy()
    plain = PLSPathModel(inner, outer, n_boot=n_boot, random_state=3).fit(
        data[indicators], sample_weight=w).bootstrap_
    reps = replicate_moments(data[indicators].to_numpy(), w, np.arange(1, len(data) + 1),
                             n_boot, seed=4, columns=indicators)
    poisson = PLSPathModel(inner, outer).fit_moments(moments_of(data[indicators], w),
                                                     replicates=reps).bootstrap_
    assert (poisson.index == plain.index).all()
    varying = plain["se"] > 1e-9  # a single-indicator block's loading and weight are 1
    ratio = poisson["se"][varying] / plain["se"][varying]
    assert varying.sum() >= 8 and (ratio - 1).abs().max() < 4 / math.sqrt(n_boot)
    s = plain["se"][varying]
    tolerance = 4 * 3.78 * s / math.sqrt(n_boot)
    for bound in ("lower", "upper"):
        assert ((poisson[bound] - plain[bound])[varying].abs() < tolerance).all(), bound
