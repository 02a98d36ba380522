"""After an acknowledgement: duties with deadlines, a named worker, a worker's phone (issue 17).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'caseduty',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('owners', sa.JSON(), nullable=False),
        sa.Column('keyword', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('law', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.Column('done_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('details', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('repeat_every', sa.Integer(), nullable=False),
        sa.Column('overdue', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'key', name='uq_case_duty'),
    )
    op.create_index(op.f('ix_caseduty_case_id'), 'caseduty', ['case_id'])
    op.create_index(op.f('ix_caseduty_status'), 'caseduty', ['status'])
    op.create_index(op.f('ix_caseduty_overdue'), 'caseduty', ['overdue'])
    with op.batch_alter_table('case') as batch:
        batch.add_column(sa.Column('assigned_to', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.create_index(op.f('ix_case_assigned_to'), ['assigned_to'])
    with op.batch_alter_table('user') as batch:
        batch.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user') as batch:
        batch.drop_column('phone')
    with op.batch_alter_table('case') as batch:
        batch.drop_index(op.f('ix_case_assigned_to'))
        batch.drop_column('assigned_to')
    op.drop_index(op.f('ix_caseduty_overdue'), table_name='caseduty')
    op.drop_index(op.f('ix_caseduty_status'), table_name='caseduty')
    op.drop_index(op.f('ix_caseduty_case_id'), table_name='caseduty')
    op.drop_table('caseduty')
