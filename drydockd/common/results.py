"""A task's result: how its nodes vote, and the words that say so.

Only nodes vote. A deployment also runs graph tasks on the master node
and on the sync pseudo-node; they are not nodes of the site, so they are
neither counted in "N of M nodes" nor given a vote, but a failure there
still fails the deployment (``vote(..., failed_elsewhere=True)``).

Every result text an operator reads in a task's messages is written here,
so the DB layer that stores it never composes one.
"""

from drydockd.common import timeutils

RESULT_STATUSES = ('success', 'partial_success', 'failure', 'incomplete')


def vote(outcomes, failed_elsewhere=False):
    """Result status from per-node outcomes (True ok, False failed, None
    unfinished): all ok -> success, all failed -> failure, a mix ->
    partial_success, nothing finished -> incomplete.

    ``failed_elsewhere``: something that is not a node failed (a graph
    task on the master or the sync node, or the executor said so); a
    result that would be success is failure instead.
    """
    finished = [o for o in outcomes if o is not None]
    if not finished:
        result = 'incomplete' if outcomes else 'success'
    elif all(finished) and len(finished) == len(outcomes):
        result = 'success'
    elif not any(finished):
        result = 'failure'
    else:
        result = 'partial_success'
    if failed_elsewhere and result == 'success':
        return 'failure'
    return result


def summarize(outcomes, failed_on=()):
    """The one-line result message for per-node outcomes.

    :param failed_on: where graph tasks failed outside the nodes: history
        node keys (``'master'``, or None for the sync node).
    """
    failed = outcomes.count(False)
    text = '%d of %d nodes succeeded, %d failed' % (
        len(outcomes) - failed, len(outcomes), failed)
    if failed_on:
        places = sorted('the sync node' if key is None else key
                        for key in set(failed_on))
        text += '; graph tasks failed on %s' % ' and '.join(places)
    return text


def stopped(message, by):
    """The result message of a deployment stopped by ``by``."""
    return 'Stopped by %s: %s' % (by or 'drydock', message)


def agent_reported(node_name):
    """A node's agent settled its provisioning subtask."""
    return 'node %s reported provisioned' % node_name


def agent_overdue(node_name, deadline):
    """A node's agent did not report before its ``deadline``."""
    return 'node %s did not report back before %s' % (
        node_name, timeutils.format_time(deadline))
