"""SQLAlchemy implementation of the DB API: the only module with sessions."""

import contextlib
import logging
import uuid as uuidlib

import sqlalchemy as sa
import tenacity
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm
from sqlalchemy.orm import exc as orm_exc

from drydockd.common import actions
from drydockd.common import exception
from drydockd.common import states
from drydockd.common.timeutils import utcnow
from drydockd.db import api
from drydockd.db import models
from drydockd.db.sqlalchemy import apply as apply_mod
from drydockd.db.sqlalchemy import bulk
from drydockd.db.sqlalchemy import engine as engine_mod
from drydockd.db.sqlalchemy import endings
from drydockd.db.sqlalchemy import history as history_q
from drydockd.db.sqlalchemy import lifecycle
from drydockd.db.sqlalchemy import subtasks as subtasks_mod

LOG = logging.getLogger(__name__)

# PostgreSQL deadlock / serialization failure, SQLite "database is locked".
_RETRY_PGCODES = ('40P01', '40001')


def _is_retryable(exc):
    if isinstance(exc, orm_exc.StaleDataError):
        # A task's status changed since this transaction read it (the
        # compare-and-set of models.Task): start again from a fresh read.
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    code = getattr(exc.orig, 'pgcode', None)
    return code in _RETRY_PGCODES or 'database is locked' in str(exc.orig)


_retry_on_deadlock = tenacity.retry(
    retry=tenacity.retry_if_exception(_is_retryable),
    wait=tenacity.wait_exponential(multiplier=0.05, max=2),
    stop=tenacity.stop_after_attempt(6), reraise=True)

_TASK_COLUMNS = [c.key for c in models.Task.__table__.columns
                 if c.key != 'graph']
_NODE_COLUMNS = [c.key for c in models.Node.__table__.columns]


def get_connection(conf):
    engine = engine_mod.get_engine(conf.database.connection,
                                   conf.database.pool_size)
    return Connection(engine)


def _by_id_or(session, model, column, ident):
    """A row by integer id, or else by ``column`` (uuid, name)."""
    if api.is_row_id(ident):
        where = model.id == int(ident)
    else:
        where = column == str(ident)
    return session.scalars(sa.select(model).where(where)).first()


def _task_dict(task):
    return {k: getattr(task, k) for k in _TASK_COLUMNS}


def _node_dict(node):
    return {k: getattr(node, k) for k in _NODE_COLUMNS}


class Connection(api.Connection):

    def __init__(self, engine):
        self.engine = engine
        self._sessions = engine_mod.sessionmaker(engine)

    @contextlib.contextmanager
    def _session(self):
        """A session that commits on success and rolls back on error."""
        with self._sessions() as session:
            with session.begin():
                yield session

    def _get_task_row(self, session, ident):
        task = _by_id_or(session, models.Task, models.Task.uuid, ident)
        if task is None:
            raise exception.TaskNotFound(task=ident)
        return task

    def sync_nodes(self, nodes, design_ref=None):
        try:
            self._sync_nodes(nodes, design_ref)
        except sa_exc.IntegrityError:
            # Most often a concurrent request inserted the same new nodes
            # first: its rows exist now, so once more updates them. A
            # second conflict is a name used by another node id.
            try:
                self._sync_nodes(nodes, design_ref)
            except sa_exc.IntegrityError:
                raise exception.InvalidInput(
                    reason='a node name in the design is already used by '
                           'another node id')

    @_retry_on_deadlock
    def _sync_nodes(self, nodes, design_ref):
        with self._session() as session:
            existing = {n.id: n for n in session.scalars(
                sa.select(models.Node).where(
                    models.Node.id.in_([n['id'] for n in nodes])))}
            for spec in nodes:
                node = existing.get(spec['id'])
                if node is None:
                    node = models.Node(id=spec['id'], status='discover',
                                       progress=0)
                    session.add(node)
                oob = spec.get('oob') or {}
                node.name = spec['name']
                node.roles = list(spec.get('roles', []))
                node.labels = dict(spec.get('labels', {}))
                node.tags = list(spec.get('tags', []))
                node.rack = spec.get('rack')
                node.oob_type = oob.get('type')
                node.oob_address = oob.get('address')
                node.oob_port = oob.get('port')
                node.oob_account = oob.get('account')
                node.design_ref = design_ref
                node.updated = utcnow()

    def list_nodes(self, ids=None):
        with self._session() as session:
            query = sa.select(models.Node).order_by(models.Node.id)
            if ids is not None:
                query = query.where(models.Node.id.in_(list(ids)))
            return [_node_dict(n) for n in session.scalars(query)]

    def get_node(self, ident):
        with self._session() as session:
            node = _by_id_or(session, models.Node, models.Node.name, ident)
            if node is None:
                raise exception.NodeNotFound(node=ident)
            return _node_dict(node)

    def list_agent_work(self):
        sub = orm.aliased(models.Task)
        parent = orm.aliased(models.Task)
        query = (sa.select(models.Node.id, models.Node.name, parent.uuid,
                           parent.action, parent.design_ref, sub.time_start)
                 .join(sub, sub.node_id == models.Node.id)
                 .join(parent, sub.parent_id == parent.id)
                 .where(models.Node.reservation == parent.id,
                        sub.action.in_(actions.AGENT_ACTIONS),
                        sub.status.not_in(states.TASK_FINAL))
                 .order_by(models.Node.id))
        with self._session() as session:
            return [{'node_id': n, 'node_name': name, 'task': uuid,
                     'action': action, 'design_ref': ref, 'since': since}
                    for n, name, uuid, action, ref, since
                    in session.execute(query)]

    @_retry_on_deadlock
    def start_task(self, values, node_ids, history=(), node_status=None,
                   subtasks=False):
        now = utcnow()
        values = dict(values)
        with self._session() as session:
            task = models.Task(
                uuid=values.pop('uuid', None) or str(uuidlib.uuid4()),
                status='requested', result_status='incomplete',
                result_error_count=0, progress=0, created=now, updated=now,
                **values)
            session.add(task)
            session.flush()
            self._reserve(session, task, list(node_ids), node_status, now)
            if subtasks:
                subtasks_mod.create(session, task, node_ids, now)
            bulk.insert_pending(session, task.id, list(history))
            return _task_dict(task)

    @_retry_on_deadlock
    def record_task(self, values, result_status, message, messages=()):
        now = utcnow()
        with self._session() as session:
            task = models.Task(
                uuid=str(uuidlib.uuid4()), status='requested',
                result_status='incomplete', result_error_count=0,
                progress=0, created=now, updated=now, **values)
            session.add(task)
            session.flush()
            if messages:
                endings.add_messages(session, [dict(m, task_id=task.id)
                                              for m in messages], now)
            endings.finish(session, task, 'complete', result_status,
                           message, None, now)
            return _task_dict(task)

    def _reserve(self, session, task, node_ids, node_status, now):
        """Lock nodes with a conditional UPDATE (Ironic's reservation)."""
        if not node_ids:
            return
        free = sa.or_(models.Node.reservation.is_(None),
                      models.Node.reservation.in_(
                          sa.select(models.Task.id).where(
                              models.Task.status.in_(states.TASK_FINAL))))
        values = {'reservation': task.id, 'updated': now}
        if node_status:
            values.update(status=node_status, progress=0, error_type=None,
                          error_msg=None)
        result = session.execute(
            sa.update(models.Node)
            .where(models.Node.id.in_(node_ids), free)
            .values(**values)
            .execution_options(synchronize_session=False))
        if result.rowcount != len(node_ids):
            held = session.execute(
                sa.select(models.Node.name, models.Node.reservation)
                .where(models.Node.id.in_(node_ids),
                       models.Node.reservation != task.id)).all()
            raise exception.NodeLocked(
                nodes=', '.join(sorted(n for n, _ in held)),
                task=', '.join(sorted({str(t) for _, t in held})))

    @_retry_on_deadlock
    def update_task(self, task_id, **values):
        with self._session() as session:
            task = self._get_task_row(session, task_id)
            if task.status in states.TASK_FINAL:
                return _task_dict(task)     # an ended task never changes
            if 'status' in values:
                values['status'] = states.next_task_status(
                    task.status, values['status'])
            for key, value in values.items():
                setattr(task, key, value)
            task.updated = utcnow()
            return _task_dict(task)

    @_retry_on_deadlock
    def finish_task(self, task_id, result_status, message, reason=None,
                    status='complete'):
        with self._session() as session:
            task = self._get_task_row(session, task_id)
            endings.finish(session, task, status, result_status,
                               message, reason, utcnow())
            return _task_dict(task)

    def get_task(self, ident, with_messages=False):
        with self._session() as session:
            task = self._get_task_row(session, ident)
            result = _task_dict(task)
            result['subtasks'] = [dict(zip(('uuid', 'node_id', 'status',
                                            'result_status'), row))
                                  for row in session.execute(
                sa.select(models.Task.uuid, models.Task.node_id,
                          models.Task.status, models.Task.result_status)
                .where(models.Task.parent_id == task.id)
                .order_by(models.Task.node_id))]
            if task.parent_id is not None:
                result['parent_uuid'] = session.execute(
                    sa.select(models.Task.uuid)
                    .where(models.Task.id == task.parent_id)).scalar()
            if with_messages:
                rows = session.scalars(
                    sa.select(models.ResultMessage)
                    .where(models.ResultMessage.task_id == task.id)
                    .order_by(models.ResultMessage.sequence))
                result['messages'] = [
                    {k: getattr(m, k) for k in ('message', 'error',
                                                'context_type', 'context',
                                                'ts', 'extra')}
                    for m in rows]
            return result

    def list_tasks(self, statuses=None, include_deleted=False, limit=None,
                   marker=None):
        with self._session() as session:
            columns = [getattr(models.Task, c) for c in _TASK_COLUMNS]
            query = sa.select(*columns).order_by(models.Task.id.desc())
            if statuses:
                query = query.where(models.Task.status.in_(statuses))
            if not include_deleted:
                query = query.where(models.Task.deleted_at.is_(None))
            if marker is not None:
                query = query.where(models.Task.id < marker)
            if limit is not None:
                query = query.limit(limit)
            return [dict(row) for row in session.execute(query).mappings()]

    @_retry_on_deadlock
    def soft_delete_task(self, task_id):
        with self._session() as session:
            task = self._get_task_row(session, task_id)
            if task.deleted_at is None:
                task.deleted_at = utcnow()
            return _task_dict(task)

    @_retry_on_deadlock
    def add_result_messages(self, task_id, messages):
        if not messages:
            return
        with self._session() as session:
            endings.add_messages(session, [
                {'task_id': task_id, 'message': m['message'],
                 'error': m.get('error', False),
                 'context_type': m.get('context_type'),
                 'context': m.get('context'), 'extra': m.get('extra')}
                for m in messages], utcnow())

    def _check_task(self, session, task_id):
        if session.execute(sa.select(models.Task.id)
                           .where(models.Task.id == task_id)).first() is None:
            raise exception.TaskNotFound(task=task_id)

    def get_history(self, task_id, nodes=None, statuses=None, names=None,
                    include_summary=False):
        with self._session() as session:
            self._check_task(session, task_id)
            return history_q.query(session, task_id, nodes, statuses, names,
                                   include_summary)

    def get_history_page(self, task_id, limit, marker=None, nodes=None,
                         statuses=None, names=None, include_summary=False,
                         layout='rows'):
        with self._session() as session:
            self._check_task(session, task_id)
            return history_q.page(session, task_id, nodes, statuses, names,
                                  include_summary, limit, marker, layout)

    def apply_events(self, events):
        try:
            return self._apply_events(events)
        except (sa_exc.OperationalError, sa_exc.InterfaceError,
                sa_exc.TimeoutError, orm_exc.StaleDataError) as exc:
            # The database (or writers racing on the same tasks through
            # every retry), not the events: the caller retries later.
            raise exception.DatabaseUnavailable(
                reason=type(getattr(exc, 'orig', exc)).__name__)

    @_retry_on_deadlock
    def _apply_events(self, events):
        with self._session() as session:
            return apply_mod.apply(session, events)

    @_retry_on_deadlock
    def acquire_lease(self, identity, grace):
        with self._session() as session:
            return lifecycle.acquire_lease(session, identity, utcnow(), grace)

    @_retry_on_deadlock
    def release_lease(self, identity):
        with self._session() as session:
            lifecycle.release_lease(session, identity)

    def lease_holder(self):
        with self._session() as session:
            return lifecycle.lease_holder(session)

    @_retry_on_deadlock
    def reap_tasks(self, executor_timeout, deploy_timeout):
        with self._session() as session:
            return lifecycle.reap(session, utcnow(), executor_timeout,
                                  deploy_timeout)

    def tasks_still_reported(self, window):
        with self._session() as session:
            return lifecycle.still_reported(session, utcnow(), window)

    @_retry_on_deadlock
    def stop_task(self, task_id, user):
        with self._session() as session:
            task = self._get_task_row(session, task_id)
            if not lifecycle.stop(session, task, user, utcnow()):
                raise exception.InvalidInput(
                    reason='task %s already ended (%s)' % (task.id,
                                                           task.status))
            return _task_dict(task)
