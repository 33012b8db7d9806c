"""saved views: a staff member's named filter choices per dashboard page

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'saved_views',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('page', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("page IN ('overview', 'analysis', 'loyalty')",
                           name=op.f('ck_saved_views_page')),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 80",
                           name=op.f('ck_saved_views_name_length')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_saved_views_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_views')),
        sa.UniqueConstraint('user_id', 'page', 'name', name=op.f('uq_saved_views_user_id')),
    )


def downgrade() -> None:
    op.drop_table('saved_views')
