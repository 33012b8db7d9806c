"""PostgreSQL: a transfer's accounts and member are checked once per statement, not per row

The foreign keys from ``point_transfers`` to its debit and credit accounts and to its member
were, on PostgreSQL, three row triggers per written transfer: each looked up its row and locked
it (``FOR KEY SHARE``). The accrual writes about a million transfers in a few statements, almost
all between the same programme account and the same hundred thousand members; dropping the two
account checks alone took the server's work on the 1M-transaction benchmark from 19–21 s of
CPU to 12 s.

They are replaced by statement-level triggers over the statement's transition table that keep
the same guarantees:

* after rows are inserted, the distinct accounts, then the distinct members, they name are
  locked ``FOR KEY SHARE`` at once (each in id order), as the foreign keys locked them one by
  one, so that no concurrent transaction can delete them before this one commits; when fewer
  are found than named, the statement fails with the foreign-key-violation error (SQLSTATE
  23503) naming an unknown one;
* the accounts and member of a transfer never change (the append-only trigger refuses it), so
  no update needs checking;
* deleting accounts or members deletes their transfers, as ``ON DELETE CASCADE`` did.

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

#: The foreign keys replaced: name, column, table referred to.
_FKS = (("fk_point_transfers_debit_account_id_point_accounts", "debit_account_id",
         "point_accounts"),
        ("fk_point_transfers_credit_account_id_point_accounts", "credit_account_id",
         "point_accounts"),
        ("fk_point_transfers_member_id_members", "member_id", "members"))

_CHECK = """
CREATE FUNCTION point_transfers_references_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    accounts_named bigint;
    accounts_found bigint;
    members_named bigint;
    members_found bigint;
    missing integer;
BEGIN
    -- Lock the accounts and members named (each in id order), then count them: a row deleted
    -- by a transaction that committed while this one waited for its lock is not found.
    WITH named AS (SELECT debit_account_id AS id FROM new_transfers
                   UNION SELECT credit_account_id FROM new_transfers),
         found AS (SELECT a.id FROM point_accounts a WHERE a.id IN (SELECT id FROM named)
                   ORDER BY a.id FOR KEY SHARE OF a)
    SELECT (SELECT count(*) FROM named), (SELECT count(*) FROM found)
      INTO accounts_named, accounts_found;
    IF accounts_found < accounts_named THEN
        SELECT n.id INTO missing
          FROM (SELECT debit_account_id AS id FROM new_transfers
                UNION SELECT credit_account_id FROM new_transfers) AS n
         WHERE NOT EXISTS (SELECT 1 FROM point_accounts a WHERE a.id = n.id)
         ORDER BY n.id LIMIT 1;
        RAISE EXCEPTION 'insert on table "point_transfers" violates its account check: '
                        'account % does not exist', missing
              USING ERRCODE = 'foreign_key_violation', TABLE = 'point_transfers',
                    CONSTRAINT = 'point_transfers_references_exist';
    END IF;
    WITH named AS (SELECT DISTINCT member_id AS id FROM new_transfers),
         found AS (SELECT m.id FROM members m WHERE m.id IN (SELECT id FROM named)
                   ORDER BY m.id FOR KEY SHARE OF m)
    SELECT (SELECT count(*) FROM named), (SELECT count(*) FROM found)
      INTO members_named, members_found;
    IF members_found < members_named THEN
        SELECT n.member_id INTO missing FROM new_transfers n
         WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.id = n.member_id)
         ORDER BY n.member_id LIMIT 1;
        RAISE EXCEPTION 'insert on table "point_transfers" violates its member check: '
                        'member % does not exist', missing
              USING ERRCODE = 'foreign_key_violation', TABLE = 'point_transfers',
                    CONSTRAINT = 'point_transfers_references_exist';
    END IF;
    RETURN NULL;
END $$
"""

#: Deleting accounts or members deletes their transfers (the foreign keys' ON DELETE CASCADE).
_CASCADE = """
CREATE FUNCTION point_transfers_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'members' THEN
        DELETE FROM point_transfers t USING gone g WHERE t.member_id = g.id;
    ELSE
        DELETE FROM point_transfers t USING gone g WHERE t.debit_account_id = g.id;
        DELETE FROM point_transfers t USING gone g WHERE t.credit_account_id = g.id;
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _column, _table in _FKS:
        op.drop_constraint(name, "point_transfers", type_="foreignkey")
    op.execute(_CHECK)
    op.execute("CREATE TRIGGER point_transfers_references_exist AFTER INSERT ON point_transfers "
               "REFERENCING NEW TABLE AS new_transfers FOR EACH STATEMENT "
               "EXECUTE FUNCTION point_transfers_references_exist()")
    op.execute(_CASCADE)
    for table in ("point_accounts", "members"):
        op.execute(f"CREATE TRIGGER point_transfers_cascade AFTER DELETE ON {table} "
                   "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
                   "EXECUTE FUNCTION point_transfers_cascade()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("point_accounts", "members"):
        op.execute(f"DROP TRIGGER IF EXISTS point_transfers_cascade ON {table}")
    op.execute("DROP FUNCTION IF EXISTS point_transfers_cascade()")
    op.execute("DROP TRIGGER IF EXISTS point_transfers_references_exist ON point_transfers")
    op.execute("DROP FUNCTION IF EXISTS point_transfers_references_exist()")
    for name, column, table in _FKS:
        op.create_foreign_key(name, "point_transfers", table, [column], ["id"],
                              ondelete="CASCADE")
