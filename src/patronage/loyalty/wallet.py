"""Share of wallet: the part of each customer's spend in the category that comes to us.

The customer's total spend in the category over a period (the *wallet*) is not in our books: it
comes from a wallet survey or a panel, as a file (:func:`wallet_from_file`) or as the customer's
latest answer to a survey item (:func:`wallet_from_item`). Our spend over the same period comes
from the stored sales (net of refunds, optionally only some categories). Share of wallet =
our spend / the customer's category spend (:func:`patronage.analytics.share_of_wallet`),
summarised by value tier with the *headroom* (category spend not yet with us), which is where
growing the share pays (Keiningham, Aksoy, Buoye & Cooil 2011).

References
----------
* Keiningham, T. L., Aksoy, L., Buoye, A. & Cooil, B. (2011). Customer loyalty isn't enough.
  Grow your share of wallet. Harvard Business Review 89(10), 29-31.
* Du, R. Y., Kamakura, W. A. & Mela, C. F. (2007). Size and share of customer wallet.
  Journal of Marketing 71(2), 94-113.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from patronage.analytics import share_of_wallet, value_tiers
from patronage.storage import read_answers, read_customers, read_responses, read_transactions
from patronage.storage.importing.mapping import ALIASES, ColumnMap, match_columns
from patronage.storage.importing.parsing import parse_amount, parse_code, parse_date
from patronage.storage.importing.reading import read_table
from patronage.storage.importing.report import Problems
from patronage.storage.summary import read_customer_summary

#: Header aliases of a wallet file (compared as the importer does: case, width and separators
#: folded).
WALLET_ALIASES: dict[str, tuple[str, ...]] = {
    "customer": ALIASES["transactions"]["customer"],
    "category_spend": (
        "category_spend", "category spend", "total category spend", "wallet", "wallet size",
        "total spend", "category total", "品类支出", "品類支出", "品类总支出", "品類總支出",
        "品类总额", "品類總額", "总支出", "總支出", "采购总额", "採購總額", "钱包", "錢包",
        "钱包规模", "錢包規模"),
    "period_start": ("period_start", "period start", "from", "start", "start date", "开始日期",
                     "開始日期", "起始日期", "期间开始", "期間開始"),
    "period_end": ("period_end", "period end", "to", "end", "end date", "结束日期", "結束日期",
                   "截止日期", "期间结束", "期間結束"),
}
_REQUIRED = ("customer", "category_spend")
_TIER_ORDER = ("platinum", "gold", "silver", "bronze", "no sales")


@dataclass
class WalletResult:
    """Per-customer shares (``customers``), the summary by value tier (``tiers``), what was
    wrong with the rows left out (``problems``; ``left_out`` rows) and remarks on rows kept
    (``notes``).

    ``tiers`` has one row per value tier (of our total sales, as
    :func:`patronage.analytics.value_tiers`) and a row ``all``: customers with a known share,
    their mean and median share, the pooled (spend-weighted) share = our spend up to each
    customer's category spend / their category spend, the sums, and the headroom = category
    spend not with us.
    """

    customers: pd.DataFrame
    tiers: pd.DataFrame
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    left_out: int = 0

    def messages(self, limit: int = 50) -> list[str]:
        """The problems, then the notes, at most ``limit`` lines and a count of the rest."""
        lines = [*self.problems, *self.notes]
        if len(lines) > limit:
            lines = [*lines[:limit], f"... and {len(lines) - limit:,} more"]
        return lines

    def headline(self) -> str:
        """One line: how many customers, the mean share and the spend-weighted share."""
        all_row = self.tiers.loc["all"]
        return (f"Share of wallet of {int(all_row['customers']):,} customers: mean "
                f"{all_row['mean_share']:.1%}, spend-weighted {all_row['pooled_share']:.1%}; "
                f"{self.left_out:,} row(s) left out.")


def _map_headers(headers: list[str], source: str) -> ColumnMap:
    result = match_columns(headers, WALLET_ALIASES)
    if result.problems:  # two columns meaning one field
        raise ValueError(f"{source}: {result.problems[0][1]}")
    for name in _REQUIRED:
        if name not in result.fields:
            examples = ", ".join(repr(a) for a in WALLET_ALIASES[name][:3])
            chinese = ", ".join(repr(a) for a in WALLET_ALIASES[name] if not a.isascii())
            raise ValueError(f"{source}: required column {name!r} is missing; name a column "
                             f"{examples} or {chinese.split(', ')[0]} (found: "
                             f"{', '.join(map(repr, headers)) or 'no columns'})")
    return result


def _default_period(summary: pd.DataFrame, start, end, months: int
                    ) -> tuple[pd.Timestamp, pd.Timestamp]:
    if end is None:
        summary_end = summary["last_purchase"].max()
        if pd.isna(summary_end):
            raise ValueError("no sales yet: import transactions first")
        end = summary_end
    end = pd.Timestamp(end).normalize()
    start = (end - pd.DateOffset(months=months) + pd.Timedelta(days=1) if start is None
             else pd.Timestamp(start).normalize())
    if start > end:
        raise ValueError(f"the period starts ({start:%Y-%m-%d}) after it ends ({end:%Y-%m-%d})")
    return start, end


def wallet_from_file(engine: Engine, path, *, start=None, end=None, months: int = 12,
                     categories=None, encoding: str | None = None, sheet: str | None = None,
                     date_order: str | None = None) -> WalletResult:
    """Share of wallet from a CSV/XLSX file of customer (external id) and category spend.

    Optional columns ``period_start`` / ``period_end`` give each row its own period; otherwise
    the period is ``start`` to ``end`` (dates, both included), by default the ``months`` months
    ending on the last stored sale. Rows with an unknown customer, a missing, negative or
    unreadable amount, a bad date or a repeated customer are left out and reported by line.
    """
    source = str(path)
    table = read_table(path, encoding=encoding, sheet=sheet)
    columns = _map_headers(list(table.frame.columns), source)
    problems = Problems(table.lines, columns.labels())
    for line, column, value, message in table.problems:
        problems.add(line, column, value, message)
    frame = table.frame

    def parsed(name, parser, *args):
        raw = frame[columns.fields[name]]
        values, errors, *_ = parser(raw, *args)
        problems.flag(errors.notna().to_numpy(), name, raw, errors)
        return values, errors.notna().to_numpy()

    customer, bad = parsed("customer", parse_code, 64)
    missing = customer.isna().to_numpy()
    problems.flag(missing, "customer", None, "missing customer id; every row needs one")
    spend, bad_spend = parsed("category_spend", parse_amount)
    no_spend = spend.isna().to_numpy() & ~bad_spend
    problems.flag(no_spend, "category_spend", None,
                  "no category spend: the row is left out (an unknown amount is not 0)")
    negative = (spend < 0).to_numpy()
    problems.flag(negative, "category_spend", frame[columns.fields["category_spend"]],
                  "the category spend cannot be negative")
    summary = read_customer_summary(engine)
    default_start, default_end = _default_period(summary, start, end, months)
    starts = pd.Series(default_start, index=frame.index)
    ends = pd.Series(default_end, index=frame.index)
    bad_dates = np.zeros(len(frame), dtype=bool)
    for name, target in (("period_start", starts), ("period_end", ends)):
        if name in columns.fields:
            days, wrong = parsed(name, parse_date, date_order)
            bad_dates |= wrong
            given = days.notna().to_numpy()
            target[given] = pd.to_datetime(days[given].astype(str))
    backwards = (starts > ends).to_numpy() & ~bad_dates
    problems.flag(backwards, "period_end", None, "the period ends before it starts")
    bad = bad | missing | bad_spend | no_spend | negative | bad_dates | backwards
    repeated = customer.duplicated(keep="first").to_numpy() & ~missing
    for pos in np.flatnonzero(repeated & ~bad):
        first = int(table.lines[np.flatnonzero((customer == customer.iloc[pos]).to_numpy())[0]])
        problems.add(int(table.lines[pos]), problems.label("customer"), customer.iloc[pos],
                     f"customer appears twice: lines {first} and {int(table.lines[pos])}; "
                     "keep one row per customer")
    bad |= repeated
    rows = pd.DataFrame({"customer_id": customer, "category_spend": spend, "period_start": starts,
                         "period_end": ends, "where": [f"line {int(n)}" for n in table.lines]})
    known = set(read_customers(engine)["customer_id"])
    unknown = ~bad & ~customer.isin(known).to_numpy()
    problems.flag(unknown, "customer", customer,
                  "customer is not in the panel; check the id or import the customer first")
    problems_text = [issue.to_text() for issue in problems.sorted()]
    return _shares(engine, rows[~(bad | unknown)], categories, problems_text, source,
                   left_out=int((bad | unknown).sum()), summary=summary)


def wallet_from_item(engine: Engine, item: str, *, months: int = 12,
                     categories=None) -> WalletResult:
    """Share of wallet from each customer's latest answer to survey item ``item`` (the
    customer's category spend over the ``months`` months up to the answer's day). Responses
    flagged by cleaning and responses without a known customer are left out."""
    responses = read_responses(engine)
    responses = responses[responses["customer_id"].notna()
                          & responses["quality_flags"].map(lambda f: not f)]
    answers = read_answers(engine, item_codes=[item])
    answers = answers[answers["value_num"].notna() | answers["value_text"].notna()]
    joined = responses.merge(answers, on="response_pk").sort_values("submitted_at")
    if joined.empty:
        raise ValueError(f"no answers to item {item!r} from known customers; check the item "
                         "code (it is the column name of the answers in the response import)")
    latest = joined.groupby("customer_id").tail(1)
    where = [f"response {r} (customer {c})" for r, c in zip(latest["response_id"],
                                                              latest["customer_id"],
                                                              strict=True)]
    problems = []
    for place, number, text in zip(where, latest["value_num"], latest["value_text"],
                                   strict=True):
        if pd.isna(number):
            problems.append(f"{place}: {text!r} — the answer to {item!r} is not a number")
        elif number < 0:
            problems.append(f"{place}: {number:g} — the category spend cannot be negative")
    ends = _days(latest["submitted_at"])
    rows = pd.DataFrame({"customer_id": latest["customer_id"].to_numpy(),
                         "category_spend": latest["value_num"].to_numpy(dtype=float),
                         "period_start": (ends - pd.DateOffset(months=months)
                                          + pd.Timedelta(days=1)).to_numpy(),
                         "period_end": ends.to_numpy(), "where": where})
    ok = rows["category_spend"].notna() & (rows["category_spend"] >= 0)
    return _shares(engine, rows[ok.to_numpy()], categories, problems, f"item {item!r}",
                   left_out=int((~ok).sum()), summary=read_customer_summary(engine))


def _days(values: pd.Series) -> pd.Series:
    """Calendar days of timestamps (time zone dropped)."""
    stamps = pd.to_datetime(values)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps.dt.normalize()


def _our_spend(engine: Engine, rows: pd.DataFrame, categories) -> pd.Series:
    sales = read_transactions(engine)
    if categories:
        wanted = list(categories)
        stored = set(sales["category"].dropna())
        unknown = [c for c in wanted if c not in stored]
        if unknown:
            raise ValueError(f"no sales in category {', '.join(map(repr, unknown))}; the "
                             f"stored categories are {', '.join(map(repr, sorted(stored)))}")
        sales = sales[sales["category"].isin(wanted)]
    day = _days(sales["occurred_at"])
    sales = pd.DataFrame({"customer_id": sales["customer_id"].to_numpy(),
                          "day": day.to_numpy(), "amount": sales["amount"].to_numpy(float)})
    merged = rows[["customer_id", "period_start", "period_end"]].merge(sales, on="customer_id")
    inside = (merged["day"] >= merged["period_start"]) & (merged["day"] <= merged["period_end"])
    return merged[inside].groupby("customer_id")["amount"].sum().reindex(rows["customer_id"],
                                                                        fill_value=0.0)


def _shares(engine: Engine, rows: pd.DataFrame, categories, problems: list[str],
            source: str, *, left_out: int, summary: pd.DataFrame) -> WalletResult:
    if rows.empty:
        listed = "\n".join(problems[:20])
        raise ValueError(f"{source}: no usable rows for share of wallet"
                         + (f":\n{listed}" if listed else ""))
    notes = []
    ours = _our_spend(engine, rows, categories)
    refunds = (ours < 0).to_numpy()
    for place in rows["where"][refunds]:
        notes.append(f"{place}: refunds exceed our sales in the period; our spend counts as 0")
    ours = pd.Series(np.clip(ours.to_numpy(), 0.0, None), index=rows["customer_id"])
    total = pd.Series(rows["category_spend"].to_numpy(), index=rows["customer_id"])
    over = (ours > total).to_numpy()
    for place, stated, our in zip(rows["where"][over], total[over], ours[over], strict=True):
        notes.append(f"{place}: the stated category spend {stated:,.2f} is below our own sales "
                     f"{our:,.2f} in the period; " + ("the share is capped at 100%" if stated > 0
                                                      else "the share is unknown"))
    share = share_of_wallet(ours, total)
    tiers = value_tiers(summary["total_spend"])["tier"].reindex(total.index).fillna("no sales")
    names = read_customers(engine).set_index("customer_id")["name"]
    table = pd.DataFrame({
        "name": names.reindex(total.index).to_numpy(),
        "period_start": rows["period_start"].dt.strftime("%Y-%m-%d").to_numpy(),
        "period_end": rows["period_end"].dt.strftime("%Y-%m-%d").to_numpy(),
        "category_spend": total.to_numpy(), "our_spend": ours.round(2).to_numpy(),
        "share_of_wallet": share.to_numpy(), "value_tier": tiers.to_numpy()},
        index=pd.Index(total.index, name="customer_id"))
    table = table.sort_values("category_spend", ascending=False, kind="stable")
    return WalletResult(customers=table, tiers=_by_tier(table), problems=problems, notes=notes,
                        left_out=left_out)


def _by_tier(table: pd.DataFrame) -> pd.DataFrame:
    known = table[table["share_of_wallet"].notna()]

    def summarise(part: pd.DataFrame) -> dict:
        wallet, ours = part["category_spend"].sum(), part["our_spend"].sum()
        captured = np.minimum(part["our_spend"], part["category_spend"]).sum()
        return {"customers": len(part), "mean_share": part["share_of_wallet"].mean(),
                "median_share": part["share_of_wallet"].median(),
                "pooled_share": captured / wallet if wallet > 0 else np.nan,
                "category_spend": wallet, "our_spend": ours, "headroom": wallet - captured}

    rows = {tier: summarise(known[known["value_tier"] == tier]) for tier in _TIER_ORDER
            if (known["value_tier"] == tier).any()}
    rows["all"] = summarise(known)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "value_tier"
    return out


__all__ = ["WALLET_ALIASES", "WalletResult", "wallet_from_file", "wallet_from_item"]
