"""category labels: display labels of category values (regions, tiers, products ...) per language

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'category_labels',
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('value', sa.String(length=300), nullable=False),
        sa.Column('language', sa.String(length=10), nullable=False),
        sa.Column('label', sa.String(length=300), nullable=False),
        sa.CheckConstraint("kind IN ('region', 'industry', 'size', 'channel', 'tier', 'product', "
                           "'category', 'churn_reason', 'competitor', 'case_subject')",
                           name=op.f('ck_category_labels_kind')),
        sa.CheckConstraint("language IN ('en', 'zh_Hans', 'zh_Hant')",
                           name=op.f('ck_category_labels_language')),
        sa.PrimaryKeyConstraint('kind', 'value', 'language', name=op.f('pk_category_labels')),
    )


def downgrade() -> None:
    op.drop_table('category_labels')
