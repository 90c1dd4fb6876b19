"""How a task ends, and its status messages.

A task ends with its result, its times, its nodes released (moved by the
one node-status rule of ``drydockd.common.states``) and no history row
left unfinished. Its status messages are appended in sequence, and each
error message counts in ``result_error_count`` (the API's ``errorCount``).
"""

import collections

import sqlalchemy as sa

from drydockd.common import states
from drydockd.db import models

H = models.DeploymentHistory
M = models.ResultMessage
_MESSAGE_DEFAULTS = {'error': False, 'context_type': None, 'context': None,
                     'extra': None}


def finish(session, task, status, result_status, message, reason, now,
           node_status=None):
    """End a task: result, times, lock release, no row left unfinished.

    ``reason`` marks an abnormal end: unfinished history rows become
    ``error`` with it, and the task's nodes ``error`` unless
    ``node_status`` says otherwise.
    """
    task.status = states.next_task_status(task.status, status)
    task.result_status = result_status
    task.result_message = message
    task.result_reason = reason
    task.time_end = task.time_end or now
    task.updated = now
    if status == 'complete':
        task.progress = 100
    if status == 'terminated':
        task.terminated = task.terminated or now
    add_messages(session, [{'task_id': task.id, 'message': message,
                            'error': result_status != 'success',
                            'context_type': 'task',
                            'context': task.uuid}], now)
    _release_nodes(session, task, node_status or ('error' if reason
                                                  else None), reason, now)
    if reason:
        session.execute(
            sa.update(H).where(H.task_id == task.id,
                               H.status.in_(('pending', 'running')))
            .values(status='error', time_end=now,
                    custom={'error_msg': reason})
            .execution_options(synchronize_session=False))


def _release_nodes(session, task, status, reason, now):
    """Free the task's nodes; move them to ``status`` where the rule
    lets them (a node that already failed stays failed, with its own
    error)."""
    node = models.Node
    values = {'reservation': None, 'updated': now}
    if status is not None:
        moves = node.status.in_(states.node_statuses_before(status))
        values['status'] = sa.case((moves, status), else_=node.status)
        if status == 'error':
            values['error_type'] = sa.case((moves, 'task'),
                                           else_=node.error_type)
            values['error_msg'] = sa.case((moves, reason),
                                          else_=node.error_msg)
    session.execute(sa.update(node)
                    .where(node.reservation == task.id)
                    .values(**values)
                    .execution_options(synchronize_session=False))
    # Nodes loaded in this session read their new state from the row.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, node) and \
                sa.inspect(obj).dict.get('reservation') == task.id:
            session.expire(obj)


def add_messages(session, messages, now):
    """Append status messages, in order, and count their errors.

    :param messages: dicts with ``task_id``, ``message`` and optionally
        ``error``, ``context_type``, ``context``, ``extra``.

    One SELECT, one INSERT and one UPDATE, whatever the number of
    messages and tasks.
    """
    if not messages:
        return
    ids = {m['task_id'] for m in messages}
    last = dict(session.execute(
        sa.select(M.task_id, sa.func.max(M.sequence))
        .where(M.task_id.in_(ids)).group_by(M.task_id)).all())
    rows, errors = [], collections.Counter()
    for message in messages:
        task_id = message['task_id']
        last[task_id] = last.get(task_id, 0) + 1
        row = dict(_MESSAGE_DEFAULTS, **message, sequence=last[task_id],
                   ts=now)
        row['context'] = _cut(row['context'], _CONTEXT)
        row['context_type'] = _cut(row['context_type'], _CONTEXT_TYPE)
        rows.append(row)
        errors[task_id] += bool(message.get('error'))
    session.execute(sa.insert(M), rows)
    _count_errors(session, +errors)


def _count_errors(session, errors):
    if not errors:
        return
    task = models.Task
    session.execute(
        sa.update(task).where(task.id.in_(errors))
        .values(result_error_count=task.result_error_count
                + sa.case(dict(errors), value=task.id, else_=0))
        .execution_options(synchronize_session=False))
    for task_id in errors:
        loaded = session.identity_map.get(
            session.identity_key(task, task_id))
        if loaded is not None:
            session.expire(loaded, ['result_error_count'])


# A context longer than its column is cut: a long design reference must
# not fail the write of its problems.
_CONTEXT = M.__table__.c.context.type.length
_CONTEXT_TYPE = M.__table__.c.context_type.type.length


def _cut(value, length):
    return value[:length] if isinstance(value, str) else value
