"""The demo company's transactions, from a heterogeneous buy-till-you-die process.

Purchases follow the BG/NBD story (Fader, Hardie & Lee 2005, "Counting your customers the easy
way"): while alive, a customer buys as a Poisson process with rate ``lambda_i ~ Gamma(r, alpha)``;
after each purchase the customer drops out for good with probability ``p_i ~ Beta(a, b)``. The
first purchase is the acquisition (monthly cohorts over two years). Spend per transaction follows
the Gamma-Gamma model (Fader, Hardie & Lee 2005, "RFM and CLV"): ``z ~ Gamma(q_spend, nu_i)``
with ``nu_i ~ Gamma(q, gamma)``, scaled by company size.

Two departures from the plain model give the analytics something to find:

* dropout is lower for customers with a higher latent satisfaction (the
  satisfaction–retention link): ``p_i`` is multiplied by ``exp(-DROPOUT_SATISFACTION * s_i)``;
* about a third of the key accounts acquired in the first year are in *latent switching*: they
  stay alive, but over the last year before ``today`` their purchase rate and spend decline
  linearly to 40% and 60% of their usual level (lifecycle).
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

#: BG/NBD heterogeneity: purchase rate per year ~ Gamma(shape R, scale 1/ALPHA).
R, ALPHA = 2.0, 0.16
#: Dropout after each purchase ~ Beta(A, B).
A, B = 1.2, 30.0
#: Gamma-Gamma spend: transaction shape, and nu ~ Gamma(Q, rate GAMMA).
SPEND_SHAPE, Q, GAMMA = 3.0, 4.0, 5000.0
DROPOUT_SATISFACTION = 0.5
SIZE_RATE = {"small": 0.8, "medium": 1.0, "large": 1.5, "key account": 2.5}
SIZE_SPEND = {"small": 0.6, "medium": 1.0, "large": 2.0, "key account": 4.0}
REFUND_SHARE = 0.02

CATEGORIES = ("equipment", "spare parts", "service contract", "training", "consumables")
CATEGORY_SHARES = (0.1, 0.28, 0.1, 0.07, 0.45)
PRODUCTS = {
    "equipment": ("CNC lathe HX-200", "Packaging line PL-5", "Air compressor AC-75",
                  "Industrial robot arm RA-6", "Laser cutter LC-3015"),
    "spare parts": ("Spindle bearing kit", "Servo motor", "Control board", "Filter set",
                    "Hydraulic pump"),
    "service contract": ("Annual maintenance contract", "Extended warranty 2y",
                         "Remote monitoring plan"),
    "training": ("Operator training course", "Maintenance certification", "On-site workshop"),
    "consumables": ("Cutting tools pack", "Lubricant 20L", "Packaging film roll",
                    "Welding wire 15kg", "Abrasive discs"),
}

_YEAR = 365.25


def _days(ts: pd.Series | pd.Timestamp, origin: pd.Timestamp):
    return (ts - origin) / pd.Timedelta(days=1)


def _clock(origin: pd.Timestamp, days: np.ndarray) -> np.ndarray:
    """Timestamps for day offsets, the fraction of each day mapped to business hours 08-18."""
    whole = np.floor(days)
    office = whole + (8 + 10 * (days - whole)) / 24
    return (origin + pd.to_timedelta(np.round(office * 86400), unit="s")).to_numpy()


def simulate_purchases(rng: np.random.Generator, customers: pd.DataFrame, satisfaction: np.ndarray,
                       today: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transactions and per-customer truth for ``customers`` (needs ``acquired_at``, ``size``).

    Returns ``(transactions, params)``: ``transactions`` has the table's columns with the
    customer's external id in ``customer_id``; ``params`` is indexed by external id with
    ``lambda`` (purchases per year while alive), ``p`` (dropout probability after a purchase),
    ``alive`` (not dropped out by ``today``), ``defected_at`` (time of the last purchase for
    dropped-out customers, else NaT), ``declining_key_account``, ``mean_spend`` (expected
    amount per transaction, Gamma-Gamma) and ``acquired_at``.
    """
    n = len(customers)
    end = pd.Timestamp(datetime.combine(today, datetime.max.time().replace(microsecond=0)))
    year_start = end - pd.Timedelta(days=365)
    origin = pd.Timestamp(today) - pd.Timedelta(days=800)
    size = customers["size"].to_numpy()
    acquired = customers["acquired_at"].reset_index(drop=True)
    acq_days = _days(acquired, origin).to_numpy()
    end_days = _days(end, origin)

    lam = rng.gamma(R, 1 / ALPHA, size=n) * np.array([SIZE_RATE[s] for s in size])
    p = rng.beta(A, B, size=n) * np.exp(-DROPOUT_SATISFACTION * satisfaction)
    p = np.where(size == "key account", 0.5 * p, p)
    p = np.clip(p, 1e-4, 0.9)
    key_old = (size == "key account") & (acq_days < _days(year_start, origin) - 35)
    declining = key_old & (rng.random(n) < 0.35)
    lam = np.where(declining, np.maximum(lam, 10.0), lam)
    nu = rng.gamma(Q, 1 / GAMMA, size=n)
    spend_scale = np.array([SIZE_SPEND[s] for s in size]) / nu
    mean_spend = SPEND_SHAPE * spend_scale

    # Number of purchases until dropout, J ~ Geometric(p) (the purchase at which they leave).
    dropout_at = rng.geometric(p)
    dropout_at = np.where(declining, np.iinfo(np.int32).max, dropout_at)
    window_years = (end_days - acq_days) / _YEAR
    cap = np.ceil(lam * window_years * 1.6 + 12).astype(np.int64)
    count = np.minimum(dropout_at, cap)
    owner = np.repeat(np.arange(n), count)
    gaps = rng.exponential(1.0, size=owner.size) * (_YEAR / lam[owner])
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    gaps[starts] = 0.0  # the first purchase is the acquisition itself
    cumulative = np.cumsum(gaps)
    t = acq_days[owner] + cumulative - np.repeat(cumulative[starts], count)
    t[starts] = acq_days  # exactly, without rounding error (every customer buys at least once)
    last_time = t[np.cumsum(count) - 1]
    dropped = (dropout_at <= cap) & (last_time <= end_days)
    keep = t <= end_days
    # Latent switching: thin purchases over the last year, and shrink their spend.
    frac = np.clip((t - _days(year_start, origin)) / 365.0, 0.0, 1.0)
    thin = declining[owner] & (rng.random(owner.size) > 1 - 0.6 * frac)
    keep &= ~thin
    amounts = rng.gamma(SPEND_SHAPE, 1.0, size=owner.size) * spend_scale[owner]
    amounts = np.where(declining[owner], amounts * (1 - 0.4 * frac), amounts)
    owner, t, amounts = owner[keep], t[keep], amounts[keep]

    m = owner.size
    category = np.asarray(CATEGORIES, dtype=object)[
        rng.choice(len(CATEGORIES), size=m, p=np.asarray(CATEGORY_SHARES))]
    pick = rng.random(m)
    product = np.array([PRODUCTS[c][int(u * len(PRODUCTS[c]))] for c, u in zip(category, pick)],
                       dtype=object)
    cost_ratio = rng.uniform(0.6, 0.75, size=m)
    cust_channel = customers["channel"].to_numpy()[owner]
    channel = np.where(rng.random(m) < 0.85, cust_channel, "online").astype(object)
    occurred = _clock(origin, t)
    ext = customers["external_id"].to_numpy()
    purchases = pd.DataFrame({
        "customer_id": ext[owner],
        "occurred_at": occurred,
        "amount": np.round(amounts, 2),
        "cost": np.round(amounts * cost_ratio, 2),
        "product": product,
        "category": category,
        "channel": channel,
        "is_refund": np.zeros(m, dtype=bool),
    })
    refunds = _refunds(rng, purchases, end)
    frame = pd.concat([purchases, refunds], ignore_index=True)
    frame = frame.sort_values(["occurred_at", "customer_id", "is_refund"], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.insert(0, "external_id", [f"T{i:07d}" for i in range(1, len(frame) + 1)])

    defected_at = pd.Series(_clock(origin, last_time))
    params = pd.DataFrame({
        "lambda": lam,
        "p": p,
        "alive": ~dropped,
        "defected_at": defected_at.where(dropped).to_numpy(),
        "declining_key_account": declining,
        "mean_spend": mean_spend,
        "acquired_at": _clock(origin, acq_days),
    }, index=pd.Index(ext, name="external_id"))
    return frame, params


def _refunds(rng: np.random.Generator, purchases: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Refund rows (``is_refund`` with a negative amount) for about 2% of the purchases."""
    chosen = purchases[rng.random(len(purchases)) < REFUND_SHARE]
    share = np.where(rng.random(len(chosen)) < 0.6, 1.0, rng.uniform(0.2, 0.8, size=len(chosen)))
    delay = pd.to_timedelta(rng.integers(2, 40, size=len(chosen)), unit="D")
    refunds = chosen.assign(
        occurred_at=chosen["occurred_at"].to_numpy() + delay,
        amount=-np.round(chosen["amount"].to_numpy() * share, 2),
        cost=-np.round(chosen["cost"].to_numpy() * share, 2),
        is_refund=True,
    )
    return refunds[refunds["occurred_at"] <= end]


__all__ = ["CATEGORIES", "PRODUCTS", "simulate_purchases"]
