"""Loyalty: customer value, retention, defection and segments over the stored panel (SPEC §3)."""

from patronage.loyalty.analysis import (
    ValueModels,
    at_risk_table,
    clv_table,
    cohort_table,
    fit_value_models,
    holdout_table,
    rfm_table,
    segments_table,
    whale_table,
)

__all__ = [
    "ValueModels",
    "at_risk_table",
    "clv_table",
    "cohort_table",
    "fit_value_models",
    "holdout_table",
    "rfm_table",
    "segments_table",
    "whale_table",
]
