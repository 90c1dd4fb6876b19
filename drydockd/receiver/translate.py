"""Reports -> events: the receiver's reading of the work-plane protocol.

This is the one place that knows what a report's fields mean: method
names, the executor's status words, node uids and ISO 8601 times become
the typed events of ``drydockd.common.events``, which the DB API applies
without knowing the wire. A report must have passed
``messaging.schemas.validate_report`` first.

- Each report about a task gives a ``TaskReported`` (the heartbeat), then
  what its fields say: ``status`` running -> ``TaskStarted``; ready,
  error or stopped -> ``TaskEnded``; a node entry naming a graph task ->
  ``GraphTaskChanged``; a node's own status, progress or power state ->
  ``NodeChanged``; a node entry naming a subtask -> ``SubtaskSettled`` or
  ``SubtaskAwaitingAgent``.
- A node agent's report without a task (the simulator's) gives
  ``NodeProvisioned`` per node that says so. One with a task (the boot
  service's) reads like an executor's, plus ``NodeInventoried`` and
  ``AgentFinished`` for entries with an inventory or the agent's result.
- A power-sync report gives ``PowerRead`` per node, and ``PowerDrift``
  for a node whose state was not the one drydock expected.
- An entry without ``time`` (Fuel's Astute sends none) happened when the
  report was received.
- Only nodes vote on the result: the master and the sync node's entries
  never become outcomes, and they are not nodes of the ``nodes`` table.
"""

from drydockd.common import events as ev
from drydockd.graph import vocabulary
from drydockd.messaging import schemas

# The executor's word for how its work on a task ended:
# (failed, stopped).
_ENDS = {'ready': (False, False), 'error': (True, False),
         'stopped': (False, True)}
# Entries of these uids are graph tasks off the nodes, never a node.
_NOT_NODES = (None, vocabulary.MASTER)


def translate(report, received):
    """The events one validated report says, in order.

    :param received: when the receiver got it (naive UTC).
    :raises: MessageInvalid if a time cannot be read.
    """
    args = report['args']
    if report['method'] == schemas.NODE_AGENT_REPORT \
            and 'task_uuid' not in args:
        # The simulator's agent: no task, only "provisioned".
        return _agent(args, received)
    if report['method'] == schemas.POWER_SYNC_REPORT:
        return _power_sync(args, received)
    task = args['task_uuid']
    out = [ev.TaskReported(task, received, _percent(args.get('progress')),
                           args.get('executor'))]
    status = args.get('status')
    if status == 'running':
        out.append(ev.TaskStarted(task, received))
    outcomes = []
    for entry in args.get('nodes', ()):
        _entry(task, entry, received, out, outcomes)
    if status in _ENDS:
        failed, stopped = _ENDS[status]
        out.append(ev.TaskEnded(task, received, failed, stopped,
                                _text(args.get('error')), tuple(outcomes)))
    return out


def _entry(task, entry, received, out, outcomes):
    """Append what one node entry says; collect the node's outcome."""
    at = schemas.parse_time(entry['time']) if entry.get('time') \
        else received
    name = entry.get('deployment_graph_task_name')
    if name is not None:
        out.append(_graph_task(task, entry, name, at))
    uid = entry['uid']
    if 'subtask_uuid' in entry:
        _subtask(task, entry, received, out)
    if uid in _NOT_NODES:
        return
    node = int(uid)
    status = entry.get('status')
    if status is not None or entry.get('progress') is not None \
            or entry.get('power_state') is not None:
        out.append(ev.NodeChanged(
            task, node, at, status, _percent(entry.get('progress')),
            _text(entry.get('error_msg')) if status == 'error' else None,
            entry.get('power_state')))
    if entry.get('inventory') is not None:
        out.append(ev.NodeInventoried(task, node, at, entry['inventory']))
    if entry.get('agent_result') is not None:
        out.append(ev.AgentFinished(
            task, node, at, entry['agent_result'] == 'success',
            _text(entry.get('message')) or ''))
    if name is None and 'subtask_uuid' not in entry \
            and status in ('ready', 'error'):
        outcomes.append((node, status == 'ready'))


def _graph_task(task, entry, name, at):
    start = entry.get('time_start')
    return ev.GraphTaskChanged(
        task, entry['uid'], name, entry['task_status'], at,
        schemas.parse_time(start) if start else None,
        _text(entry.get('error_msg')), entry.get('custom') or None,
        entry.get('summary') or None)


def _subtask(task, entry, received, out):
    message = _text(entry.get('message')) or ''
    if 'result' in entry:
        out.append(ev.SubtaskSettled(task, entry['subtask_uuid'], received,
                                     entry['result'] == 'success', message))
    elif entry.get('awaiting_agent_until'):
        out.append(ev.SubtaskAwaitingAgent(
            task, entry['subtask_uuid'], received,
            schemas.parse_time(entry['awaiting_agent_until']), message))


def _agent(args, received):
    return [ev.NodeProvisioned(int(e['uid']), received)
            for e in args['nodes']
            if e.get('status') == 'provisioned'
            and e['uid'] not in _NOT_NODES]


def _power_sync(args, received):
    out = []
    for entry in args['nodes']:
        if entry['uid'] in _NOT_NODES:
            continue
        node = int(entry['uid'])
        at = schemas.parse_time(entry['time']) if entry.get('time') \
            else received
        found = entry.get('power_read')
        out.append(ev.PowerRead(node, at, found,
                                _text(entry.get('power_error'))))
        expected = entry.get('power_expected')
        if found and expected and found != expected:
            out.append(ev.PowerDrift(node, at, expected, found,
                                     entry.get('power_restored'),
                                     _text(entry.get('power_error'))))
    return out


def _percent(value):
    return None if value is None else min(100, int(value))


def _text(value):
    return None if value is None else value[:ev.MAX_TEXT]
