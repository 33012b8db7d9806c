"""Lists of named customers to act on: everyone behind a loyalty-page table (all customers by
CLV, all at risk, an RFM segment, the customers behind the whale curve and those it bends down
for) and the respondents who rated a driver low, plus what the selection forms offer.

Each list is a :class:`CustomerList`: a table indexed by the customer's id with a ``name``
column, ``attrs["links"]`` mapping each id to the customer's profile key (the same shape as the
loyalty page's tables), a translated title and what the list is, counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, select

from patronage.care.selection import SURVEY_CHANNELS
from patronage.care.tasks import TYPE_LABELS
from patronage.index_system import load_index_system
from patronage.labels import labels_for
from patronage.messages import N_, UserError
from patronage.reporting.case_desk import staff_choices, team_choices
from patronage.reporting.formats import wave_label
from patronage.reporting.loyalty import at_risk_reason
from patronage.reporting.shared import (
    at_risk_table,
    clv_table,
    fit_value_models,
    rfm_table,
    whale_table,
)
from patronage.storage import read_answers, read_customers, read_responses
from patronage.storage.schema import customers, surveys
from patronage.surveys.admin import open_surveys

#: The loyalty lists: key and English title (translated where shown).
LOYALTY_LISTS = {
    "clv": N_("All customers by lifetime value, most valuable first"),
    "at_risk": N_("All customers at risk of defecting, most valuable first"),
    "segment": N_("RFM segment: {segment}"),
    "whales": N_("The most profitable customers: those behind 80% of the profit"),
    "unprofitable": N_("Customers who cost more to serve than they bring, largest loss first"),
}
#: Share of the total profit the "whales" list covers (the top of the whale curve).
WHALE_SHARE = 80.0
#: What the selection forms offer as actions.
ACTIONS = {"task": N_("Schedule follow-up tasks"), "survey": N_("Send a survey"),
           "campaign": N_("Start a campaign"), "case": N_("Open a case"),
           "enrol": N_("Enrol in the membership programme")}
#: Columns these lists add to the loyalty page's (English, translated where shown).
COLUMN_LABELS = {"profit": N_("Profit"), "profit_share": N_("Cumulative share of profit"),
                 "frequency": N_("Purchase days"), "rfm_code": N_("RFM code"),
                 "rating": N_("Rating"), "wave": N_("Wave"), "answered": N_("Answered on"),
                 "tier": N_("Tier")}
#: The most rows a list page shows (and "select all" takes).
LIST_ROWS = 1000
#: Highest rating counted as low on the respondents list, by default (a 1–10 scale).
LOW_RATING = 6.0


@dataclass(frozen=True)
class CustomerList:
    """A list of customers to show with the selection form."""

    key: str
    title: str
    table: pd.DataFrame
    total: int
    note: str | None = None

    @property
    def ids(self) -> list[int]:
        """The profile keys of the customers shown, in order."""
        links = self.table.attrs.get("links", {})
        return [links[i] for i in self.table.index if i in links]


def _finish(key: str, title: str, table: pd.DataFrame, engine: Engine,
            note: str | None = None) -> CustomerList:
    """At most :data:`LIST_ROWS` rows, each linked to the customer's profile."""
    total = len(table)
    shown = table.head(LIST_ROWS).copy()
    keys = read_customers(engine)[["customer_id", "customer_pk"]].set_index("customer_id")
    shown.attrs["links"] = {i: int(keys.at[i, "customer_pk"]) for i in shown.index
                            if i in keys.index}
    return CustomerList(key, title, shown, total, note)


def loyalty_list(engine: Engine, key: str, *, segment: str = "", gettext=lambda s: s,
                 language: str = "en", filters=None) -> CustomerList:
    """The customers behind one of the loyalty page's tables (see :data:`LOYALTY_LISTS`),
    among those the segment filters of ``filters`` keep (as on the page)."""
    from patronage.reporting.filters import customer_filters
    from patronage.reporting.loyalty import chosen_customers

    _ = gettext
    if key not in LOYALTY_LISTS:
        raise UserError(N_("There is no customer list {name!r}; the lists are {choices}."),
                        name=str(key)[:40], choices=", ".join(LOYALTY_LISTS))
    taken = customer_filters(filters)[0] if filters is not None else None
    customers = chosen_customers(engine, taken)[0]
    if customers is not None:
        return _filtered(_unfiltered_list(engine, key, segment, gettext, language, customers),
                         engine, taken, language, gettext)
    return _unfiltered_list(engine, key, segment, gettext, language, None)


def _filtered(listing: CustomerList, engine: Engine, filters, language, gettext):
    """A list of the customers some filters keep, saying which."""
    from patronage.reporting.report_build import describe_filters

    shown = describe_filters(engine, filters, language, gettext)
    note = f"{listing.note} {shown}" if listing.note else shown
    return CustomerList(listing.key, listing.title, listing.table, listing.total, note)


def _unfiltered_list(engine: Engine, key: str, segment: str, gettext, language: str,
                     customers) -> CustomerList:
    from patronage.loyalty.analysis import only

    _ = gettext
    models = fit_value_models(engine)
    if key == "clv":
        labels = labels_for(engine, language, gettext)
        table = only(clv_table(engine, models), customers, None)
        table = table[["name", "p_alive", "expected_purchases_90d", "clv", "value_tier"]]
        table = table.assign(value_tier=[labels("tier", t) for t in table["value_tier"]])
        return _finish(key, _(LOYALTY_LISTS[key]), table, engine)
    if key == "at_risk":
        table = only(at_risk_table(engine, models=models), customers, None)
        reasons = [at_risk_reason(row, _) for _i, row in table.iterrows()]
        table = table[["name", "p_alive_now", "value_at_risk"]].assign(reason=reasons)
        return _finish(key, _(LOYALTY_LISTS[key]), table, engine)
    if key == "segment":
        scores = only(rfm_table(engine, summary=models.summary), customers, None)
        if segment not in set(scores["segment"].dropna()):
            raise UserError(N_("There is no RFM segment {segment!r} among the customers."),
                            segment=str(segment)[:40])
        table = scores.loc[scores["segment"] == segment,
                           ["name", "recency_days", "frequency", "monetary", "rfm_code"]]
        table = table.sort_values("monetary", ascending=False)
        title = _(LOYALTY_LISTS[key]).format(segment=_(segment))
        return _finish(key, title, table, engine)
    curve, _figures = whale_table(engine, summary=models.summary, customers=customers)
    curve = curve.dropna(subset=["customer"]).set_index("customer")
    names = read_customers(engine).set_index("customer_id")["name"]
    curve = curve.assign(name=names.reindex(curve.index).to_numpy())
    if key == "whales":
        before = curve["cumulative_profit_pct"].shift(fill_value=0.0)
        table = curve.loc[before < WHALE_SHARE, ["name", "profit", "cumulative_profit_pct"]]
        table = table.assign(profit_share=table.pop("cumulative_profit_pct") / 100.0)
        note = _("{count} of {total} customers bring {share} of the profit.").format(
            count=f"{len(table):,}", total=f"{len(curve):,}", share=f"{WHALE_SHARE:.0f}%")
    else:
        table = curve.loc[curve["profit"] < 0, ["name", "profit"]].sort_values("profit")
        note = None
    table.attrs["formats"] = {"profit_share": ("percent", 1)}
    return _finish(key, _(LOYALTY_LISTS[key]), table, engine, note)


def _items_of(code: str, answered) -> list[str]:
    """The answered items a driver stands for: the items of dimension ``code``, or the item."""
    system = load_index_system()
    items = system.items.loc[system.items["dimension"] == code, "item_code"].tolist()
    return [i for i in (items or [code]) if i in set(answered)]


def respondents(engine: Engine, survey: str | None, item: str, *, max_rating: float = LOW_RATING,
                gettext=lambda s: s, language: str = "en", filters=None) -> CustomerList:
    """Respondents whose latest answer to ``survey`` rated ``item`` (an item, or a dimension:
    the mean of its items answered) at most ``max_rating``, lowest first.

    Responses flagged by cleaning and anonymous ones are left out; a customer counts once, by
    the latest response. ``survey`` None: the survey with the most responses (as the analysis
    page)."""
    _ = gettext
    found = read_responses(engine, survey_code=survey or None)
    if not survey and not found.empty:
        survey = found["survey"].value_counts().idxmax()
        found = found[found["survey"] == survey]
    found = found[found["quality_flags"].map(lambda f: not f) & found["customer_id"].notna()]
    if filters is not None and filters.active:  # the analysis page's filters, as it applies them
        from patronage.satisfaction.sources import survey_data_from_db

        kept = filters.apply(survey_data_from_db(engine, survey)).meta.index
        found = found[found["response_id"].isin(kept)]
    if found.empty:
        raise UserError(N_("No responses for survey {survey!r} yet."), survey=survey or "")
    latest = found.sort_values("submitted_at").groupby("customer_id").tail(1)
    answers = read_answers(engine, survey_code=survey)
    codes = _items_of(str(item), answers["item_code"].unique())
    if not codes:
        raise UserError(N_("Survey {survey!r} has no answers to {item!r}."), survey=survey,
                        item=str(item)[:60])
    answers = answers[answers["item_code"].isin(codes)
                      & answers["response_pk"].isin(latest["response_pk"])]
    rating = answers.groupby("response_pk")["value_num"].mean().rename("rating")
    rated = latest.join(rating, on="response_pk", how="inner")
    low = rated[rated["rating"] <= max_rating].sort_values(["rating", "submitted_at"],
                                                           ascending=[True, False])
    names = read_customers(engine).set_index("customer_id")["name"]
    table = pd.DataFrame({"name": names.reindex(low["customer_id"]).to_numpy(),
                          "rating": low["rating"].to_numpy(),
                          "wave": [wave_label(w, _) if isinstance(w, str) else ""
                                   for w in low["wave"]],
                          "answered": low["submitted_at"].dt.strftime("%Y-%m-%d").to_numpy()},
                         index=pd.Index(low["customer_id"].to_numpy(), name="customer_id"))
    table.attrs["formats"] = {"rating": ("number", 1)}
    label = item_label(str(item), language)
    title = _("Respondents who rated {item} at most {max}").format(item=label,
                                                                   max=f"{max_rating:g}")
    note = _("{low} of {n} respondents (each customer's latest answer to {survey}).").format(
        low=f"{len(low):,}", n=f"{len(rated):,}", survey=survey_title(engine, survey))
    if filters is not None and filters.active:
        from patronage.reporting.report_build import describe_filters

        note = f"{note} {describe_filters(engine, filters, language, gettext)}"
    return _finish("respondents", title, table, engine, note)


def survey_title(engine: Engine, code: str) -> str:
    """The survey's stored title (its code when it has none)."""
    with engine.connect() as conn:
        title = conn.execute(select(surveys.c.title).where(surveys.c.code == code)).scalar()
    return title or code


def item_label(code: str, language: str) -> str:
    """A dimension's or item's label in ``language`` (the code when the index system has none)."""
    system = load_index_system()
    for kind in ("dimension", "item"):
        text = system.label(kind, code, language)
        if text != code:
            return text
    return code


def selected_customers(engine: Engine, ids: list[int], *, limit: int = 200) -> list[dict]:
    """``{id, customer_id, name, tier}`` of the first ``limit`` selected customers, in order."""
    c = customers.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.id, c.external_id, c.name, c.tier)
                            .where(c.id.in_(ids[:limit]))).mappings().all()
    by_id = {row["id"]: {"id": row["id"], "customer_id": row["external_id"],
                         "name": row["name"], "tier": row["tier"]} for row in rows}
    return [by_id[i] for i in ids[:limit] if i in by_id]


def action_choices(engine: Engine) -> dict:
    """What the selection form offers: actions, task types, staff, teams, open surveys and
    survey channels."""
    return {"actions": ACTIONS, "types": TYPE_LABELS, "staff": staff_choices(engine),
            "teams": team_choices(engine), "surveys": open_surveys(engine),
            "channels": SURVEY_CHANNELS}


__all__ = ["ACTIONS", "COLUMN_LABELS", "CustomerList", "LIST_ROWS", "LOW_RATING", "LOYALTY_LISTS",
           "action_choices", "item_label", "loyalty_list", "respondents",
           "selected_customers"]
