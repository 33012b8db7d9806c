"""What a reader of a customer-value analysis must know about its models: the fitted parameters
with standard errors and log-likelihood, the time unit, and the customers the fits left out —
as lines of text (printed on stderr next to a table) and as data (the JSON output)."""

from __future__ import annotations

import math

import pandas as pd

#: How many customer ids a note names before it says "and n more".
SHOWN_IDS = 5


def id_list(ids, shown: int = SHOWN_IDS) -> str:
    """``C1, C2, C3 and 4 more``: the first ``shown`` ids of ``ids``."""
    ids = [str(i) for i in ids]
    head = ", ".join(ids[:shown])
    return head + (f" and {len(ids) - shown:,} more" if len(ids) > shown else "")


def model_about(model, name: str) -> dict:
    """Parameters, standard errors (None when not available), log-likelihood, customers."""
    se = getattr(model, "standard_errors_", {}) or {}
    return {"model": name, "params": dict(model.params_),
            "standard_errors": {k: (None if v is None or math.isnan(v) else float(v))
                                for k, v in se.items()},
            "log_likelihood": float(model.log_likelihood_),
            "customers": int(round(model.n_customers_)),
            "converged": bool(getattr(model, "converged_", True))}


def model_lines(model, title: str) -> list[str]:
    """A heading with the log-likelihood and the parameter table (estimate, standard error,
    95% interval)."""
    lines = [f"{title}, fitted on {int(round(model.n_customers_)):,} customers; "
             f"log-likelihood {model.log_likelihood_:.3f}:"]
    with pd.option_context("display.precision", 4, "display.width", 120):
        lines += ["  " + line for line in model.summary().to_string().splitlines()]
    return lines


def value_model_notes(models) -> list[str]:
    """The notes of :class:`~patronage.loyalty.analysis.ValueModels` (see ``about``)."""
    about = value_model_about(models)
    lines = [f"Observation end {about['observation_end']}; recency_weeks and T_weeks are in "
             "weeks (the purchase model's time unit); monetary_value is the mean spend of "
             "the repeat purchase days."]
    if models.loaded_from is not None:
        lines.append(f"Parameters read from {models.loaded_from} (not refitted).")
    lines += model_lines(models.purchases, "Purchase model BG/NBD (time in weeks)")
    if models.spend is not None:
        lines += model_lines(models.spend, "Spend model Gamma-Gamma")
    else:
        lines.append("No spend model: fewer than 20 repeat buyers with a positive repeat spend; "
                     "clv is empty and the value tiers use the total spend.")
    new = about["new_customers"]
    if new:
        lines.append(f"{new:,} new customer{'s' if new != 1 else ''} (first purchase on the "
                     f"observation end, T = 0) left out of the purchase-model fit and scored "
                     "as just acquired: P(alive) = 1 and the expected purchases of a new "
                     "customer (column new_customer).")
    left = models.spend_left_out
    if left:
        lines.append(f"{len(left):,} repeat buyer{'s' if len(left) != 1 else ''} whose repeat "
                     f"purchases sum to 0 left out of the spend-model fit: {id_list(left)}; "
                     "their clv uses the spend model's estimate for a mean spend of 0.")
    return lines


def value_model_about(models) -> dict:
    """Time unit, observation end, customers, new customers, both models and what was left
    out, for the JSON output."""
    summary = models.summary
    end = (summary["first_purchase"] + pd.to_timedelta(summary["T"], unit="D")).max()
    new = models.new_customers
    return {
        "time_unit": "week",
        "observation_end": f"{end:%Y-%m-%d}",
        "customers": int(len(summary)),
        "new_customers": int(new.sum()),
        "margin": float(models.margin),
        "parameters_from": models.loaded_from,
        "purchase_model": model_about(models.purchases, "BG/NBD"),
        "spend_model": (None if models.spend is None
                        else model_about(models.spend, "Gamma-Gamma")),
        "left_out_of_spend_model": {"customers": len(models.spend_left_out),
                                    "first_ids": [str(c) for c in models.spend_left_out[:20]]},
    }


__all__ = ["id_list", "model_about", "model_lines", "value_model_about", "value_model_notes"]
