"""How a task ends: result, times, lock release, no row left unfinished."""

import sqlalchemy as sa

from drydockd.common import states
from drydockd.db import models

H = models.DeploymentHistory


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
    task.result_error_count = (task.result_error_count or 0) + (
        0 if result_status == 'success' else 1)
    add_messages(session, task.id, [{'message': message,
                                     'error': result_status != 'success',
                                     'context_type': 'task',
                                     'context': task.uuid}], now)
    node_values = {'reservation': None}
    if reason or node_status:
        node_values['status'] = node_status or 'error'
        if node_values['status'] == 'error':
            node_values.update(error_type='task', error_msg=reason)
    session.execute(sa.update(models.Node)
                    .where(models.Node.reservation == task.id)
                    .values(**node_values)
                    .execution_options(synchronize_session=False))
    if reason:
        session.execute(
            sa.update(H).where(H.task_id == task.id,
                               H.status.in_(('pending', 'running')))
            .values(status='error', time_end=now,
                    custom={'error_msg': reason})
            .execution_options(synchronize_session=False))


def add_messages(session, task_id, messages, now):
    """Append status messages; a context longer than its column is cut
    (a long design reference must not fail the write of its problems)."""
    last = session.execute(
        sa.select(sa.func.max(models.ResultMessage.sequence))
        .where(models.ResultMessage.task_id == task_id)).scalar() or 0
    session.execute(sa.insert(models.ResultMessage), [
        dict(m, task_id=task_id, sequence=last + i, ts=now,
             context=_cut(m.get('context'), _CONTEXT),
             context_type=_cut(m.get('context_type'), _CONTEXT_TYPE))
        for i, m in enumerate(messages, 1)])


_CONTEXT = models.ResultMessage.__table__.c.context.type.length
_CONTEXT_TYPE = models.ResultMessage.__table__.c.context_type.type.length


def _cut(value, length):
    return value[:length] if isinstance(value, str) else value
