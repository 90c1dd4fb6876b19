"""State rules of tasks, nodes and deployment history, as pure functions.

Everything here is order-independent where the protocol can reorder or
duplicate reports: task status and progress only move forward, node status
follows a fixed order within a task, and a history row follows DESIGN's
transition table. See docs/history.md. How a task's result is voted and
worded is ``drydockd.common.results``.
"""

from drydockd.common import actions

# Task lifecycle: requested -> queued -> running -> complete, or
# -> terminating -> terminated.
TASK_STATUSES = ('requested', 'queued', 'running', 'terminating',
                 'complete', 'terminated')
TASK_FINAL = frozenset(('complete', 'terminated'))
_TASK_RANK = {'requested': 0, 'queued': 1, 'running': 2, 'terminating': 3,
              'complete': 4, 'terminated': 4}

# Actions whose parent task ends when its per-node subtasks have.
SUBTASK_ACTIONS = frozenset(actions.NODE_ACTIONS)

NODE_STATUSES = ('discover', 'provisioning', 'provisioned', 'deploying',
                 'ready', 'error', 'removing', 'stopped')
# The one rule for a node's status. A task's start sets the status its
# action begins with (``actions.NodeAction.node_status``): that is the
# only step back. From there, reports and the task's end move the node
# only forward in this order, so a replayed or late report never undoes
# a later one. ``error`` comes last: a failed node stays failed until a
# new task takes it.
_NODE_RANK = {'removing': 0, 'discover': 1, 'provisioning': 2,
              'provisioned': 3, 'deploying': 4, 'ready': 5, 'stopped': 5,
              'error': 6}

HISTORY_STATUSES = ('pending', 'running', 'ready', 'error', 'skipped')
HISTORY_FINAL = frozenset(('ready', 'error', 'skipped'))


def next_task_status(current, proposed):
    """The status a task moves to; never backwards, never out of final."""
    if current in TASK_FINAL:
        return current
    if _TASK_RANK[proposed] > _TASK_RANK[current]:
        return proposed
    return current


def next_node_status(current, proposed):
    """The status a node holding ``current`` takes when ``proposed`` is
    reported within its task: ``proposed`` if it is further on, else
    ``current`` (an unknown proposal changes nothing)."""
    if _NODE_RANK.get(proposed, -1) > _NODE_RANK.get(current, -1):
        return proposed
    return current


def node_statuses_before(status):
    """The statuses from which a node moves to ``status``: the same rule
    as ``next_node_status``, for set-based UPDATEs."""
    rank = _NODE_RANK[status]
    return tuple(s for s, r in _NODE_RANK.items() if r < rank)


def history_transition(row, status, time, time_start=None):
    """Apply one report to a history row (dict with status, time_start,
    time_end); returns the changed fields, or None if rejected.

    ``time_start`` is the executor's start time carried on a terminal
    report, so a terminal report that overtook its ``running`` (or replaced
    it) still yields the same start time.
    """
    current = row['status']
    if current in HISTORY_FINAL:
        return None
    if current == 'pending':
        if status == 'running':
            return {'status': 'running', 'time_start': time}
        return {'status': status, 'time_start': time_start or time,
                'time_end': time}
    # current == 'running'
    if status in ('ready', 'error'):
        changes = {'status': status, 'time_end': time}
        if time_start is not None and (row['time_start'] is None
                                       or time_start < row['time_start']):
            changes['time_start'] = time_start
        return changes
    return None
