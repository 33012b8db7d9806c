"""Why customers stay: the six loyalty types, from behaviour, survey answers and what the company
knows about a customer's alternatives.

Behaviourally loyal customers (repeat, frequent, recent buyers) are told apart by *why* they
stay — no choice (**monopoly**), a bond with the company (**affinity**, kinship), what they trust
and like (**trust**: earned loyalty, 信赖忠诚), the rewards (**incentive**: bought loyalty,
利益忠诚) or habit (**inertia**: 惰性忠诚). Customers who do not buy repeatedly but think highly of
the company are **latent** loyal (Dick & Basu 1994, *Customer loyalty: toward an integrated
conceptual framework*, J. Academy of Marketing Science 22(2), 99–113: high relative attitude,
low repeat patronage); the rest are not loyal (**none**).

Each type is a rule stated as data (:data:`RULES`): conditions on the customer's features and a
sentence in English, simplified and traditional Chinese that a page shows, with the thresholds
(:data:`THRESHOLDS`) filled in. A customer takes the first rule met, in this order of
precedence: monopoly, affinity, trust, incentive, inertia, latent, none. Monopoly and affinity
come first because they explain loyalty whatever the customer thinks; trust comes before
incentive because a customer who trusts the company and also uses the rewards has earned
loyalty the rewards did not buy. A missing feature (no survey answer, no points) never meets a
condition: missing is missing.

Features (one row per customer, see :func:`loyalty_features`): ``purchases`` in the last
``window_days``, ``frequency_pct`` (percentile of purchases among customers who bought in the
window), ``recency_days``, ``incentive_share`` (share of those purchases that earned a bonus:
a member day, the birthday month, a bonus rule), ``redemptions_per_purchase``, the latest
``satisfaction`` (1–10), ``nps`` (0–10) and ``trust`` (1–10) answers, and the flags
``few_alternatives`` (monopoly: no real alternative, or share of wallet at or above the
threshold when known) and ``affinity`` (a bond: an employee, a family member, an association).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from patronage.analytics._validation import require_columns

__all__ = ["FEATURES", "LOYALTY_TYPES", "RULES", "THRESHOLDS", "LoyaltyRule", "classify_loyalty",
           "loyalty_features", "loyalty_summary", "rule_table"]

FEATURES = ("purchases", "frequency_pct", "recency_days", "incentive_share",
            "redemptions_per_purchase", "satisfaction", "nps", "trust", "share_of_wallet",
            "few_alternatives", "affinity")
#: The types in their order of precedence.
LOYALTY_TYPES = ("monopoly", "affinity", "trust", "incentive", "inertia", "latent", "none")

#: The thresholds the rules use (a company may pass its own to :func:`classify_loyalty`).
THRESHOLDS = {
    "min_purchases": 2,            # repeat: at least this many purchases in the window
    "min_frequency_pct": 0.5,      # and in the top half of buyers by purchases
    "max_recency_days": 180,       # and the last purchase at most this long ago
    "high_trust": 8,               # trust item, 1–10
    "high_nps": 9,                 # promoter, 0–10
    "high_satisfaction": 9,        # overall satisfaction, 1–10
    "incentive_share": 0.5,        # at least half the purchases earned a bonus
    "redemptions_per_purchase": 0.5,
    "monopoly_share": 0.9,         # share of wallet that stands for "no alternative"
}

#: Thresholds that are shares (written as percentages in the rules' sentences).
_SHARES = {"min_frequency_pct", "incentive_share", "monopoly_share"}
_LOYAL = (("purchases", ">=", "min_purchases"), ("frequency_pct", ">=", "min_frequency_pct"),
          ("recency_days", "<=", "max_recency_days"))
_HIGH_ATTITUDE = (("trust", ">=", "high_trust"), ("nps", ">=", "high_nps"),
                  ("satisfaction", ">=", "high_satisfaction"))


@dataclass(frozen=True)
class LoyaltyRule:
    """A loyalty type's rule: every condition of ``all_of`` and at least one of ``any_of`` (when
    given). A condition is ``(feature, operator, threshold key)``; the operator ``is`` tests a
    flag (the threshold key is then ignored). ``text`` is the rule in words by language, with
    the thresholds as ``{placeholders}``."""

    code: str
    all_of: tuple = ()
    any_of: tuple = ()
    text: tuple = ()

    def sentence(self, language: str = "en", thresholds: dict | None = None) -> str:
        values = {**THRESHOLDS, **(thresholds or {})}
        shown = {k: f"{float(v):.0%}" if k in _SHARES else f"{float(v):g}"
                 for k, v in values.items()}
        shown["frequency_top"] = f"{1 - float(values['min_frequency_pct']):.0%}"
        texts = dict(self.text)
        return (texts.get(language) or texts["en"]).format(**shown)


_BUYS = {"en": "Buys repeatedly ({min_purchases}+ purchases in the last 12 months, in the top "
               "{frequency_top} of buyers by frequency, last purchase within "
               "{max_recency_days} days)",
         "zh_Hans": "重复购买（近12个月至少{min_purchases}次，购买频次居前{frequency_top}，"
                    "最近一次购买在{max_recency_days}天内）",
         "zh_Hant": "重複購買（近12個月至少{min_purchases}次，購買頻次居前{frequency_top}，"
                    "最近一次購買在{max_recency_days}天內）"}
_ATTITUDE = {"en": "trust at least {high_trust}/10, or would recommend us {high_nps}+ of 10, or "
                   "satisfaction at least {high_satisfaction}/10",
             "zh_Hans": "信任度至少{high_trust}分（满分10），或推荐意愿至少{high_nps}分，"
                        "或满意度至少{high_satisfaction}分",
             "zh_Hant": "信任度至少{high_trust}分（滿分10），或推薦意願至少{high_nps}分，"
                        "或滿意度至少{high_satisfaction}分"}


def _texts(en: str, hans: str, hant: str, *, buys: bool = True) -> tuple:
    if buys:
        return (("en", f"{_BUYS['en']} {en}"), ("zh_Hans", f"{_BUYS['zh_Hans']}{hans}"),
                ("zh_Hant", f"{_BUYS['zh_Hant']}{hant}"))
    return (("en", en), ("zh_Hans", hans), ("zh_Hant", hant))


RULES: tuple[LoyaltyRule, ...] = (
    LoyaltyRule("monopoly", _LOYAL, (("few_alternatives", "is", ""),
                                     ("share_of_wallet", ">=", "monopoly_share")),
                _texts("and has few alternatives (marked on the profile, or at least "
                       "{monopoly_share} of their category spend is with us).",
                       "，且几乎没有其他选择（档案中标注，或其品类支出至少{monopoly_share}在我们这里）。",
                       "，且幾乎沒有其他選擇（檔案中標註，或其品類支出至少{monopoly_share}在我們這裡）。")),
    LoyaltyRule("affinity", _LOYAL + (("affinity", "is", ""),), (),
                _texts("and has a bond with us marked on the profile (an employee, family, an "
                       "association).",
                       "，且档案中标注与我们有亲缘或归属关系（员工、亲属、协会会员等）。",
                       "，且檔案中標註與我們有親緣或歸屬關係（員工、親屬、協會會員等）。")),
    LoyaltyRule("trust", _LOYAL, _HIGH_ATTITUDE,
                _texts(f"and thinks highly of us: {_ATTITUDE['en']} (latest answer).",
                       f"，且评价很高：{_ATTITUDE['zh_Hans']}（以最近一次回答为准）。",
                       f"，且評價很高：{_ATTITUDE['zh_Hant']}（以最近一次回答為準）。")),
    LoyaltyRule("incentive", _LOYAL, (("incentive_share", ">=", "incentive_share"),
                                      ("redemptions_per_purchase", ">=",
                                       "redemptions_per_purchase")),
                _texts("mostly for the rewards: at least {incentive_share} of the purchases "
                       "earned a bonus (member day, birthday month, bonus rule), or "
                       "{redemptions_per_purchase} redemptions or more per purchase; no high "
                       "rating of trust or satisfaction.",
                       "，但主要为了奖励：至少{incentive_share}的购买获得了额外积分（会员日、生日月、"
                       "奖励规则），或每次购买兑换{redemptions_per_purchase}次以上；信任和满意度不高。",
                       "，但主要為了獎勵：至少{incentive_share}的購買獲得了額外積分（會員日、生日月、"
                       "獎勵規則），或每次購買兌換{redemptions_per_purchase}次以上；信任和滿意度不高。")),
    LoyaltyRule("inertia", _LOYAL, (),
                _texts("out of habit: no high rating of trust or satisfaction (or no answer), "
                       "and not mainly for the rewards.",
                       "，出于习惯：信任和满意度不高（或未作答），也不主要为了奖励。",
                       "，出於習慣：信任和滿意度不高（或未作答），也不主要為了獎勵。")),
    LoyaltyRule("latent", (), _HIGH_ATTITUDE,
                _texts(f"Does not buy repeatedly, but thinks highly of us: {_ATTITUDE['en']}.",
                       f"购买不频繁，但评价很高：{_ATTITUDE['zh_Hans']}。",
                       f"購買不頻繁，但評價很高：{_ATTITUDE['zh_Hant']}。", buys=False)),
    LoyaltyRule("none", (), (),
                _texts("Everyone else: neither a repeat buyer nor rating us highly.",
                       "其余客户：既非重复购买，评价也不高。",
                       "其餘客戶：既非重複購買，評價也不高。", buys=False)),
)


def _met(features: pd.DataFrame, condition: tuple, thresholds: dict) -> np.ndarray:
    name, op, key = condition
    if name not in features:
        return np.zeros(len(features), dtype=bool)
    values = features[name]
    if op == "is":
        return np.array([False if pd.isna(v) else bool(v) for v in values.astype(object)],
                        dtype=bool)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    limit = float(thresholds[key])
    with np.errstate(invalid="ignore"):
        met = numbers >= limit if op == ">=" else numbers <= limit
    return met & ~np.isnan(numbers)


def _rule_met(features: pd.DataFrame, rule: LoyaltyRule, thresholds: dict) -> np.ndarray:
    met = np.ones(len(features), dtype=bool)
    for condition in rule.all_of:
        met &= _met(features, condition, thresholds)
    if rule.any_of:
        met &= np.logical_or.reduce([_met(features, c, thresholds) for c in rule.any_of])
    return met


def classify_loyalty(features: pd.DataFrame, *, thresholds: dict | None = None,
                     rules: tuple[LoyaltyRule, ...] = RULES) -> pd.DataFrame:
    """A copy of ``features`` with ``loyalty_type``: the first rule of ``rules`` each customer
    meets (see the module's notes). Features absent from the frame count as missing."""
    if not isinstance(features, pd.DataFrame):
        raise ValueError("features must be a pandas DataFrame, one row per customer")
    limits = {**THRESHOLDS, **(thresholds or {})}
    unknown = set(limits) - set(THRESHOLDS)
    if unknown:
        raise ValueError(f"unknown loyalty thresholds {sorted(unknown)}; they are "
                         f"{sorted(THRESHOLDS)}")
    out = features.copy()
    chosen = np.full(len(out), "", dtype=object)
    for rule in rules:
        free = chosen == ""
        chosen[free & _rule_met(out, rule, limits)] = rule.code
    chosen[chosen == ""] = "none"
    out["loyalty_type"] = chosen
    return out


def loyalty_summary(classified: pd.DataFrame, *, language: str = "en",
                    thresholds: dict | None = None) -> pd.DataFrame:
    """Customers per type in the order of precedence: ``customers``, ``share`` and the
    ``rule`` in ``language``."""
    require_columns(classified, ("loyalty_type",), what="classified customers")
    counts = classified["loyalty_type"].value_counts().reindex(
        [r.code for r in RULES], fill_value=0)
    total = int(counts.sum())
    return pd.DataFrame({"customers": counts.astype(int),
                         "share": counts / total if total else np.nan,
                         "rule": [r.sentence(language, thresholds) for r in RULES]},
                        index=pd.Index([r.code for r in RULES], name="loyalty_type"))


def rule_table(language: str = "en", thresholds: dict | None = None) -> pd.DataFrame:
    """The rules as a table: precedence, type and the sentence in ``language``."""
    return pd.DataFrame({"precedence": range(1, len(RULES) + 1),
                         "rule": [r.sentence(language, thresholds) for r in RULES]},
                        index=pd.Index([r.code for r in RULES], name="loyalty_type"))


def loyalty_features(transactions: pd.DataFrame, *, as_of, window_days: int = 365,
                     bonus_transactions=(), redemptions: pd.DataFrame | None = None,
                     answers: pd.DataFrame | None = None,
                     flags: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per customer (``customer_id`` index) with :data:`FEATURES`.

    ``transactions``: ``customer_id, occurred_at`` (``transaction_id`` to match
    ``bonus_transactions``, the ids of purchases that earned a bonus; ``is_refund``);
    ``redemptions``: ``customer_id, occurred_at`` per redemption kept; ``answers``:
    ``customer_id, submitted_at, item_code, value`` for the items ``overall_satisfaction``,
    ``nps`` and ``trust`` (the latest answer up to ``as_of`` counts); ``flags``: indexed by
    customer, columns ``few_alternatives``, ``affinity``, ``share_of_wallet`` where known.
    Customers appear when they are in ``transactions``, ``answers`` or ``flags``."""
    require_columns(transactions, ("customer_id", "occurred_at"), what="transactions")
    if int(window_days) < 1:
        raise ValueError("window_days must be at least 1")
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    start = end - pd.Timedelta(days=int(window_days))
    when = pd.to_datetime(transactions["occurred_at"])
    refund = (transactions["is_refund"].fillna(False).astype(bool)
              if "is_refund" in transactions else pd.Series(False, index=transactions.index))
    sales = transactions.loc[~refund & (when < end)]
    sales_when = when.loc[sales.index]
    recent = sales.loc[sales_when >= start]
    ids = pd.Index(pd.unique(pd.concat([
        transactions["customer_id"],
        answers["customer_id"] if answers is not None else pd.Series(dtype=object),
        pd.Series(flags.index) if flags is not None else pd.Series(dtype=object)]
    ).dropna()), name="customer_id")
    out = pd.DataFrame(index=ids)
    out["purchases"] = recent.groupby("customer_id").size().reindex(ids, fill_value=0)
    buyers = out["purchases"] > 0
    out["frequency_pct"] = np.nan
    out.loc[buyers, "frequency_pct"] = out.loc[buyers, "purchases"].rank(pct=True, method="max")
    last = sales_when.dt.normalize().groupby(sales["customer_id"]).max().reindex(ids)
    out["recency_days"] = (end - pd.Timedelta(days=1) - last).dt.days.astype(float)
    bonus = set(bonus_transactions or ())
    if "transaction_id" in recent and bonus:
        share = recent["transaction_id"].isin(bonus).groupby(recent["customer_id"]).mean()
        out["incentive_share"] = share.reindex(ids)
    else:
        out["incentive_share"] = np.nan
    out["redemptions_per_purchase"] = np.nan
    if redemptions is not None and len(redemptions):
        r_when = pd.to_datetime(redemptions["occurred_at"])
        kept = redemptions.loc[(r_when >= start) & (r_when < end)]
        count = kept.groupby("customer_id").size().reindex(ids, fill_value=0)
        out.loc[buyers, "redemptions_per_purchase"] = (count[buyers] / out.loc[buyers,
                                                                              "purchases"])
    for item, column in (("overall_satisfaction", "satisfaction"), ("nps", "nps"),
                         ("trust", "trust")):
        out[column] = np.nan
        if answers is not None and len(answers):
            rows = answers.loc[(answers["item_code"] == item)
                               & (pd.to_datetime(answers["submitted_at"]) < end)
                               & answers["value"].notna()]
            latest = rows.sort_values("submitted_at", kind="stable").groupby(
                "customer_id")["value"].last()
            out[column] = pd.to_numeric(latest.reindex(ids), errors="coerce")
    for column in ("share_of_wallet", "few_alternatives", "affinity"):
        present = flags is not None and column in flags
        out[column] = flags[column].reindex(ids) if present else np.nan
    return out
