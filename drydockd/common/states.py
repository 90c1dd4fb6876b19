"""State rules of tasks, nodes and deployment history, as pure functions.

Everything here is order-independent where the protocol can reorder or
duplicate reports: task status and progress only move forward, node status
follows a fixed order within a task, and a history row follows DESIGN's
transition table. See docs/history.md.
"""

from drydockd.common import actions

# Task lifecycle: requested -> queued -> running -> complete, or
# -> terminating -> terminated.
TASK_STATUSES = ('requested', 'queued', 'running', 'terminating',
                 'complete', 'terminated')
TASK_FINAL = frozenset(('complete', 'terminated'))
_TASK_RANK = {'requested': 0, 'queued': 1, 'running': 2, 'terminating': 3,
              'complete': 4, 'terminated': 4}

RESULT_STATUSES = ('success', 'partial_success', 'failure', 'incomplete')

# Actions whose parent task ends when its per-node subtasks have.
SUBTASK_ACTIONS = frozenset(actions.NODE_ACTIONS)

NODE_STATUSES = ('discover', 'provisioning', 'provisioned', 'deploying',
                 'ready', 'error', 'removing', 'stopped')
# Forward order a report may move a node in; a new task resets the node.
_NODE_RANK = {'discover': 0, 'removing': 0, 'provisioning': 1,
              'provisioned': 2, 'deploying': 3, 'ready': 4, 'stopped': 4,
              'error': 5}

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
    if _NODE_RANK.get(proposed, -1) > _NODE_RANK.get(current, -1):
        return proposed
    return current


def vote(outcomes):
    """Result status from per-subtask outcomes (True ok, False failed,
    None unfinished): all ok -> success, all failed -> failure, a mix ->
    partial_success, nothing finished -> incomplete."""
    finished = [o for o in outcomes if o is not None]
    if not finished:
        return 'incomplete' if outcomes else 'success'
    if all(finished) and len(finished) == len(outcomes):
        return 'success'
    if not any(finished):
        return 'failure'
    return 'partial_success'


def summarize(outcomes):
    """The one-line result message for per-node outcomes."""
    failed = outcomes.count(False)
    return '%d of %d nodes succeeded, %d failed' % (
        len(outcomes) - failed, len(outcomes), failed)


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
