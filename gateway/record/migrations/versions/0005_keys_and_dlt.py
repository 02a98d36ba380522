"""Key rotation (opt-outs keep their number encrypted) and DLT template ids on messages.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('optout', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_encrypted', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dlt_template_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('dlt_template_id')
    with op.batch_alter_table('optout', schema=None) as batch_op:
        batch_op.drop_column('phone_encrypted')
