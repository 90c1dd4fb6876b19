"""Initial schema: tasks, result messages, nodes, history, lease, build data

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 03:39:35.594027
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('active_instance',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('identity', sa.String(length=255), nullable=False),
    sa.Column('last_ping', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_active_instance'))
    )
    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('result_status', sa.String(length=32), nullable=False),
    sa.Column('result_message', sa.Text(), nullable=True),
    sa.Column('result_reason', sa.Text(), nullable=True),
    sa.Column('result_error_count', sa.Integer(), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('design_ref', sa.Text(), nullable=True),
    sa.Column('node_filter', sa.JSON(), nullable=True),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=True),
    sa.Column('updated', sa.DateTime(), nullable=True),
    sa.Column('time_start', sa.DateTime(), nullable=True),
    sa.Column('time_end', sa.DateTime(), nullable=True),
    sa.Column('terminated', sa.DateTime(), nullable=True),
    sa.Column('terminated_by', sa.String(length=255), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('executor_host', sa.String(length=255), nullable=True),
    sa.Column('heartbeat', sa.DateTime(), nullable=True),
    sa.Column('graph', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['tasks.id'], name=op.f('fk_tasks_parent_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    sa.UniqueConstraint('uuid', name=op.f('uq_tasks_uuid'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_status'), ['status'], unique=False)

    op.create_table('build_data',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('node_name', sa.String(length=255), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('collected_date', sa.DateTime(), nullable=False),
    sa.Column('generator', sa.String(length=255), nullable=False),
    sa.Column('data_format', sa.String(length=64), nullable=False),
    sa.Column('data_element', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_build_data_task_id_tasks'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_build_data'))
    )
    with op.batch_alter_table('build_data', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_build_data_node_name'), ['node_name'], unique=False)

    op.create_table('deployment_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.String(length=64), nullable=True),
    sa.Column('deployment_graph_task_name', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('time_start', sa.DateTime(), nullable=True),
    sa.Column('time_end', sa.DateTime(), nullable=True),
    sa.Column('custom', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_deployment_history_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment_history'))
    )
    with op.batch_alter_table('deployment_history', schema=None) as batch_op:
        batch_op.create_index('ix_deployment_history_task_id_node_id', ['task_id', 'node_id'], unique=False)
        batch_op.create_index('ix_deployment_history_task_id_status', ['task_id', 'status'], unique=False)
    # Autogenerate cannot see expression indexes: the sync node (NULL) is
    # made unique per task and graph task through COALESCE.
    op.create_index('uq_deployment_history_task_node_name', 'deployment_history',
                    ['task_id', sa.text("coalesce(node_id, '')"),
                     'deployment_graph_task_name'], unique=True)

    op.create_table('nodes',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('rack', sa.String(length=255), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('error_type', sa.String(length=64), nullable=True),
    sa.Column('error_msg', sa.Text(), nullable=True),
    sa.Column('power_state', sa.String(length=16), nullable=True),
    sa.Column('oob_type', sa.String(length=32), nullable=True),
    sa.Column('oob_address', sa.String(length=255), nullable=True),
    sa.Column('oob_port', sa.Integer(), nullable=True),
    sa.Column('oob_account', sa.String(length=255), nullable=True),
    sa.Column('oob_credential', sa.Text(), nullable=True),
    sa.Column('reservation', sa.Integer(), nullable=True),
    sa.Column('updated', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['reservation'], ['tasks.id'], name=op.f('fk_nodes_reservation_tasks'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nodes')),
    sa.UniqueConstraint('name', name=op.f('uq_nodes_name'))
    )
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nodes_reservation'), ['reservation'], unique=False)

    op.create_table('result_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('error', sa.Boolean(), nullable=False),
    sa.Column('context_type', sa.String(length=64), nullable=True),
    sa.Column('context', sa.String(length=255), nullable=True),
    sa.Column('ts', sa.DateTime(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_result_message_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_message')),
    sa.UniqueConstraint('task_id', 'sequence', name=op.f('uq_result_message_task_id'))
    )
    with op.batch_alter_table('result_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_message_task_id'), ['task_id'], unique=False)



def downgrade():
    with op.batch_alter_table('result_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_result_message_task_id'))

    op.drop_table('result_message')
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nodes_reservation'))

    op.drop_table('nodes')
    op.drop_index('uq_deployment_history_task_node_name',
                  table_name='deployment_history')
    with op.batch_alter_table('deployment_history', schema=None) as batch_op:
        batch_op.drop_index('ix_deployment_history_task_id_status')
        batch_op.drop_index('ix_deployment_history_task_id_node_id')

    op.drop_table('deployment_history')
    with op.batch_alter_table('build_data', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_build_data_node_name'))

    op.drop_table('build_data')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_status'))
        batch_op.drop_index(batch_op.f('ix_tasks_parent_id'))

    op.drop_table('tasks')
    op.drop_table('active_instance')
