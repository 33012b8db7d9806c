"""The demo's planted loyalty attributes are found by the loyalty types: the CRM marks some
customers as having few alternatives (a sole supplier) or as relationship customers, at random
and whatever they buy; among those who buy repeatedly (the rules' behavioural conditions) the
analysis calls exactly the marked ones monopoly and affinity loyal, and nobody else; the
command line lists them too."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from patronage.analytics.loyalty_types import THRESHOLDS
from patronage.cli import main
from patronage.members.report import loyalty_types
from patronage.storage import make_engine

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture(scope="module")
def typed(demo_company):
    url, _summary, company = demo_company
    engine = make_engine(url)
    try:
        yield url, loyalty_types(engine), company.truth.loyalty_flags
    finally:
        engine.dispose()


def _loyal(types):
    t = THRESHOLDS
    return ((types["purchases"] >= t["min_purchases"])
            & (types["frequency_pct"] >= t["min_frequency_pct"])
            & (types["recency_days"] <= t["max_recency_days"]))


def test_the_planted_sole_suppliers_and_relationship_customers_are_found(typed):
    _url, types, flags = typed
    flags = flags.reindex(types.index, fill_value=False)
    loyal = _loyal(types)
    monopoly = types.index[types["loyalty_type"] == "monopoly"]
    affinity = types.index[types["loyalty_type"] == "affinity"]
    # Exactly the marked customers among the repeat buyers ...
    assert set(monopoly) == set(types.index[flags["few_alternatives"] & loyal])
    assert set(affinity) == set(types.index[flags["affinity"] & loyal])
    # ... and enough of them to read as types on the demo (about 6 % and 4 % are marked).
    assert len(monopoly) >= 30 and len(affinity) >= 20
    # The attributes reach the features as flags.
    assert types.loc[flags["few_alternatives"], "few_alternatives"].eq(1).all()
    assert types.loc[~flags["few_alternatives"] & ~flags["affinity"],
                     ["few_alternatives", "affinity"]].isna().all().all()


def test_the_command_lists_the_monopoly_loyal(typed):
    url, types, _flags = typed
    done = CliRunner().invoke(main, ["analyze", "loyalty-types", "--db", url, "--type",
                                     "monopoly", "--format", "csv"])
    assert done.exit_code == 0, done.output
    listed = [line.split(",")[0].lstrip("\ufeff") for line in done.output.splitlines()
              if line.startswith(("C", "\ufeffC"))]
    assert sorted(listed) == sorted(types.index[types["loyalty_type"] == "monopoly"])
