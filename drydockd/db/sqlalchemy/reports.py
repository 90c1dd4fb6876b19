"""Set-based application of executor reports (the receiver's DB work).

A batch of reports costs a fixed number of statements, whatever the number
of node entries: one SELECT of the tasks, one read and one write of the
history rows (``bulk``), and small per-node and per-task updates. Fuel did
one SELECT per node entry.
"""

import logging

import sqlalchemy as sa
from sqlalchemy import orm

from drydockd.common import states
from drydockd.db import models
from drydockd.db.sqlalchemy import bulk
from drydockd.db.sqlalchemy import endings
from drydockd.db.sqlalchemy import subtasks
from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)
H = models.DeploymentHistory
_NODE_FIELDS = (models.Node.id, models.Node.name, models.Node.status,
                models.Node.progress, models.Node.error_msg,
                models.Node.power_state, models.Node.reservation,
                models.Node.updated)
_TASK_STATUS = {'running': 'running', 'ready': 'complete',
                'error': 'complete', 'stopped': 'terminated'}


def apply(session, reports):
    counts = {'applied': 0, 'rejected': 0, 'unknown_task': 0}
    agent, for_tasks = [], []
    for rep in reports:
        (agent if rep['method'] == 'node_agent_resp' else for_tasks).append(
            rep)
    uuids = {r['args']['task_uuid'] for r in for_tasks}
    tasks = {t.uuid: t for t in session.scalars(
        sa.select(models.Task).where(models.Task.uuid.in_(uuids)))}
    known = []
    for rep in for_tasks:
        if rep['args']['task_uuid'] in tasks:
            known.append(rep)
        else:
            counts['unknown_task'] += 1
            LOG.warning('Report %s for unknown task %s acknowledged and '
                        'dropped', rep['method'], rep['args']['task_uuid'])
    rows = _load_rows(session, tasks, known)
    changed = {}
    nodes = _load_nodes(session, known + agent)
    settling = []
    for rep in known:
        task = tasks[rep['args']['task_uuid']]
        for entry in rep['args'].get('nodes', []):
            if 'subtask_uuid' in entry:
                settling.append((entry, rep['received']))
            else:
                _apply_entry(task, entry, rep['received'], rows, changed,
                             nodes, counts)
    bulk.write_rows(session, list(changed.values()))
    now = schemas.utcnow()
    parents = subtasks.apply_entries(session, settling, nodes, now)
    parents |= subtasks.apply_agent_reports(
        session, [(e, r['received']) for r in agent
                  for e in r['args']['nodes']], nodes)
    for rep in known:
        _apply_task(session, tasks[rep['args']['task_uuid']], rep)
    subtasks.complete_parents(session, parents, now)
    return counts


def _key(task_id, uid, name):
    return (task_id, uid or '', name)


def _load_rows(session, tasks, reports):
    by_id = {t.uuid: t.id for t in tasks.values()}
    keys, merge = set(), False
    for rep in reports:
        for entry in rep['args'].get('nodes', []):
            name = entry.get('deployment_graph_task_name')
            if name is not None:
                keys.add(_key(by_id[rep['args']['task_uuid']],
                              entry['uid'], name))
                merge = merge or 'summary' in entry
    return {_key(r['task_id'], r['node_id'], r['deployment_graph_task_name']):
            r for r in bulk.load_rows(session, keys, merge)}


def _load_nodes(session, reports):
    ids = {int(e['uid']) for r in reports for e in r['args'].get('nodes', [])
           if e.get('uid') not in (None, 'master')
           and ('status' in e or 'progress' in e or 'subtask_uuid' in e)}
    if not ids:
        return {}
    # Only what a report may change: the JSON columns stay unloaded.
    return {str(n.id): n for n in session.scalars(
        sa.select(models.Node).where(models.Node.id.in_(ids)).options(
            orm.load_only(*_NODE_FIELDS)))}


def _apply_entry(task, entry, received, rows, changed, nodes, counts):
    time = (schemas.parse_time(entry['time']) if entry.get('time')
            else received)
    name = entry.get('deployment_graph_task_name')
    if name is not None:
        row = rows.get(_key(task.id, entry['uid'], name))
        if row is None:
            counts['rejected'] += 1
            LOG.info('No history row for task %s node %s graph task %s',
                     task.id, entry['uid'], name)
        elif _apply_row(row, entry, time):
            changed[row['id']] = row
            counts['applied'] += 1
        else:
            counts['rejected'] += 1
    node = nodes.get(entry.get('uid'))
    # Only the task holding a node may move it: a replayed report of an
    # older task must not touch a node a newer task has taken since.
    if node is not None and node.reservation == task.id:
        if entry.get('status'):
            node.status = states.next_node_status(node.status,
                                                  entry['status'])
            if entry['status'] == 'error' and entry.get('error_msg'):
                node.error_msg = entry['error_msg'][:4000]
        if entry.get('progress') is not None:
            node.progress = max(node.progress or 0,
                                min(100, int(entry['progress'])))
        node.updated = received


def _apply_row(row, entry, time):
    """Transition one history row in place; True if it changed."""
    start = entry.get('time_start')
    changes = states.history_transition(
        row, entry['task_status'], time,
        schemas.parse_time(start) if start else None)
    merged = False
    for key in ('custom', 'summary'):
        if entry.get(key) and key in row:
            new = dict(row[key] or {}, **entry[key])
            if new != row[key]:
                row[key] = new
                merged = True
    if entry.get('error_msg') and changes and \
            changes['status'] in ('error', 'skipped'):
        row['custom'] = dict(row['custom'] or {},
                             error_msg=entry['error_msg'][:4000])
        merged = True
    if changes is None:
        if not merged:
            LOG.debug('Rejected %s -> %s for history row %s', row['status'],
                      entry['task_status'], row['id'])
        return merged
    row.update(changes)
    return True


def _apply_task(session, task, rep):
    args = rep['args']
    task.heartbeat = max(task.heartbeat or rep['received'], rep['received'])
    if args.get('executor'):
        task.executor_host = args['executor'][:255]
    if args.get('progress') is not None:
        task.progress = max(task.progress, min(100, int(args['progress'])))
    status = args.get('status')
    if status is None or task.status in states.TASK_FINAL:
        return
    if task.action in states.SUBTASK_ACTIONS and status != 'running':
        # Subtasks decide the end; an executor-wide error settles them.
        if args.get('error'):
            subtasks.fail_unfinished(session, task, args['error'],
                                     rep['received'])
            session.flush()
            subtasks.complete_parents(session, {task.id}, rep['received'])
        return
    if status == 'running':
        task.status = states.next_task_status(task.status, 'running')
        task.time_start = task.time_start or rep['received']
        return
    outcomes = [e['status'] == 'ready' for e in args.get('nodes', [])
                if e.get('deployment_graph_task_name') is None
                and e.get('status') in ('ready', 'error')]
    if not outcomes:
        outcomes = _outcomes_from_rows(session, task.id)
    result = states.vote(outcomes)
    if status == 'error' and result == 'success':
        result = 'failure'
    message = args.get('error') or states.summarize(outcomes)
    node_status = None
    if status == 'stopped':
        # Nothing failed, but not everything ran: incomplete, not success.
        result = 'incomplete' if result == 'success' else result
        message = 'Stopped by %s: %s' % (task.terminated_by or 'drydock',
                                         message)
        node_status = 'stopped'
    # A task-level error (executor failure, refusal) ends whatever never
    # ran with that reason, so no row is left pending.
    endings.finish(session, task, _TASK_STATUS[status], result, message,
                   args.get('error'), rep['received'],
                   node_status=node_status)


def _outcomes_from_rows(session, task_id):
    """Per node: ok unless any of its rows is error (Astute reports)."""
    stmt = (sa.select(H.node_id,
                      sa.func.sum(sa.case((H.status == 'error', 1),
                                          else_=0)))
            .where(H.task_id == task_id).group_by(H.node_id))
    return [not errors for _, errors in session.execute(stmt)]

