"""Jurisdictions LGD does not describe: which places a police station covers (issue 16).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'coverage',
        sa.Column('place_level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('place_code', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('covers_level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('covers_lgd_code', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('place_level', 'place_code', 'covers_level', 'covers_lgd_code'),
    )
    op.create_index('ix_coverage_covers', 'coverage', ['covers_lgd_code', 'covers_level'])


def downgrade() -> None:
    op.drop_index('ix_coverage_covers', table_name='coverage')
    op.drop_table('coverage')
