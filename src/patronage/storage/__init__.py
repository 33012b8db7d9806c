"""Storage: the customer panel schema, migrations, reads (DataFrames) and writes."""

from patronage.storage.data_version import PANEL_TABLES, DataVersion, quiet_transaction
from patronage.storage.engine import make_engine, write_transaction
from patronage.storage.migrate import current_revision, head_revision, pending, upgrade
from patronage.storage.reads import (
    count_customers,
    read_answers,
    read_cases,
    read_customer,
    read_customers,
    read_responses,
    read_surveys,
    read_touchpoints,
    read_transactions,
    read_waves,
)
from patronage.storage.writes import insert_rows

__all__ = [
    "DataVersion",
    "PANEL_TABLES",
    "count_customers",
    "current_revision",
    "head_revision",
    "insert_rows",
    "make_engine",
    "pending",
    "quiet_transaction",
    "read_answers",
    "read_cases",
    "read_customer",
    "read_customers",
    "read_responses",
    "read_surveys",
    "read_touchpoints",
    "read_transactions",
    "read_waves",
    "upgrade",
    "write_transaction",
]
