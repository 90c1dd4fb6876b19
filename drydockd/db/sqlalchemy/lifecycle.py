"""Leader lease, reaper and stop: the queries that keep tasks from sticking.

The lease is one ``active_instance`` row taken with a conditional UPDATE
(holder is me, or the last ping is older than the grace period), so two
managers can never both believe they lead. Times are naive UTC from the
managers' clocks, which are expected to be NTP-synchronised.
"""

import datetime

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from drydockd.common import states
from drydockd.db import models
from drydockd.db.sqlalchemy import endings
from drydockd.db.sqlalchemy import subtasks

LEASE_ID = 1
_EPOCH = datetime.datetime(1970, 1, 1)


def acquire_lease(session, identity, now, grace):
    table = models.ActiveInstance
    result = session.execute(
        sa.update(table)
        .where(table.id == LEASE_ID,
               sa.or_(table.identity == identity,
                      table.last_ping < now - datetime.timedelta(
                          seconds=grace)))
        .values(identity=identity, last_ping=now)
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        return True
    if session.get(table, LEASE_ID) is None:
        try:
            with session.begin_nested():
                session.add(table(id=LEASE_ID, identity=identity,
                                  last_ping=now))
            return True
        except sa_exc.IntegrityError:
            return False
    return False


def release_lease(session, identity):
    """Give the lease up at once (a clean stop)."""
    table = models.ActiveInstance
    session.execute(sa.update(table)
                    .where(table.id == LEASE_ID, table.identity == identity)
                    .values(last_ping=_EPOCH)
                    .execution_options(synchronize_session=False))


def lease_holder(session):
    row = session.get(models.ActiveInstance, LEASE_ID)
    return None if row is None else (row.identity, row.last_ping)


def reap(session, now, executor_timeout, deploy_timeout):
    """Fail tasks nobody will end: every status that is not final.

    - ``requested``: no executor ever reported on it within
      ``executor_timeout`` of its creation: the manager creating it died,
      or failed, between its commit and its cast (a live manager gives up
      on the cast within ``[DEFAULT] publish_timeout`` and ends it itself);
    - ``running``/``terminating``: its executor went silent for
      ``executor_timeout``;
    - ``queued`` (waiting for a free executor is normal): its deadline;
    - any: its deadline, ``deploy_timeout`` after creation.

    :returns: list of (task id, task uuid, reason); the uuid is None for a
        subtask (its parent's executor may still be busy with others).
    """
    task = models.Task
    silent = now - datetime.timedelta(seconds=executor_timeout)
    expired = now - datetime.timedelta(seconds=deploy_timeout)
    # Parents with a subtask waiting for its agent: reap_overdue below
    # ends an overdue one, with the reason that says so, and then its
    # parent if nothing else runs.
    waiting_on_agents = sa.select(task.parent_id).where(
        task.status == 'running', task.deadline.is_not(None))
    candidates = session.scalars(
        sa.select(task).where(
            task.parent_id.is_(None), task.id.not_in(waiting_on_agents),
            task.status.not_in(states.TASK_FINAL),
            sa.or_(sa.and_(task.status != 'queued',
                           sa.func.coalesce(task.heartbeat, task.created)
                           < silent),
                   task.created < expired))).all()
    reaped = []
    for row in candidates:
        if row.created < expired:
            reason = 'task exceeded its deadline of %ds' % deploy_timeout
        elif row.status == 'requested':
            reason = ('task was never handed to an executor: the manager '
                      'creating it stopped before its cast')
        else:
            reason = 'executor %s stopped reporting' % (
                row.executor_host or 'unknown')
        if row.action in states.SUBTASK_ACTIONS:
            subtasks.fail_unfinished(session, row, reason, now)
        endings.finish(session, row, 'complete', 'failure', reason, reason,
                       now)
        reaped.append((row.id, row.uuid, reason))
    return reaped + [(sub_id, None, reason) for sub_id, reason
                     in subtasks.reap_overdue(session, now)]


def still_reported(session, now, window):
    """Ended tasks an executor still reports on.

    (id, uuid, last report time) of the tasks ended within ``window``
    seconds whose last report came after their end. The receiver records
    every report's arrival as the heartbeat, even for an ended task, so
    this finds an executor that runs a task the reaper failed, or that
    took a copy of work whose task had ended, whatever it was told before.
    """
    task = models.Task
    since = now - datetime.timedelta(seconds=window)
    return [tuple(row) for row in session.execute(
        sa.select(task.id, task.uuid, task.heartbeat).where(
            task.parent_id.is_(None), task.status.in_(states.TASK_FINAL),
            task.time_end > since, task.heartbeat > task.time_end))]


def stop(session, task, user, now):
    """Mark a task terminating; a task no executor holds ends at once."""
    if task.status in states.TASK_FINAL:
        return False
    task.terminated_by = user
    task.updated = now
    if task.status in ('requested', 'queued'):
        endings.finish(session, task, 'terminated', 'incomplete',
                       'Task stopped by %s before it ran' % user, None, now,
                       node_status='stopped')
        _skip_pending(session, task, now, 'task stopped before it ran')
        return True
    task.status = states.next_task_status(task.status, 'terminating')
    return True


def _skip_pending(session, task, now, reason):
    history = models.DeploymentHistory
    session.execute(
        sa.update(history)
        .where(history.task_id == task.id, history.status == 'pending')
        .values(status='skipped', time_start=now, time_end=now,
                custom={'error_msg': reason})
        .execution_options(synchronize_session=False))
