"""Power-state sync: what the sweep last read, and drift seen

Revision ID: 0004a
Revises: 0003
Create Date: 2026-11-30

``power_read`` and ``power_read_at``: the state a power-sync sweep last
read from the node's BMC, and when. ``power_drift`` and
``power_drift_at``: the last time the BMC showed a state drydock did not
expect (someone pressed the button), in words, and when.
"""

from alembic import op
import sqlalchemy as sa

revision = '0004a'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('nodes') as batch:
        batch.add_column(sa.Column('power_read', sa.String(16)))
        batch.add_column(sa.Column('power_read_at', sa.DateTime()))
        batch.add_column(sa.Column('power_drift', sa.String(512)))
        batch.add_column(sa.Column('power_drift_at', sa.DateTime()))


def downgrade():
    with op.batch_alter_table('nodes') as batch:
        batch.drop_column('power_drift_at')
        batch.drop_column('power_drift')
        batch.drop_column('power_read_at')
        batch.drop_column('power_read')
