"""Satisfaction and loyalty analytics: pure functions and estimators on pandas data.

This package imports numpy, pandas, scipy and statsmodels only; never storage, web or the CLI.
"""

from patronage.analytics.compare import (
    compare_groups,
    competitor_comparison,
    crosstab_test,
    hedges_g,
    holm,
    wave_trend,
)
from patronage.analytics.defection import defection_reasons, latent_switching
from patronage.analytics.drivers import (
    driver_importance,
    driver_importance_from_moments,
    relative_weights,
    shapley_regression,
)
from patronage.analytics.ipa import importance_performance
from patronage.analytics.kano import kano_category, kano_result, kano_table
from patronage.analytics.moments import Moments, moments_from_sums, moments_of
from patronage.analytics.pls import PLSPathModel, acsi_model, ecsi_model
from patronage.analytics.ratings import (
    ces,
    csat,
    margin_of_error,
    mean_summary,
    nps_difference,
    response_rate,
    satisfaction_gap,
    top_box,
    wilson_interval,
)
from patronage.analytics.reliability import (
    average_variance_extracted,
    composite_reliability,
    cronbach_alpha,
    htmt,
)
from patronage.analytics.scores import (
    csi, csi_scores, nps, nps_from_totals, nps_summary, rescale_0_100,
)
from patronage.analytics.retention import (
    cohort_matrix,
    cross_buying,
    kaplan_meier,
    repeat_purchase_rate,
    retention_curve,
    share_of_wallet,
)
from patronage.analytics.rfm import DEFAULT_RFM_RULES, rfm_scores, rfm_segments
from patronage.analytics.segments import (
    advocacy_segments,
    allocate_cost_to_serve,
    jones_sasser,
    retention_by_satisfaction,
    retention_economics,
    value_tiers,
    whale_curve,
    whale_figures,
)
from patronage.analytics.servqual import gap1, servqual_gaps, weighted_servqual
from patronage.analytics.weighting import (
    design_effect,
    design_weights,
    effective_sample_size,
    poststratify,
    rake,
)

__all__ = sorted([
    "DEFAULT_RFM_RULES", "advocacy_segments", "allocate_cost_to_serve", "cohort_matrix",
    "cross_buying", "defection_reasons", "jones_sasser", "kaplan_meier", "latent_switching",
    "repeat_purchase_rate", "retention_by_satisfaction", "retention_curve", "retention_economics",
    "rfm_scores", "rfm_segments", "share_of_wallet", "value_tiers", "whale_curve",
    "whale_figures",
    "PLSPathModel", "acsi_model", "ecsi_model", "Moments", "moments_from_sums", "moments_of",
    "driver_importance_from_moments",
    "average_variance_extracted", "composite_reliability", "cronbach_alpha", "driver_importance",
    "htmt", "importance_performance", "kano_category", "kano_result", "kano_table",
    "relative_weights", "shapley_regression", "gap1", "servqual_gaps", "weighted_servqual",
    "ces", "compare_groups", "competitor_comparison", "crosstab_test", "csat", "csi",
    "csi_scores", "design_effect", "design_weights", "effective_sample_size", "hedges_g", "holm",
    "margin_of_error", "mean_summary", "nps", "nps_difference", "nps_from_totals", "nps_summary", "poststratify", "rake", "rescale_0_100", "response_rate",
    "satisfaction_gap", "top_box", "wave_trend", "wilson_interval",
])
