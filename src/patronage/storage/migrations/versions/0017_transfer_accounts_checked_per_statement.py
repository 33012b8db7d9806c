"""PostgreSQL: a transfer's two accounts are checked once per statement, not once per row

The foreign keys from ``point_transfers`` to its debit and credit accounts were, on
PostgreSQL, two row triggers per written transfer: each looked up its account and locked it
(``FOR KEY SHARE``). The accrual writes about a million transfers in a few statements, almost
all between the same programme account and the same hundred thousand member accounts; the two
checks cost the server about 40 % of its work on the 1M-transaction benchmark (19–21 s of
server CPU become 12 s without them).

They are replaced by statement-level triggers over the statement's transition table that keep
the same guarantees:

* after rows are inserted, the distinct accounts they name are locked ``FOR KEY SHARE`` at
  once (in id order), as the foreign keys locked them one by one, so that no concurrent
  transaction can delete them before this one commits; when fewer are found than named, the
  statement fails with the foreign-key-violation error (SQLSTATE 23503) naming an unknown one;
* the account columns of a transfer never change (the append-only trigger refuses it), so no
  update needs checking;
* deleting accounts deletes their transfers, as ``ON DELETE CASCADE`` did.

SQLite keeps its foreign keys (its checks are index look-ups within the same process, and a
SQLite trigger runs per row). The downgrade restores the foreign keys.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_ACCOUNT_FKS = (("fk_point_transfers_debit_account_id_point_accounts", "debit_account_id"),
                ("fk_point_transfers_credit_account_id_point_accounts", "credit_account_id"))

_CHECK = """
CREATE FUNCTION point_transfers_accounts_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    found bigint;
    missing integer;
BEGIN
    -- Lock the accounts named (in id order), then count them: an account deleted by a
    -- transaction that committed while this one waited for its lock is not found.
    WITH named AS (SELECT debit_account_id AS id FROM new_transfers
                   UNION SELECT credit_account_id FROM new_transfers),
         locked AS (SELECT a.id FROM point_accounts a WHERE a.id IN (SELECT id FROM named)
                    ORDER BY a.id FOR KEY SHARE OF a)
    SELECT (SELECT count(*) FROM named), (SELECT count(*) FROM locked) INTO wanted, found;
    IF found < wanted THEN
        SELECT n.id INTO missing
          FROM (SELECT debit_account_id AS id FROM new_transfers
                UNION SELECT credit_account_id FROM new_transfers) AS n
         WHERE NOT EXISTS (SELECT 1 FROM point_accounts a WHERE a.id = n.id)
         ORDER BY n.id LIMIT 1;
        RAISE EXCEPTION 'insert on table "point_transfers" violates the account check: '
                        'account % does not exist', missing
              USING ERRCODE = 'foreign_key_violation', TABLE = 'point_transfers',
                    CONSTRAINT = 'point_transfers_accounts_exist';
    END IF;
    RETURN NULL;
END $$
"""

_CASCADE = """
CREATE FUNCTION point_accounts_delete_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM point_transfers t USING gone_accounts g WHERE t.debit_account_id = g.id;
    DELETE FROM point_transfers t USING gone_accounts g WHERE t.credit_account_id = g.id;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _column in _ACCOUNT_FKS:
        op.drop_constraint(name, "point_transfers", type_="foreignkey")
    op.execute(_CHECK)
    op.execute("CREATE TRIGGER point_transfers_accounts_exist AFTER INSERT ON point_transfers "
               "REFERENCING NEW TABLE AS new_transfers FOR EACH STATEMENT "
               "EXECUTE FUNCTION point_transfers_accounts_exist()")
    op.execute(_CASCADE)
    op.execute("CREATE TRIGGER point_accounts_delete_transfers AFTER DELETE ON point_accounts "
               "REFERENCING OLD TABLE AS gone_accounts FOR EACH STATEMENT "
               "EXECUTE FUNCTION point_accounts_delete_transfers()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS point_accounts_delete_transfers ON point_accounts")
    op.execute("DROP FUNCTION IF EXISTS point_accounts_delete_transfers()")
    op.execute("DROP TRIGGER IF EXISTS point_transfers_accounts_exist ON point_transfers")
    op.execute("DROP FUNCTION IF EXISTS point_transfers_accounts_exist()")
    for name, column in _ACCOUNT_FKS:
        op.create_foreign_key(name, "point_transfers", "point_accounts", [column], ["id"],
                              ondelete="CASCADE")
