"""PLS path modelling of customer-satisfaction models (ACSI, ECSI).

``PLSPathModel`` estimates a partial-least-squares path model (Wold 1982; Lohmöller 1989;
Tenenhaus et al. 2005) from the indicator covariance matrix; ``acsi_model`` and ``ecsi_model``
return it configured with the ACSI (Fornell et al. 1996) and ECSI structural models.
"""

from patronage.analytics.pls.model import ConvergenceWarning, PLSPathModel
from patronage.analytics.pls.presets import ACSI_INNER, ECSI_INNER, acsi_model, ecsi_model

__all__ = sorted(["ACSI_INNER", "ConvergenceWarning", "ECSI_INNER", "PLSPathModel", "acsi_model", "ecsi_model"])
