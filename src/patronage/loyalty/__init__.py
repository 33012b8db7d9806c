"""Loyalty: customer value, retention, defection and segments over the stored panel."""

from patronage.loyalty.analysis import (
    FitRecord,
    SavedModels,
    ValueModels,
    at_risk_table,
    clv_table,
    cohort_overview,
    cohort_table,
    fit_value_models,
    holdout_table,
    load_value_models,
    rfm_table,
    save_value_models,
    segments_table,
    whale_table,
)

__all__ = [
    "FitRecord",
    "SavedModels",
    "ValueModels",
    "at_risk_table",
    "clv_table",
    "cohort_overview",
    "cohort_table",
    "fit_value_models",
    "holdout_table",
    "load_value_models",
    "rfm_table",
    "save_value_models",
    "segments_table",
    "whale_table",
]
