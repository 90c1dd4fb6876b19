"""Node inventory: what a node's agent found

Revision ID: 0004b
Revises: 0003
Create Date: 2026-11-30

The deploy agent inventories a node (cpus, memory, disks, NICs) when it
boots; the receiver keeps the latest inventory per node, for ``node
show`` and the inventory node-filter criteria.
"""

from alembic import op
import sqlalchemy as sa

revision = '0004b'
down_revision = '0004a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('nodes') as batch:
        batch.add_column(sa.Column('inventory', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('nodes') as batch:
        batch.drop_column('inventory')
