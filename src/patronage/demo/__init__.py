"""A realistic demo company with a known truth (issue 2, item 4).

:func:`generate` simulates an equipment-and-service company with about 5,000 business customers
in China and abroad: two years of purchases from a buy-till-you-die process, four quarterly waves
of a relationship survey answered from a latent satisfaction model, touchpoints,
complaints and cases and recorded defections to four competitors. Everything
is drawn from ``numpy.random.Generator(PCG64)`` streams spawned from the seed, so the same seed
gives identical frames. The parameters that generated the data are returned in
:class:`DemoTruth`, so tests can check that the analytics recover them.

:func:`build_demo_database` writes the company into a database and creates three logins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from patronage.demo.care import CareTruth, DemoCare, generate_care
from patronage.demo.desk import DemoDesk, build_desk
from patronage.demo.extra_surveys import DemoExtra, generate_extra
from patronage.demo.improvement import DemoImprovement, ImprovementTruth, generate_improvement
from patronage.demo.members import DemoMembers, MembersTruth, generate_members
from patronage.demo.population import (
    DIMENSIONS,
    LOYALTY_FLAG_NAMES,
    LOYALTY_FLAG_YES,
    assign_tiers,
    generate_customers,
    loyalty_flags,
)
from patronage.demo.pulse import DeskTruth
from patronage.demo.purchases import simulate_purchases
from patronage.demo.service import (
    competitor_frame,
    defections,
    generate_cases,
    generate_touchpoints,
)
from patronage.demo.surveys import (
    DEFAULT_EXPECTATION_GAP,
    DIMENSION_EFFECTS,
    EXPECTATION_GAPS,
    KANO_CATEGORIES,
    SERVICE_TREND,
    driver_effects,
    generate_survey,
    satisfaction_scale,
)

MIN_CUSTOMERS = 200


@dataclass(frozen=True)
class DemoTruth:
    """The parameters the demo data were generated from.

    * ``dimension_effects``: true standardized effect of each latent dimension (product,
      service, brand, price, communication) on overall satisfaction;
    * ``driver_effects``: per perception item, its dimension's effect times its loading;
    * ``kano_categories``: Kano attribute -> true category (A, O, M, I);
    * ``customer_params``: per customer (index: external id) ``lambda`` (purchases per year
      while alive), ``p`` (dropout probability after each purchase), ``alive``,
      ``defected_at``, ``declining_key_account``, ``mean_spend``, ``acquired_at``;
    * ``nps_by_wave``: the NPS of the wave's whole eligible population implied by the model
      (a wave's ~800 answers estimate it with a standard error of about 3 points);
    * ``respondent_nps_by_wave``: the expected NPS given the wave's actual respondents;
    * ``expectation_gaps``: designed expectation minus perception centre (scale points) for
      items whose gap differs from ``default_expectation_gap``;
    * ``service_trend``: improvement of the service latent per wave (latent SD units);
    * ``response_latent``: per response (external id) the latent dimension values and the
      standardized overall satisfaction ``satisfaction``;
    * ``servqual_gaps``: true SERVQUAL gap (perception − expectation) per dimension;
    * ``ces_effort``: expected CES answer (1 very easy … 7 very hard) per case type, and
      ``ces_case_type``: per CES response (external id) the type of the case it followed;
    * ``competitor`` and ``competitor_gaps``: the rated competitor and, per product item, the
      true own − competitor difference (see :mod:`patronage.demo.extra_surveys`);
    * ``desk``: the case desk's planted recovery-paradox effect on the pulse survey and what it
      implies for the analysis (see :mod:`patronage.demo.pulse`);
    * ``care``: the care history's planted reach rates, overdue visits and win-back uplift
      (see :mod:`patronage.demo.care`);
    * ``members``: who joined the membership programme and the planted effect of joining on
      purchases, spend and retention (see :mod:`patronage.demo.members`);
    * ``improvement``: the improvement cycle's planted team qualities, slipping standard and
      action effects (see :mod:`patronage.demo.improvement`);
    * ``loyalty_flags``: per customer, whether the CRM marks them as having few alternatives
      (monopoly) or as a relationship customer (affinity) (see
      :func:`patronage.demo.population.loyalty_flags`).
    """

    dimension_effects: dict
    driver_effects: dict
    kano_categories: dict
    customer_params: pd.DataFrame
    nps_by_wave: dict
    respondent_nps_by_wave: dict
    expectation_gaps: dict
    default_expectation_gap: float
    service_trend: float
    response_latent: pd.DataFrame
    servqual_gaps: dict = field(default_factory=dict)
    ces_effort: dict = field(default_factory=dict)
    ces_case_type: pd.Series | None = None
    competitor: str = ""
    competitor_gaps: dict = field(default_factory=dict)
    desk: DeskTruth | None = None
    care: CareTruth | None = None
    members: MembersTruth | None = None
    loyalty_flags: pd.DataFrame | None = None
    improvement: ImprovementTruth | None = None


@dataclass(frozen=True)
class DemoCompany:
    """The demo company's tables as DataFrames.

    Rows refer to each other by external keys, not database ids: ``customer_id`` columns hold
    the customer's external id (``C00001``), ``response_id`` the response's external id,
    ``wave`` the wave name, ``invitation_token`` the invitation's token and ``survey`` the survey
    code. :func:`patronage.demo.install.install` maps them to database keys. ``extra`` holds
    the SERVQUAL-22 and CES surveys and the competitor ratings (not part of :meth:`frames`).
    """

    customers: pd.DataFrame
    transactions: pd.DataFrame
    touchpoints: pd.DataFrame
    competitors: pd.DataFrame
    surveys: pd.DataFrame
    waves: pd.DataFrame
    invitations: pd.DataFrame
    responses: pd.DataFrame
    answers: pd.DataFrame
    cases: pd.DataFrame
    truth: DemoTruth
    extra: DemoExtra | None = None
    desk: DemoDesk | None = None
    care: DemoCare | None = None
    members: DemoMembers | None = None
    improvement: DemoImprovement | None = None

    def frames(self) -> dict[str, pd.DataFrame]:
        """The table frames by table name (insertion order)."""
        return {name: getattr(self, name) for name in (
            "customers", "transactions", "touchpoints", "competitors", "surveys", "waves",
            "invitations", "responses", "answers", "cases")}


def _streams(seed: int, count: int) -> list[np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(count)
    return [np.random.Generator(np.random.PCG64(child)) for child in children]


def generate(seed: int = 2026, n_customers: int = 5000, *,
             today: date = date(2026, 6, 30)) -> DemoCompany:
    """Simulate the demo company: same ``seed`` (and arguments), identical frames."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)) \
            or n_customers < MIN_CUSTOMERS:
        raise ValueError(f"n_customers must be an integer of at least {MIN_CUSTOMERS} (enough to "
                         f"fill four survey waves), not {n_customers!r}")
    if not isinstance(today, date):
        raise ValueError(f"today must be a datetime.date, not {today!r}")
    people_rng, purchase_rng, survey_rng, service_rng = _streams(int(seed), 4)
    customers = generate_customers(people_rng, int(n_customers), today)
    latent_u = customers[[f"u_{d}" for d in DIMENSIONS]].to_numpy()
    beta = np.array([DIMENSION_EFFECTS[d] for d in DIMENSIONS])
    baseline = latent_u @ beta / satisfaction_scale()
    transactions, params = simulate_purchases(purchase_rng, customers, baseline, today)
    survey = generate_survey(survey_rng, customers, params, latent_u, today)
    touchpoints = generate_touchpoints(service_rng, customers, params, transactions,
                                       survey["responses"], today)
    cases = generate_cases(service_rng, touchpoints, survey["responses"], survey["answers"], today)
    defected = defections(service_rng, params)

    value = transactions.groupby("customer_id")["amount"].sum().reindex(
        customers["external_id"]).fillna(0.0)
    flags = loyalty_flags(int(seed), customers["external_id"])
    attributes = []
    for ext in customers["external_id"]:
        attrs = {"demo": True}
        if ext in defected.index:
            attrs["defected_to"] = str(defected.at[ext, "defected_to"])
            attrs["defection_reason"] = str(defected.at[ext, "defection_reason"])
        for flag, name in LOYALTY_FLAG_NAMES.items():
            if flags.at[ext, flag]:
                attrs[name] = LOYALTY_FLAG_YES
        attributes.append(attrs)
    public = customers.drop(columns=["acquired_at", "chinese", *[f"u_{d}" for d in DIMENSIONS]])
    public = public.assign(tier=assign_tiers(value).to_numpy(), attributes=attributes)
    public = public[["external_id", "name", "phone", "email", "birthday", "region", "industry",
                     "size", "channel", "tier", "consent_survey", "consent_marketing",
                     "consent_care", "attributes", "created_at", "updated_at"]]
    extra, extra_truth = generate_extra(int(seed), public, params, cases, survey["responses"],
                                        survey["answers"], survey["waves"], today)
    desk, cases, extra, desk_truth = build_desk(
        int(seed), public, params, pd.Series(baseline, index=customers["external_id"].to_numpy()),
        cases, survey["waves"], extra, transactions, today)
    # Care last: it adds the customers' care columns and the planted win-back purchases.
    care = generate_care(int(seed), public, params, transactions, touchpoints, desk, today)
    public = public.assign(**{col: care.customers[col].to_numpy() for col in care.customers})
    transactions = pd.concat([transactions, care.purchases], ignore_index=True).sort_values(
        ["occurred_at", "external_id"], kind="stable", ignore_index=True)
    # The membership programme after care: it adds its members' extra purchases and links
    # refunds to their purchases; nothing before it sees them.
    members, transactions = generate_members(int(seed), public, params, transactions, today)
    # The improvement cycle last: it gives the touchpoints their site, team and agent, slows one
    # site's calls for a quarter and raises one segment's last-wave service answers.
    improvement, touchpoints, answers = generate_improvement(
        int(seed), public, pd.Series(baseline, index=customers["external_id"].to_numpy()),
        touchpoints, survey["responses"], survey["answers"], survey["waves"])
    truth = DemoTruth(
        dimension_effects=dict(DIMENSION_EFFECTS),
        driver_effects=driver_effects(),
        kano_categories=dict(KANO_CATEGORIES),
        customer_params=params,
        nps_by_wave=survey["truth"]["nps_by_wave"],
        respondent_nps_by_wave=survey["truth"]["respondent_nps_by_wave"],
        expectation_gaps=dict(EXPECTATION_GAPS),
        default_expectation_gap=DEFAULT_EXPECTATION_GAP,
        service_trend=SERVICE_TREND,
        response_latent=survey["truth"]["response_latent"],
        **extra_truth,
        desk=desk_truth,
        care=care.truth,
        members=members.truth,
        loyalty_flags=flags,
        improvement=improvement.truth,
    )
    return DemoCompany(
        customers=public, transactions=transactions, touchpoints=touchpoints,
        competitors=competitor_frame(), surveys=survey["surveys"], waves=survey["waves"],
        invitations=survey["invitations"], responses=survey["responses"],
        answers=answers, cases=cases, truth=truth, extra=extra, desk=desk,
        care=care, members=members, improvement=improvement,
    )


from patronage.demo.install import DemoSummary, build_demo_database, install  # noqa: E402

__all__ = [
    "DemoCompany",
    "DemoSummary",
    "DemoTruth",
    "build_demo_database",
    "generate",
    "install",
]
