"""PLS path modelling (Wold / Lohmöller) as a scikit-learn style estimator.

References
----------
* Wold, H. (1982). Soft modeling: the basic design and some extensions. In *Systems under
  indirect observation*, part II, 1-54.
* Lohmöller, J.-B. (1989). *Latent variable path modeling with partial least squares*.
* Tenenhaus, M., Esposito Vinzi, V., Chatelin, Y.-M. & Lauro, C. (2005). PLS path modeling.
  *Computational Statistics & Data Analysis* 48, 159-205 (equation numbers below refer to it).
* Fornell, C., Johnson, M. D., Anderson, E. W., Cha, J. & Bryant, B. E. (1996). The American
  Customer Satisfaction Index. *Journal of Marketing* 60(4), 7-18 (the 0-100 index).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from patronage.analytics.moments import Moments
from patronage.analytics.pls._core import Estimate, estimate_batch
from patronage.analytics.pls._data import complete_rows, indicator_arrays, stream_moments
from patronage.analytics.pls._spec import ModelSpec, build_spec
from patronage.analytics.pls.bootstrap import bootstrap_table, replicate_table

__all__ = ["ConvergenceWarning", "PLSPathModel"]

MIN_ROWS = 10


class ConvergenceWarning(UserWarning):
    """The PLS iteration did not converge within ``max_iter`` steps."""


class PLSPathModel:
    """Partial least squares path model with standardised latent variables.

    Parameters
    ----------
    inner : dict
        Endogenous latent variable -> list of its predecessors (the structural model). Must be
        acyclic (recursive), and every LV must be connected.
    outer : dict
        Latent variable -> list of indicator column names (the measurement model).
    modes : dict, optional
        LV -> ``"A"`` (reflective, correlation weights, eq. 9; the default) or ``"B"``
        (formative, regression weights, eq. 10).
    scheme : {"path", "centroid", "factorial"}
        Inner weighting scheme (Tenenhaus et al. 2005, §2.2.2).
    scaled : bool
        Standardise each indicator (mean 0, population variance 1) before estimation. With
        ``False`` indicators are only centred and weights refer to the raw scale.
    tol, max_iter : float, int
        Stop when the largest change of an absolute outer weight is below ``tol``. If that
        does not happen in ``max_iter`` steps a :class:`ConvergenceWarning` is issued and
        ``converged_`` is False.
    n_boot, ci, random_state :
        Number of bootstrap resamples (0 = none), coverage of the percentile intervals and seed.
    weights_col : str, optional
        Column of ``X`` holding case weights (alternative to ``sample_weight``).

    Notes
    -----
    The algorithm only needs the indicator covariance matrix ``S`` (see ``_core``): ``fit``
    makes one O(N p^2) pass over the data and the iteration is independent of N. Rows with a
    missing value in any used indicator (or weight) are dropped (listwise deletion); fewer than
    10 remaining rows raise ``ValueError``. Sign: each LV is oriented so that most of its
    indicators correlate positively with it.

    Attributes
    ----------
    outer_weights_, loadings_, communality_, redundancy_ : Series indexed by (lv, indicator)
        Weights of the (standardised when ``scaled``) indicators giving unit-variance scores;
        loadings are corr(indicator, LV); communality = loading²; redundancy = communality x R².
    paths_, total_effects_ : DataFrame, rows = from LV, columns = to LV (0 where no effect)
    r2_ : Series of R² for the endogenous LVs.
    gof_ : float, sqrt(mean communality x mean R²) (Tenenhaus et al. 2005, §4.3), the mean
        communality taken over indicators of blocks with more than one indicator (as plspm).
    index_ : Series, 0-100 ACSI-style index of each LV (Fornell et al. 1996).
    lv_correlations_, n_iter_, converged_, n_samples_, scale_, bootstrap_ (when n_boot > 0).
    """

    def __init__(self, inner: dict, outer: dict, modes: dict | None = None, scheme: str = "path",
                 scaled: bool = True, tol: float = 1e-7, max_iter: int = 300, n_boot: int = 0,
                 ci: float = 0.95, random_state=None, weights_col=None) -> None:
        self.inner = inner
        self.outer = outer
        self.modes = modes
        self.scheme = scheme
        self.scaled = scaled
        self.tol = tol
        self.max_iter = max_iter
        self.n_boot = n_boot
        self.ci = ci
        self.random_state = random_state
        self.weights_col = weights_col

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> ModelSpec:
        if not (isinstance(self.tol, (int, float)) and self.tol > 0):
            raise ValueError(f"tol must be a positive number, got {self.tol!r}")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if not (isinstance(self.n_boot, (int, np.integer)) and self.n_boot >= 0):
            raise ValueError(f"n_boot must be a non-negative integer, got {self.n_boot!r}")
        if not 0 < self.ci < 1:
            raise ValueError(f"ci must be strictly between 0 and 1, got {self.ci!r}")
        return build_spec(self.inner, self.outer, self.modes, self.scheme)

    # --------------------------------------------------------------------- fit
    def fit(self, X: pd.DataFrame, sample_weight=None, scale: tuple[float, float] | None = None) -> PLSPathModel:
        """Estimate the model on ``X`` (one row per respondent).

        ``scale=(low, high)`` gives the answer-scale bounds used by ``index_`` (e.g. ``(1, 10)``);
        by default the smallest and largest value observed over all indicators.
        """
        spec = self._check_params()
        arrays, weights = indicator_arrays(X, spec.indicators, self.weights_col, sample_weight)
        mom = stream_moments(arrays, weights, MIN_ROWS)
        est = self._estimate(spec, mom.n, mom.mean, mom.cov, mom.low, mom.high, scale)
        if self.n_boot:
            values, case_weights = complete_rows(arrays, weights, mom.keep)
            self.bootstrap_, self.n_boot_failed_ = bootstrap_table(values, case_weights, spec, self, est)
            if self.n_boot_failed_:
                warnings.warn(f"{self.n_boot_failed_} of {self.n_boot} bootstrap resamples did not converge "
                              "and were left out", ConvergenceWarning, stacklevel=2)
        return self

    def fit_moments(self, moments: Moments, scale: tuple[float, float] | None = None,
                    replicates=None) -> PLSPathModel:
        """Estimate the model from the weighted moments of the indicators' complete rows
        (:class:`patronage.analytics.moments.Moments`, as an analysis engine computes them):
        the same estimates as :meth:`fit` on those rows, since the iteration needs only the
        covariance matrix. The ``n_boot`` bootstrap resamples the rows, so it needs :meth:`fit`;
        ``replicates`` (the moments of bootstrap replicates, e.g. the Poisson bootstrap's of
        :mod:`patronage.analytics.poisson_bootstrap`) give ``bootstrap_`` instead."""
        spec = self._check_params()
        if self.n_boot:
            raise ValueError("bootstrap intervals resample the responses, so they need the "
                             "case values: fit on the data (n_boot=0 for the moments)")
        ordered = moments.select(spec.indicators)
        if ordered.n < MIN_ROWS:
            raise ValueError(f"only {ordered.n} complete rows (no missing indicator); PLS needs "
                             f"at least {MIN_ROWS}")
        if not ordered.weight > 0:
            raise ValueError("case weights of the complete rows are all zero")
        est = self._estimate(spec, ordered.n, ordered.mean, ordered.cov, ordered.low,
                             ordered.high, scale)
        if replicates:
            covariances = np.stack([r.select(spec.indicators).cov for r in replicates])
            self.bootstrap_, self.n_boot_failed_ = replicate_table(covariances, spec, self, est)
            if self.n_boot_failed_:
                warnings.warn(f"{self.n_boot_failed_} of {len(replicates)} bootstrap replicates "
                              "did not converge and were left out", ConvergenceWarning,
                              stacklevel=2)
        return self

    def _estimate(self, spec: ModelSpec, n: int, mean: np.ndarray, cov: np.ndarray, low: float,
                  high: float, scale) -> Estimate:
        """Run the iteration on the covariance ``cov`` and store the results."""
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        constant = [c for c, s, m in zip(spec.indicators, sd, mean) if not s > 1e-12 * max(1.0, abs(m))]
        if constant:
            raise ValueError(f"indicator(s) {', '.join(map(repr, constant))} are constant; remove them")
        s = cov / np.outer(sd, sd) if self.scaled else cov
        est = estimate_batch(s[None], spec.structure, tol=self.tol, max_iter=self.max_iter)
        self._store(est, spec, n)
        indicators = pd.Index(spec.indicators, dtype=object, name="indicator")
        self.indicator_mean_ = pd.Series(mean, index=indicators, name="mean")
        self.indicator_sd_ = pd.Series(sd, index=indicators, name="sd")
        self.scale_ = self._scale(low, high, scale)
        self.index_ = self._index(spec)
        return est

    def _store(self, est: Estimate, spec: ModelSpec, n: int) -> None:
        # build every index once: pandas 3 infers a string dtype on each construction from a list
        lv_index = pd.Index(spec.lvs, dtype=object)
        codes = [spec.structure.block, np.arange(len(spec.indicators))]
        pairs = pd.MultiIndex(levels=[lv_index, pd.Index(spec.indicators, dtype=object)], codes=codes,
                              names=["lv", "indicator"], verify_integrity=False)
        self.n_samples_ = n
        self.n_iter_ = int(est.n_iter[0])
        self.converged_ = bool(est.converged[0])
        if not self.converged_:
            warnings.warn(f"PLS did not converge in max_iter={self.max_iter} iterations (tol={self.tol}); "
                          "increase max_iter or check the model", ConvergenceWarning, stacklevel=3)
        loadings = est.loadings[0]
        communality = loadings ** 2
        r2 = est.r2[0]
        self.outer_weights_ = pd.Series(est.weights[0], index=pairs, name="weight")
        self.loadings_ = pd.Series(loadings, index=pairs, name="loading")
        self.communality_ = pd.Series(communality, index=pairs, name="communality")
        self.redundancy_ = pd.Series(communality * r2[spec.structure.block], index=pairs, name="redundancy")
        from_index, to_index = lv_index.rename("from"), lv_index.rename("to")
        self.paths_ = pd.DataFrame(est.paths[0], index=from_index, columns=to_index)
        self.total_effects_ = pd.DataFrame(est.total[0], index=from_index, columns=to_index)
        self.lv_correlations_ = pd.DataFrame(est.lv_corr[0], index=lv_index, columns=lv_index)
        endogenous = spec.structure.pred.any(axis=0)
        self.r2_ = pd.Series(r2[endogenous], index=lv_index[endogenous], name="r2")
        sizes = np.bincount(spec.structure.block, minlength=len(spec.lvs))
        multi = sizes[spec.structure.block] > 1
        self.gof_ = float(np.sqrt(communality[multi].mean() * r2[endogenous].mean())) if multi.any() else float("nan")

    def _scale(self, data_low: float, data_high: float, scale) -> tuple[float, float]:
        if scale is None:
            low, high = data_low, data_high
        else:
            try:
                low, high = (float(v) for v in scale)
            except (TypeError, ValueError):
                raise ValueError(f"scale must be a (low, high) pair of numbers, got {scale!r}") from None
            if data_low < low or data_high > high:
                raise ValueError(f"indicator values range from {data_low} to {data_high}, outside "
                                 f"scale={scale!r}; pass the real answer-scale bounds")
        if not high > low:
            raise ValueError(f"the answer scale must have low < high, got ({low}, {high})")
        return low, high

    def _index(self, spec: ModelSpec) -> pd.Series:
        """ACSI-style index (Fornell et al. 1996, p. 10): weights of the unstandardised indicators
        ``w / sd(x)`` normalised to sum 1 per LV, applied to the indicator means rescaled to
        0-100 with the answer-scale bounds. NaN when a block's weights sum to (about) zero."""
        w = self.outer_weights_.to_numpy()
        if self.scaled:
            w = w / self.indicator_sd_.to_numpy()
        low, high = self.scale_
        rescaled = (self.indicator_mean_.to_numpy() - low) / (high - low) * 100.0
        block = spec.structure.block
        n_lv = len(spec.lvs)
        total = np.bincount(block, weights=w, minlength=n_lv)
        weighted = np.bincount(block, weights=w * rescaled, minlength=n_lv)
        with np.errstate(divide="ignore", invalid="ignore"):
            index = np.where(np.abs(total) > 1e-12, weighted / total, np.nan)
        return pd.Series(index, index=self.paths_.index.rename("lv"), name="index")

    # --------------------------------------------------------------- transform
    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Latent-variable scores of the rows of ``X`` with the fitted weights (unit variance on the
        training data). Rows with a missing indicator get NaN scores."""
        if not hasattr(self, "outer_weights_"):
            raise ValueError("this PLSPathModel is not fitted yet; call fit(X) first")
        pairs = self.outer_weights_.index
        lvs = list(self.paths_.columns)
        arrays, _ = indicator_arrays(X, list(pairs.get_level_values("indicator")), None, None)
        values = np.column_stack(arrays) - self.indicator_mean_.to_numpy()
        if self.scaled:
            values = values / self.indicator_sd_.to_numpy()
        member = np.equal.outer(pairs.get_level_values("lv").to_numpy(), np.array(lvs, dtype=object))
        weights = self.outer_weights_.to_numpy()[:, None] * member
        missing = np.isnan(values)
        scores = np.where(missing, 0.0, values) @ weights
        scores[(missing @ member) > 0] = np.nan  # an LV score needs all of its indicators
        return pd.DataFrame(scores, index=X.index, columns=lvs)
