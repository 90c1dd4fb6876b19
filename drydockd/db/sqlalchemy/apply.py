"""Set-based application of events (``Connection.apply_events``).

A batch costs a fixed number of statements, whatever the number of
events: one SELECT of the tasks, one read and one write of the history
rows (``bulk``), one SELECT of the nodes, and small per-node and per-task
updates. Fuel did one SELECT per node entry.

The batch is applied in phases, whatever the order of its events: graph
tasks (history rows), nodes, subtasks and node agents, tasks (heartbeat,
start, end), then parents whose subtasks have all ended. Every rule only
moves forward (``drydockd.common.states``), so neither the order within a
batch nor a replay changes the result.
"""

import collections
import logging

import sqlalchemy as sa
from sqlalchemy import orm

from drydockd.common import events as ev
from drydockd.common import results
from drydockd.common import states
from drydockd.common import timeutils
from drydockd.db import models
from drydockd.db.sqlalchemy import bulk
from drydockd.db.sqlalchemy import endings
from drydockd.db.sqlalchemy import power_sync
from drydockd.db.sqlalchemy import subtasks

LOG = logging.getLogger(__name__)
H = models.DeploymentHistory
_NODE_FIELDS = (models.Node.id, models.Node.name, models.Node.status,
                models.Node.progress, models.Node.error_msg,
                models.Node.power_state, models.Node.reservation,
                models.Node.updated, models.Node.power_read,
                models.Node.power_read_at, models.Node.power_drift,
                models.Node.power_drift_at)
# History node keys that name a node of the ``nodes`` table (not the
# master, not the sync node).
_NODE_KEYS = sa.select(sa.cast(models.Node.id, sa.String(64)))
# Events about nodes outside any task.
_TASKLESS = (ev.NodeProvisioned,) + power_sync.KINDS


def apply(session, events):
    """Apply ``events``; returns counts (see ``Connection.apply_events``)."""
    counts = {'applied': 0, 'rejected': 0, 'unknown_task': 0}
    tasks = _load_tasks(session, events)
    kinds = _by_kind(events, tasks, counts)
    _graph_tasks(session, tasks, kinds[ev.GraphTaskChanged], counts)
    nodes = _load_nodes(session, kinds[ev.NodeChanged]
                        + kinds[ev.NodeProvisioned] + kinds[ev.PowerRead]
                        + kinds[ev.PowerDrift] + kinds[ev.AgentFinished])
    for event in kinds[ev.NodeChanged]:
        _move_node(nodes.get(event.node), tasks[event.task], event)
    power_sync.apply(nodes, kinds[ev.PowerRead], kinds[ev.PowerDrift])
    parents = subtasks.apply(session, tasks, kinds[ev.SubtaskSettled],
                             kinds[ev.SubtaskAwaitingAgent],
                             kinds[ev.NodeProvisioned], nodes)
    parents |= subtasks.agents_finished(session, tasks,
                                        kinds[ev.AgentFinished], nodes)
    for event in kinds[ev.NodeInventoried]:
        _inventory(session, event)
    for event in kinds[ev.TaskReported]:
        _reported(tasks[event.task], event)
    for event in kinds[ev.TaskStarted]:
        _started(tasks[event.task], event)
    for event in kinds[ev.TaskEnded]:
        parents |= _ended(session, tasks[event.task], event)
    subtasks.complete_parents(session, parents, timeutils.utcnow())
    return counts


def _load_tasks(session, events):
    uuids = {e.task for e in events if not isinstance(e, _TASKLESS)}
    if not uuids:
        return {}
    return {t.uuid: t for t in session.scalars(
        sa.select(models.Task).where(models.Task.uuid.in_(uuids)))}


def _by_kind(events, tasks, counts):
    """Events by type; those of an unknown task are counted and logged."""
    kinds = collections.defaultdict(list)
    unknown = collections.Counter()
    for event in events:
        if isinstance(event, _TASKLESS) or event.task in tasks:
            kinds[type(event)].append(event)
        else:
            unknown[event.task] += 1
    for uuid, count in unknown.items():
        LOG.warning('%d events for unknown task %s acknowledged and '
                    'dropped', count, uuid)
    counts['unknown_task'] = sum(unknown.values())
    return kinds


def _key(task_id, node, name):
    return (task_id, node or '', name)


def _graph_tasks(session, tasks, events, counts):
    """Move history rows: one read and one write for the whole batch."""
    if not events:
        return
    keys = {_key(tasks[e.task].id, e.node, e.name) for e in events}
    merge = any(e.summary for e in events)
    rows = {_key(r['task_id'], r['node_id'], r['deployment_graph_task_name']):
            r for r in bulk.load_rows(session, keys, merge)}
    changed = {}
    for event in events:
        task = tasks[event.task]
        row = rows.get(_key(task.id, event.node, event.name))
        if row is None:
            counts['rejected'] += 1
            LOG.info('No history row for task %s node %s graph task %s',
                     task.id, event.node, event.name)
        elif _apply_row(row, event):
            changed[row['id']] = row
            counts['applied'] += 1
        else:
            counts['rejected'] += 1
    bulk.write_rows(session, list(changed.values()))


def _apply_row(row, event):
    """Transition one history row in place; True if it changed."""
    changes = states.history_transition(row, event.status, event.at,
                                        event.started_at)
    merged = False
    for key, value in (('custom', event.custom),
                       ('summary', event.summary)):
        if value and key in row:
            new = dict(row[key] or {}, **value)
            if new != row[key]:
                row[key] = new
                merged = True
    if event.error and changes and \
            changes['status'] in ('error', 'skipped'):
        row['custom'] = dict(row['custom'] or {}, error_msg=event.error)
        merged = True
    if changes is None:
        if not merged:
            LOG.debug('Rejected %s -> %s for history row %s', row['status'],
                      event.status, row['id'])
        return merged
    row.update(changes)
    return True


def _load_nodes(session, events):
    ids = {e.node for e in events}
    if not ids:
        return {}
    # Only what an event may change: the JSON columns stay unloaded.
    return {n.id: n for n in session.scalars(
        sa.select(models.Node).where(models.Node.id.in_(ids)).options(
            orm.load_only(*_NODE_FIELDS)))}


def _move_node(node, task, event):
    # Only the task holding a node may move it: a replayed event of an
    # older task must not touch a node a newer task has taken since.
    if node is None or node.reservation != task.id:
        return
    if event.status is not None:
        node.status = states.next_node_status(node.status, event.status)
        if event.status == 'error' and event.error:
            node.error_msg = event.error
    if event.progress is not None:
        node.progress = max(node.progress or 0, event.progress)
    if event.power_state is not None:
        node.power_state = event.power_state
    node.updated = event.at


def _inventory(session, event):
    """Keep the node's latest inventory, with when it was taken."""
    session.execute(sa.update(models.Node).where(
        models.Node.id == event.node).values(inventory=dict(
            event.inventory, inventoried_at=timeutils.format_time(
                event.at))))


def _reported(task, event):
    task.heartbeat = max(task.heartbeat or event.at, event.at)
    if event.executor:
        task.executor_host = event.executor
    if event.progress is not None:
        task.progress = max(task.progress, event.progress)


def _started(task, event):
    if task.status in states.TASK_FINAL:
        return
    task.status = states.next_task_status(task.status, 'running')
    task.time_start = task.time_start or event.at


def _ended(session, task, event):
    """End a task as its executor says; returns parents to complete."""
    if task.status in states.TASK_FINAL:
        return set()
    if task.action in states.SUBTASK_ACTIONS:
        # Subtasks decide the end; an executor-wide failure settles them.
        if event.reason:
            subtasks.fail_unfinished(session, task, event.reason, event.at)
            return {task.id}
        return set()
    outcomes = _outcomes(session, task.id, event)
    failed_on = _failed_off_nodes(session, task.id)
    result = results.vote(outcomes, event.failed or bool(failed_on))
    message = event.reason or results.summarize(outcomes, failed_on)
    status, node_status = 'complete', None
    if event.stopped:
        # Nothing failed, but not everything ran: incomplete, not success.
        result = 'incomplete' if result == 'success' else result
        message = results.stopped(message, task.terminated_by)
        status, node_status = 'terminated', 'stopped'
    # A task-level failure (the executor could not run the work) ends
    # whatever never ran with that reason, so no row is left pending.
    endings.finish(session, task, status, result, message, event.reason,
                   event.at, node_status=node_status)
    return set()


def _outcomes(session, task_id, event):
    """Per-node outcomes of a deployment.

    The final report carries the nodes' results, but they can fill
    several reports (more nodes than one report's entries, or a backlog
    sent after a broker outage): nodes the final report does not name are
    read from the nodes table, where the earlier reports of this task put
    them (the task started them all at ``deploying``). With no node
    results at all (an Astute-style executor), the history rows decide.
    """
    given = dict(event.outcomes)
    if not given:
        return _outcomes_from_rows(session, task_id)
    ran = session.scalars(sa.select(H.node_id).distinct().where(
        H.task_id == task_id, H.node_id.in_(_NODE_KEYS)))
    missing = {int(node_id) for node_id in ran} - set(given)
    if missing:
        for node_id, status in session.execute(
                sa.select(models.Node.id, models.Node.status)
                .where(models.Node.id.in_(missing))):
            if status in ('ready', 'error'):
                given[node_id] = status == 'ready'
    return list(given.values())


def _outcomes_from_rows(session, task_id):
    """Per node: ok unless any of its rows is error (Astute reports)."""
    stmt = (sa.select(H.node_id,
                      sa.func.sum(sa.case((H.status == 'error', 1),
                                          else_=0)))
            .where(H.task_id == task_id, H.node_id.in_(_NODE_KEYS))
            .group_by(H.node_id))
    return [not errors for _, errors in session.execute(stmt)]


def _failed_off_nodes(session, task_id):
    """History node keys off the nodes (master, sync) with a failure."""
    return list(session.scalars(
        sa.select(H.node_id).distinct().where(
            H.task_id == task_id, H.status == 'error',
            sa.or_(H.node_id.is_(None), H.node_id.not_in(_NODE_KEYS)))))
