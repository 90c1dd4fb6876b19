"""History in its display order: one index for keyset pages

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

``get_deployment_history`` pages (RPC 1.4) read the rows after a marker
in the order of ``models.HISTORY_ORDER``; this index holds exactly that
key after ``task_id``, so every page is one range scan. The expressions
are written out here as the model renders them (literals, not
parameters), because a migration must not change when the model does.
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

NAME = 'ix_deployment_history_order'


def upgrade():
    op.create_index(NAME, 'deployment_history', [
        'task_id',
        sa.text("coalesce(time_start, '9999-12-31 23:59:59.999999')"),
        sa.text('coalesce(length(node_id), 65)'),
        sa.text("coalesce(node_id, '')"),
        'deployment_graph_task_name'])


def downgrade():
    op.drop_index(NAME, table_name='deployment_history')
