"""points ledger: a transfer's kind is checked by a chain of equalities, not an ``IN`` list

SQLite evaluates a check constraint's ``IN (…)`` list at a cost of about 18,000 machine
instructions per written row: a third of the cost of inserting a transfer, which the accrual
does a million times on the 1M-transaction benchmark. ``kind = 'earn' OR kind = 'bonus' OR …``
accepts and refuses exactly the same kinds at about 200 (instruction counts of valgrind's
callgrind, inserting 112,590 transfers into a ledger of a million). PostgreSQL gets the same
text, so that both databases hold the constraint the schema declares.

On SQLite the table is rebuilt (a check cannot be altered in place), and with it the
append-only trigger that a rebuild drops.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

_KINDS = ("earn", "bonus", "refund", "settle", "redeem", "cancel", "expire", "adjust",
          "compensation", "write_off")
_NAME = "ck_point_transfers_kind"
#: The columns of a transfer that must never change once written (as in 0009).
_FIXED = ("debit_account_id, credit_account_id, points, kind, member_id, source_key, "
          "occurred_at, earned_on, expires_on, actor_id, reason, created_at, base_points")


def _equalities() -> str:
    return "(" + " OR ".join(f"kind = '{kind}'" for kind in _KINDS) + ")"


def _in_list() -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in _KINDS) + ")"


def _replace(check: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE point_transfers DROP CONSTRAINT {_NAME}")
        op.execute(f"ALTER TABLE point_transfers ADD CONSTRAINT {_NAME} CHECK ({check})")
        return
    op.execute("DROP TRIGGER IF EXISTS point_transfers_append_only")
    with op.batch_alter_table('point_transfers', recreate="always") as batch_op:
        batch_op.drop_constraint(op.f(_NAME), type_='check')
        batch_op.create_check_constraint(op.f(_NAME), check)
    op.execute(f"CREATE TRIGGER point_transfers_append_only BEFORE UPDATE OF {_FIXED} "
               "ON point_transfers BEGIN "
               "SELECT RAISE(ABORT, 'point transfers are append-only'); END")


def upgrade() -> None:
    _replace(_equalities())


def downgrade() -> None:
    _replace(_in_list())
