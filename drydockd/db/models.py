"""SQLAlchemy models: the one definition of every drydock table.

One schema serves PostgreSQL and SQLite. JSON columns use the generic
``JSON`` type; timestamps are naive UTC (``DateTime`` without time zone),
converted at the API boundary.
"""

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import types
from sqlalchemy import func
from sqlalchemy import literal_column
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import deferred
from sqlalchemy.orm import mapped_column

from drydockd.common import redact
from drydockd.db import history_pages


class MaskedRef(types.TypeDecorator):
    """A design_ref as it may be kept: credentials masked on the way in
    (common.redact), whoever writes it; the real one never reaches the
    database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return redact.mask_ref(value)

# Named constraints so Alembic can drop them on both databases.
NAMING = {
    'ix': 'ix_%(column_0_label)s',
    'uq': 'uq_%(table_name)s_%(column_0_name)s',
    'fk': 'fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s',
    'pk': 'pk_%(table_name)s',
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Task(Base):
    __tablename__ = 'tasks'

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey('tasks.id', ondelete='CASCADE'), index=True)
    action: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), index=True)
    result_status: Mapped[str] = mapped_column(String(32))
    result_message: Mapped[str | None] = mapped_column(Text)
    result_reason: Mapped[str | None] = mapped_column(Text)
    result_error_count: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    design_ref: Mapped[str | None] = mapped_column(MaskedRef)
    node_filter: Mapped[dict | None] = mapped_column(JSON)
    created: Mapped[object] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(255))
    updated: Mapped[object | None] = mapped_column(DateTime)
    time_start: Mapped[object | None] = mapped_column(DateTime)
    time_end: Mapped[object | None] = mapped_column(DateTime)
    terminated: Mapped[object | None] = mapped_column(DateTime)
    terminated_by: Mapped[str | None] = mapped_column(String(255))
    deleted_at: Mapped[object | None] = mapped_column(DateTime)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    executor_host: Mapped[str | None] = mapped_column(String(255))
    heartbeat: Mapped[object | None] = mapped_column(DateTime)
    # A subtask's node; a task waiting on node agents has a deadline.
    node_id: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[object | None] = mapped_column(DateTime)
    # The serialized graph this task ran, kept for history display.
    graph: Mapped[dict | None] = deferred(mapped_column(JSON))

    # Every ORM write of a task row is a compare-and-set on the status it
    # was read with: ``UPDATE tasks ... WHERE id = :id AND status = :read``
    # (the application sets the status itself, hence no generator). A
    # writer that read a status another one has changed since matches no
    # row, gets StaleDataError, and its transaction is retried from a
    # fresh read (db.sqlalchemy.api), so the manager's "queued" can never
    # overwrite the receiver's "complete", nor the reaper's "failure" a
    # result that just arrived. Task rows are never changed by bulk
    # UPDATE statements, which would bypass this.
    __mapper_args__ = {'version_id_col': status,
                       'version_id_generator': False}


class ResultMessage(Base):
    __tablename__ = 'result_message'

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey('tasks.id', ondelete='CASCADE'), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    error: Mapped[bool] = mapped_column(Boolean, default=False)
    context_type: Mapped[str | None] = mapped_column(String(64))
    context: Mapped[str | None] = mapped_column(String(255))
    ts: Mapped[object] = mapped_column(DateTime)
    extra: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint('task_id', 'sequence'),)


class Node(Base):
    __tablename__ = 'nodes'

    id: Mapped[int] = mapped_column(Integer, primary_key=True,
                                    autoincrement=False)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    labels: Mapped[dict] = mapped_column(JSON, default=dict)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    rack: Mapped[str | None] = mapped_column(String(255))
    roles: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(32), default='discover')
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error_type: Mapped[str | None] = mapped_column(String(64))
    error_msg: Mapped[str | None] = mapped_column(Text)
    power_state: Mapped[str | None] = mapped_column(String(16))
    # The power-state sync: what its sweep last read from the BMC and
    # when, and the last drift it saw (in words) and when.
    power_read: Mapped[str | None] = mapped_column(String(16))
    power_read_at: Mapped[object | None] = mapped_column(DateTime)
    power_drift: Mapped[str | None] = mapped_column(String(512))
    power_drift_at: Mapped[object | None] = mapped_column(DateTime)
    oob_type: Mapped[str | None] = mapped_column(String(32))
    oob_address: Mapped[str | None] = mapped_column(String(255))
    oob_port: Mapped[int | None] = mapped_column(Integer)
    oob_account: Mapped[str | None] = mapped_column(String(255))
    # No credential column: BMC passwords stay in the site design and are
    # read from it by the executor when needed (docs/operations.md).
    # The design that last described this node (where its OOB lives).
    design_ref: Mapped[str | None] = mapped_column(MaskedRef)
    # The task currently holding this node (a conditional-UPDATE lock).
    reservation: Mapped[int | None] = mapped_column(
        ForeignKey('tasks.id', ondelete='SET NULL'), index=True)
    updated: Mapped[object | None] = mapped_column(DateTime)
    # What the node's agent last found (cpus, memory_mb, disks, nics).
    inventory: Mapped[dict | None] = mapped_column(JSON)


class DeploymentHistory(Base):
    __tablename__ = 'deployment_history'

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey('tasks.id', ondelete='CASCADE'))
    # Node id as a string, 'master', or NULL for the sync pseudo-node.
    node_id: Mapped[str | None] = mapped_column(String(64))
    deployment_graph_task_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    time_start: Mapped[object | None] = mapped_column(DateTime)
    time_end: Mapped[object | None] = mapped_column(DateTime)
    custom: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[dict] = deferred(mapped_column(JSON, default=dict))

    __table_args__ = (
        Index('ix_deployment_history_task_id_node_id', 'task_id', 'node_id'),
        Index('ix_deployment_history_task_id_status', 'task_id', 'status'),
    )


# COALESCE makes the sync node (NULL) unique too, on both databases.
Index('uq_deployment_history_task_node_name', DeploymentHistory.task_id,
      func.coalesce(DeploymentHistory.node_id, ''),
      DeploymentHistory.deployment_graph_task_name, unique=True)

# The order history is shown in (docs/history.md), as the key of one
# index, so a page after a marker is one index range scan on both
# databases: time_start with never-started rows last, then the node as a
# number (shorter ids first; the sync node, NULL, last), then the graph
# task name. The constants are literals, not parameters, so queries match
# the index expressions. NOT_STARTED is how both databases store that
# time (SQLite as text, in SQLAlchemy's format).
NOT_STARTED = history_pages.NOT_STARTED
SYNC_NODE_LENGTH = history_pages.SYNC_NODE_LENGTH   # node_id: 64 at most
HISTORY_ORDER = (
    func.coalesce(DeploymentHistory.time_start,
                  literal_column("'%s'" % NOT_STARTED)),
    func.coalesce(func.length(DeploymentHistory.node_id, type_=Integer),
                  literal_column(str(SYNC_NODE_LENGTH), Integer)),
    func.coalesce(DeploymentHistory.node_id, literal_column("''")),
    DeploymentHistory.deployment_graph_task_name,
)
Index('ix_deployment_history_order', DeploymentHistory.task_id,
      *HISTORY_ORDER)


class ActiveInstance(Base):
    """The leader lease: one row; its holder reaps and schedules."""

    __tablename__ = 'active_instance'

    id: Mapped[int] = mapped_column(Integer, primary_key=True,
                                    autoincrement=False)
    identity: Mapped[str] = mapped_column(String(255))
    last_ping: Mapped[object] = mapped_column(DateTime)


class BuildData(Base):
    """Per-node build records, kept across redeploys."""

    __tablename__ = 'build_data'

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_name: Mapped[str] = mapped_column(String(255), index=True)
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey('tasks.id', ondelete='SET NULL'))
    collected_date: Mapped[object] = mapped_column(DateTime)
    generator: Mapped[str] = mapped_column(String(255))
    data_format: Mapped[str] = mapped_column(String(64))
    data_element: Mapped[str] = mapped_column(Text)
