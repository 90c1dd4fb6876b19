"""Subtask outcomes, node-agent reports and parent completion.

Node actions give each node a subtask. An executor entry carrying
``subtask_uuid`` settles it (``result``) or starts its wait for the node
agent (``awaiting_agent_until``); a node agent's ``provisioned`` report
settles the node's waiting provisioning subtask. A parent ends when all
its subtasks have, with the result voted from them.
"""

import sqlalchemy as sa

from drydockd.common import actions
from drydockd.common import states
from drydockd.db import models
from drydockd.db.sqlalchemy import endings
from drydockd.messaging import schemas

T = models.Task


def apply_entries(session, entries, nodes, now):
    """Apply ``(entry, received)`` pairs that name a subtask.

    :returns: ids of the parents touched.
    """
    uuids = {e['subtask_uuid'] for e, _ in entries}
    subtasks = {t.uuid: t for t in session.scalars(
        sa.select(T).where(T.uuid.in_(uuids)))}
    parents = set()
    for entry, received in entries:
        sub = subtasks.get(entry['subtask_uuid'])
        if sub is None or sub.status in states.TASK_FINAL:
            continue
        parents.add(sub.parent_id)
        node = nodes.get(entry['uid'])
        if node is not None and node.reservation != sub.parent_id:
            node = None     # taken by a newer task since: leave it alone
        if node is not None and entry.get('status'):
            node.status = entry['status']
            if entry['status'] == 'error':
                node.error_msg = (entry.get('error_msg') or '')[:4000]
        if node is not None and entry.get('power_state'):
            node.power_state = entry['power_state']
        if 'result' in entry:
            _settle(session, sub, entry['result'] == 'success',
                    entry.get('message') or '', _name(node, entry), received)
        elif entry.get('awaiting_agent_until'):
            sub.status = 'running'
            sub.time_start = sub.time_start or received
            sub.deadline = schemas.parse_time(entry['awaiting_agent_until'])
            sub.result_message = entry.get('message')
    return parents


def _name(node, entry):
    return node.name if node is not None else entry['uid']


def _settle(session, sub, ok, message, node_name, now):
    sub.status = 'complete'
    sub.result_status = 'success' if ok else 'failure'
    sub.result_message = message
    sub.result_error_count = 0 if ok else 1
    sub.time_end = now
    sub.updated = now
    endings.add_messages(session, sub.parent_id, [{
        'message': message, 'error': not ok, 'context_type': 'node',
        'context': node_name}], now)


def apply_agent_reports(session, entries, nodes):
    """A node agent says ``provisioned``: settle its waiting subtask."""
    ids = [int(e['uid']) for e, _ in entries
           if e.get('status') == 'provisioned' and e['uid'].isdigit()]
    if not ids:
        return set()
    waiting = session.scalars(sa.select(T).where(
        T.node_id.in_(ids), T.parent_id.is_not(None),
        T.action.in_(actions.AGENT_ACTIONS),
        # An agent can be quicker than its executor's own report.
        T.status.in_(('queued', 'running')))).all()
    parents = set()
    # Only a node that is waiting for its agent moves: a late or repeated
    # agent report changes nothing.
    for sub in waiting:
        node = nodes.get(str(sub.node_id))
        if node is not None:
            node.status = states.next_node_status(node.status,
                                                  'provisioned')
            node.progress = 100
        name = _name(node, {'uid': str(sub.node_id)})
        _settle(session, sub, True, 'node %s reported provisioned' % name,
                name, schemas.utcnow())
        parents.add(sub.parent_id)
    return parents


def complete_parents(session, parent_ids, now):
    """End each parent whose subtasks have all ended; vote its result."""
    for parent in session.scalars(sa.select(T).where(T.id.in_(parent_ids))):
        if parent.status in states.TASK_FINAL:
            continue
        subs = session.scalars(sa.select(T).where(
            T.parent_id == parent.id)).all()
        done = [s for s in subs if s.status in states.TASK_FINAL]
        parent.progress = max(parent.progress,
                              int(100 * len(done) / max(1, len(subs))))
        if len(done) < len(subs):
            continue
        outcomes = [s.result_status == 'success' for s in subs]
        endings.finish(session, parent, 'complete', states.vote(outcomes),
                       states.summarize(outcomes), None, now)


def fail_unfinished(session, parent, reason, now):
    """The executor failed as a whole: no subtask may wait forever."""
    for sub in session.scalars(sa.select(T).where(
            T.parent_id == parent.id,
            T.status.not_in(states.TASK_FINAL))):
        _settle(session, sub, False, reason, 'node %s' % sub.node_id, now)


def reap_overdue(session, now):
    """Fail waiting subtasks past their deadline (agent never reported)."""
    overdue = session.scalars(sa.select(T).where(
        T.parent_id.is_not(None), T.status == 'running',
        T.deadline < now)).all()
    parents = set()
    for sub in overdue:
        node = session.get(models.Node, sub.node_id)
        name = node.name if node is not None else sub.node_id
        reason = 'node %s did not report back before %s' % (
            name, schemas.format_time(sub.deadline))
        if node is not None:
            node.status, node.error_msg = 'error', reason
            node.reservation = None
        _settle(session, sub, False, reason, name, now)
        parents.add(sub.parent_id)
    complete_parents(session, parents, now)
    return [(sub.id, sub.result_message) for sub in overdue]
