"""API tokens gain an expiry and a last-used time (security review finding 11).

Existing tokens are kept as they are: `expires_at` is NULL for them, so they go on working until
an operator revokes them (`cpgw token list`, then `cpgw token revoke ID`); only tokens created from
now on expire (90 days unless `--expires-in` says otherwise). `created_at` already existed (0001)
and keeps each token's real creation time. `last_used_at` starts NULL ("never used since
the upgrade") and is filled at the token's next use.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')
