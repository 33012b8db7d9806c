"""Answers: the index on the item code also holds the response, so that the responses that
answered one item (the employee surveys' overall item, read to name the default survey on every
dashboard page) are found in the index alone

``ix_answers_item (item_code)`` becomes ``ix_answers_item_response (item_code, response_id)``:
the same lookups by item, without reading the table for each response (on SQLite the old
index led to the row's rowid, not its response). One index replaced by one: writes cost the
same.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_answers_item_response', 'answers', ['item_code', 'response_id'])
    op.drop_index('ix_answers_item', table_name='answers')


def downgrade() -> None:
    op.create_index('ix_answers_item', 'answers', ['item_code'])
    op.drop_index('ix_answers_item_response', table_name='answers')
