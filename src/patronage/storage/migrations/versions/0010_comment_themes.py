"""comment themes: themes of comments pinned to keywords (named, renamed or merged by people)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'comment_themes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=120), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('keywords', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_themes')),
        sa.UniqueConstraint('scope', 'name', name=op.f('uq_comment_themes_scope')),
    )


def downgrade() -> None:
    op.drop_table('comment_themes')
