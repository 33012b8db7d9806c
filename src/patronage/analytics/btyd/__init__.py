"""Buy-till-you-die models: BG/NBD, Pareto/NBD, BG/BB purchase models, Gamma-Gamma spend model,
customer lifetime value and the customer summary (frequency, recency, T) from transactions."""

from patronage.analytics.btyd._base import ConvergenceWarning
from patronage.analytics.btyd.beta_geo import BetaGeo
from patronage.analytics.btyd.bg_bb import BetaGeoBetaBinom
from patronage.analytics.btyd.clv import (
    customer_lifetime_value,
    holdout_comparison,
    lifetime_value_factor,
)
from patronage.analytics.btyd.gamma_gamma import GammaGamma
from patronage.analytics.btyd.pareto_nbd import ParetoNBD
from patronage.analytics.btyd.summary import calibration_holdout_summary, customer_summary

__all__ = sorted([
    "BetaGeo",
    "BetaGeoBetaBinom",
    "ConvergenceWarning",
    "GammaGamma",
    "ParetoNBD",
    "calibration_holdout_summary",
    "customer_lifetime_value",
    "customer_summary",
    "holdout_comparison",
    "lifetime_value_factor",
])
