"""Customer-satisfaction index models (ACSI, ECSI) as configured ``PLSPathModel`` objects."""

from __future__ import annotations

from patronage.analytics.pls.model import PLSPathModel

__all__ = ["ACSI_INNER", "ECSI_INNER", "acsi_model", "ecsi_model"]

#: American Customer Satisfaction Index structure (Fornell, Johnson, Anderson, Cha & Bryant 1996,
#: "The American Customer Satisfaction Index", Journal of Marketing 60(4), Figure 1):
#: endogenous LV -> its predecessors.
ACSI_INNER: dict[str, list[str]] = {
    "Perceived quality": ["Expectations"],
    "Perceived value": ["Expectations", "Perceived quality"],
    "Satisfaction": ["Expectations", "Perceived quality", "Perceived value"],
    "Complaints": ["Satisfaction"],
    "Loyalty": ["Satisfaction", "Complaints"],
}

#: European Customer Satisfaction Index structure (ECSI Technical Committee 1998; Tenenhaus et
#: al. 2005, Figure 4, the model of the ``mobi`` data): endogenous LV -> its predecessors.
ECSI_INNER: dict[str, list[str]] = {
    "Expectation": ["Image"],
    "Quality": ["Expectation"],
    "Value": ["Expectation", "Quality"],
    "Satisfaction": ["Image", "Expectation", "Quality", "Value"],
    "Complaints": ["Satisfaction"],
    "Loyalty": ["Image", "Satisfaction", "Complaints"],
}


def _configured(inner: dict[str, list[str]], columns: dict, name: str, kwargs: dict) -> PLSPathModel:
    if not isinstance(columns, dict):
        raise ValueError(f"{name} needs a dict latent variable -> list of indicator columns")
    lvs = list(dict.fromkeys([*(s for sources in inner.values() for s in sources), *inner]))
    missing = [lv for lv in lvs if lv not in columns]
    extra = [lv for lv in columns if lv not in lvs]
    if missing or extra:
        raise ValueError(f"{name} needs indicator columns for exactly the latent variables "
                         f"{', '.join(map(repr, lvs))}; missing {missing}, unknown {extra}")
    outer = {lv: list(columns[lv]) for lv in lvs}
    return PLSPathModel({k: list(v) for k, v in inner.items()}, outer, **kwargs)


def acsi_model(columns: dict[str, list[str]], **kwargs) -> PLSPathModel:
    """A ``PLSPathModel`` with the ACSI structure (:data:`ACSI_INNER`).

    ``columns`` maps each of "Expectations", "Perceived quality", "Perceived value",
    "Satisfaction", "Complaints", "Loyalty" to its indicator columns; ``kwargs`` go to
    :class:`PLSPathModel` (scheme, modes, n_boot, ...).
    """
    return _configured(ACSI_INNER, columns, "acsi_model", kwargs)


def ecsi_model(columns: dict[str, list[str]], **kwargs) -> PLSPathModel:
    """A ``PLSPathModel`` with the ECSI structure (:data:`ECSI_INNER`).

    ``columns`` maps each of "Image", "Expectation", "Quality", "Value", "Satisfaction",
    "Complaints", "Loyalty" to its indicator columns; ``kwargs`` go to :class:`PLSPathModel`.
    """
    return _configured(ECSI_INNER, columns, "ecsi_model", kwargs)
