"""Subtask node, task deadline, node design reference, no stored credential

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('node_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('deadline', sa.DateTime(),
                                      nullable=True))
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('design_ref', sa.Text(), nullable=True))
        # BMC passwords are read from the design, never kept here.
        batch_op.drop_column('oob_credential')


def downgrade():
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('oob_credential', sa.Text(),
                                      nullable=True))
        batch_op.drop_column('design_ref')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('deadline')
        batch_op.drop_column('node_id')
