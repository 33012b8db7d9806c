"""Customer list and customer profile."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from patronage.reporting.case_remedies import customer_recovery_cost
from patronage.reporting.questions import QuestionTexts
from patronage.storage import (
    count_customers,
    read_answers,
    read_cases,
    read_customer,
    read_customers,
    read_responses,
    read_transactions,
)
from patronage.storage.schema import OPEN_CASE_STATUSES


@dataclass(frozen=True)
class CustomerPage:
    customers: pd.DataFrame
    total: int
    page: int
    pages: int
    search: str


def customer_list(engine: Engine, *, search: str = "", page: int = 1,
                  per_page: int = 50) -> CustomerPage:
    """One page of the customer list, filtered by ``search`` (id, name, phone or e-mail)."""
    search = (search or "").strip()[:100]
    total = count_customers(engine, search=search or None)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    frame = read_customers(engine, search=search or None, limit=per_page,
                           offset=(page - 1) * per_page)
    return CustomerPage(customers=frame, total=total, page=page, pages=pages, search=search)


@dataclass(frozen=True)
class CustomerProfile:
    customer: dict
    transactions: pd.DataFrame
    responses: pd.DataFrame
    answers: pd.DataFrame
    cases: pd.DataFrame
    stats: dict

    def to_dict(self) -> dict:
        def records(frame: pd.DataFrame) -> list[dict]:
            clean = frame.astype(object).where(frame.notna(), None)
            return clean.to_dict(orient="records")

        customer = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                    for k, v in self.customer.items()}
        return {"customer": customer, "stats": self.stats,
                "transactions": records(self.transactions), "responses": records(self.responses),
                "answers": records(self.answers), "cases": records(self.cases)}


def customer_profile(engine: Engine, customer_pk: int, *, language: str = "en",
                     gettext=lambda s: s) -> CustomerProfile | None:
    """Everything known about one customer, or None when there is no such customer.

    Each answer carries its ``question`` and the ``answer`` as shown, in ``language``.
    """
    customer = read_customer(engine, customer_pk)
    if customer is None:
        return None
    transactions = read_transactions(engine, customer_pk=customer_pk)
    responses = read_responses(engine, customer_pk=customer_pk)
    answers = read_answers(engine, customer_pk=customer_pk)
    key = responses.set_index("response_pk")["response_id"] if not responses.empty else {}
    if not answers.empty:
        answers = answers.assign(response_id=answers["response_pk"].map(key))
        survey_of = dict(zip(responses["response_id"], responses["survey"], strict=True))
        texts = QuestionTexts(engine, language, gettext)
        responses = responses.assign(title=[texts.title(s) for s in responses["survey"]])
        rows = zip(answers["response_id"], answers["item_code"], answers["value_num"],
                   answers["value_text"], strict=True)
        shown = [(texts.question(survey_of.get(r), c), texts.answer(survey_of.get(r), c, n, t))
                 for r, c, n, t in rows]
        answers = answers.assign(question=[q for q, _a in shown], answer=[a for _q, a in shown])
        answers = answers[["response_id", "item_code", "question", "answer", "value_num",
                           "value_text"]]
    cases = read_cases(engine, customer_pk=customer_pk)
    sales = transactions.loc[~transactions["is_refund"].astype(bool)] if not transactions.empty \
        else transactions
    nps = answers.loc[answers["item_code"] == "nps", "value_num"] if not answers.empty else []
    stats = {
        "transactions": len(sales),
        "revenue": float(transactions["amount"].sum()) if not transactions.empty else 0.0,
        "first_purchase": sales["occurred_at"].min().isoformat() if len(sales) else None,
        "last_purchase": sales["occurred_at"].max().isoformat() if len(sales) else None,
        "responses": len(responses),
        "latest_nps": float(nps.iloc[-1]) if len(nps) else None,
        "open_cases": int(cases["status"].isin(OPEN_CASE_STATUSES).sum()) if len(cases) else 0,
        **customer_recovery_cost(engine, customer_pk),
    }
    return CustomerProfile(customer=customer, transactions=transactions, responses=responses,
                           answers=answers, cases=cases, stats=stats)


__all__ = ["CustomerPage", "CustomerProfile", "customer_list", "customer_profile"]
