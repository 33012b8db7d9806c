"""PostgreSQL: transactions partitioned by month

The table becomes ``PARTITION BY RANGE (occurred_at)`` with one partition per month the data
covers (and this month and the next three), plus a DEFAULT partition for everything else, so
that no insert ever fails; ``patronage.storage.partitions`` makes later months' partitions (bulk
writes, the worker). The rows are copied across in one transaction, ids kept, and the id
sequence carries on.

A partitioned table's primary key and unique indexes must contain the partition key: the primary
key becomes ``(id, occurred_at)`` and ``UNIQUE (external_id)`` becomes a plain index plus two
statement-level triggers (insert, update) that check the written rows, as a set, against the
table under an advisory lock, and fail with the unique violation's SQLSTATE. No foreign key
points at ``transactions`` (the ledger's reference was dropped by 0009), so none is lost.
SQLite keeps its plain table: nothing changes there.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from datetime import date

from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_AHEAD = 3
_CHECK = "transactions_external_id_unique"

_FUNCTION = f"""
CREATE FUNCTION {_CHECK}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    taken text;
BEGIN
    -- One checker at a time per schema, so that two writers of one id cannot both pass; the
    -- query below runs after the wait and sees what the other one committed.
    PERFORM pg_advisory_xact_lock(hashtext(TG_TABLE_SCHEMA || '.transactions.external_id'));
    EXECUTE format('SELECT w.external_id FROM written w JOIN %I.%I t '
                   'ON t.external_id = w.external_id AND t.id <> w.id LIMIT 1',
                   TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO taken;
    IF taken IS NOT NULL THEN
        RAISE EXCEPTION 'duplicate key value violates unique constraint '
                        '"uq_transactions_external_id"'
            USING ERRCODE = 'unique_violation',
                  DETAIL = format('Key (external_id)=(%s) already exists.', taken),
                  CONSTRAINT = 'uq_transactions_external_id',
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
    END IF;
    RETURN NULL;
END
$$
"""


def _months(conn) -> list[date]:
    """The months of the stored rows, this month and the next ones."""
    today = date.today()
    months = {date(today.year, today.month, 1)}
    for _ in range(_AHEAD):
        last = max(months)
        months.add(date(last.year + last.month // 12, last.month % 12 + 1, 1))
    rows = conn.exec_driver_sql(
        "SELECT DISTINCT date_trunc('month', occurred_at)::date FROM transactions").scalars()
    months.update(m for m in rows if 1900 <= m.year <= 2999)
    return sorted(months)


def _sequence(conn) -> str:
    return conn.exec_driver_sql("SELECT pg_get_serial_sequence('transactions', 'id')").scalar()


def _referrers(conn) -> list[str]:
    return list(conn.exec_driver_sql(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND "
        "confrelid = 'transactions'::regclass").scalars())


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    conn = op.get_bind()
    if _referrers(conn):  # pragma: no cover - guards a schema this migration does not know
        raise RuntimeError(f"foreign keys point at transactions: {_referrers(conn)}")
    months = _months(conn)
    sequence = _sequence(conn)
    op.execute("CREATE TABLE transactions_partitioned (LIKE transactions INCLUDING DEFAULTS "
               "INCLUDING CONSTRAINTS) PARTITION BY RANGE (occurred_at)")
    op.execute("CREATE TABLE transactions_default PARTITION OF transactions_partitioned DEFAULT")
    for month in months:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        op.execute(f"CREATE TABLE transactions_y{month.year:04d}m{month.month:02d} PARTITION OF "
                   f"transactions_partitioned FOR VALUES FROM ('{month}') TO ('{following}')")
    op.execute("INSERT INTO transactions_partitioned SELECT * FROM transactions")
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY NONE")
    op.execute("DROP TABLE transactions")
    op.execute("ALTER TABLE transactions_partitioned RENAME TO transactions")
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY transactions.id")
    op.execute("ALTER TABLE transactions ADD CONSTRAINT pk_transactions "
               "PRIMARY KEY (id, occurred_at)")
    op.execute("CREATE INDEX ix_transactions_customer_time ON transactions "
               "(customer_id, occurred_at)")
    op.execute("CREATE INDEX ix_transactions_external_id ON transactions (external_id)")
    op.execute("ALTER TABLE transactions ADD CONSTRAINT fk_transactions_customer_id_customers "
               "FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE")
    op.execute(_FUNCTION)
    for event in ("INSERT", "UPDATE"):
        op.execute(f"CREATE TRIGGER {_CHECK}_{event.lower()} AFTER {event} ON transactions "
                   "REFERENCING NEW TABLE AS written FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION {_CHECK}()")
    op.execute("ANALYZE transactions")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    conn = op.get_bind()
    sequence = _sequence(conn)
    op.execute("CREATE TABLE transactions_plain (LIKE transactions INCLUDING DEFAULTS "
               "INCLUDING CONSTRAINTS)")
    op.execute("INSERT INTO transactions_plain SELECT * FROM transactions ORDER BY id")
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY NONE")
    op.execute("DROP TABLE transactions")  # and its partitions and triggers
    op.execute(f"DROP FUNCTION {_CHECK}()")
    op.execute("ALTER TABLE transactions_plain RENAME TO transactions")
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY transactions.id")
    op.execute("ALTER TABLE transactions ADD CONSTRAINT pk_transactions PRIMARY KEY (id)")
    op.execute("ALTER TABLE transactions ADD CONSTRAINT uq_transactions_external_id "
               "UNIQUE (external_id)")
    op.execute("CREATE INDEX ix_transactions_customer_time ON transactions "
               "(customer_id, occurred_at)")
    op.execute("ALTER TABLE transactions ADD CONSTRAINT fk_transactions_customer_id_customers "
               "FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE")
    op.execute("ANALYZE transactions")
