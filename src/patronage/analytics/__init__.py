"""Satisfaction and loyalty analytics: pure functions and estimators on pandas data.

This package imports numpy, pandas, scipy and statsmodels only; never storage, web or the CLI.
"""

from patronage.analytics.scores import csi, csi_scores, nps, nps_summary, rescale_0_100

__all__ = sorted(["csi", "csi_scores", "nps", "nps_summary", "rescale_0_100"])
