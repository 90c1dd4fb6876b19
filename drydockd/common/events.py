"""Events: what the receiver learned from a report, in drydock's words.

The receiver translates every decoded, validated work-plane report into
these (``drydockd.receiver.translate``); the DB API applies them
(``Connection.apply_events``). They are the only thing the two share, so
neither knows the other's vocabulary: an event carries no report method
name, no wire status word, no string to parse and no text written for
operators, only what the executor itself said about a failure.

- Tasks and subtasks are named by their uuid (what reports carry).
- Nodes of the ``nodes`` table are integer ids. A graph task's node is
  the ``deployment_history.node_id`` key: a node id as a string,
  ``'master'`` for the master node, or None for the sync pseudo-node.
- Times are naive UTC datetimes (``drydockd.common.timeutils``). ``at`` is
  when the executor saw what the event says, or, when a report does not
  say (Fuel's Astute sends no ``time``), when the receiver got it.
- Texts are the executor's own words, at most ``MAX_TEXT`` characters.

Every event is safe to apply twice and in any order within or across
batches: the rules that apply them (``drydockd.common.states``) only move
a task, a node or a history row forward.
"""

import dataclasses
import datetime

# Longest text an event carries (the receiver cuts longer ones).
MAX_TEXT = 4000

_event = dataclasses.dataclass(frozen=True, slots=True)


@_event
class TaskReported:
    """An executor reported on a task: it is alive (the reaper's
    heartbeat), runs on ``executor`` and is ``progress`` percent done.
    Every report about a task gives one, even one that says nothing else.
    """

    task: str
    at: datetime.datetime
    progress: int | None = None
    executor: str | None = None


@_event
class TaskStarted:
    """An executor started running a task."""

    task: str
    at: datetime.datetime


@_event
class TaskEnded:
    """The executor finished its work on a task.

    :param failed: something failed, in the executor's view.
    :param stopped: it stopped on request before the end (the task ends
        ``terminated``) rather than running to the end (``complete``).
    :param reason: the executor's words when the task failed as a whole
        (it could not run the work at all), else None.
    :param outcomes: ``(node id, ok)`` for each node whose outcome the
        executor gave; empty when it gave none, and the history rows
        decide. Only nodes vote: the master and the sync node never
        appear here.
    """

    task: str
    at: datetime.datetime
    failed: bool
    stopped: bool = False
    reason: str | None = None
    outcomes: tuple = ()


@_event
class GraphTaskChanged:
    """A graph task moved on one node of a deployment.

    :param node: the history row's node key (see the module docstring).
    :param name: the graph task's id in the design.
    :param status: ``running``, ``ready``, ``error`` or ``skipped``.
    :param started_at: the executor's own start time, carried by an end
        so that it gives the same row whether or not the ``running``
        event came first (docs/history.md).
    :param error: why it failed or was skipped.
    :param custom: free-form data to merge into the row's.
    :param summary: the graph task's summary, merged into the row's.
    """

    task: str
    node: str | None
    name: str
    status: str
    at: datetime.datetime
    started_at: datetime.datetime | None = None
    error: str | None = None
    custom: dict | None = None
    summary: dict | None = None


@_event
class NodeChanged:
    """A node's own state, as the executor running ``task`` saw it.

    It moves the node only while ``task`` holds the node. Fields left
    None say nothing.

    :param status: a node status (``drydockd.common.states``).
    :param progress: 0-100, how far the node is in this task.
    :param error: why the node failed (with status ``error``).
    :param power_state: ``on`` or ``off``, as the BMC said.
    """

    task: str
    node: int
    at: datetime.datetime
    status: str | None = None
    progress: int | None = None
    error: str | None = None
    power_state: str | None = None


@_event
class SubtaskSettled:
    """One node's part of a node action ended (``ok`` or not), with the
    executor's ``message``. ``task`` is the parent that the subtask
    belongs to."""

    task: str
    subtask: str
    at: datetime.datetime
    ok: bool
    message: str


@_event
class SubtaskAwaitingAgent:
    """The executor's part of one node's subtask is done; the node's agent
    must report by ``until``, or the subtask fails."""

    task: str
    subtask: str
    at: datetime.datetime
    until: datetime.datetime
    message: str


@_event
class NodeProvisioned:
    """A node's agent says the node finished provisioning: it settles the
    node's provisioning subtask that waits for it, if one does."""

    node: int
    at: datetime.datetime



@_event
class PowerRead:
    """A power-state sweep read a node's BMC: ``state`` is ``on`` or
    ``off``, or None with ``error`` when the BMC could not be read."""

    node: int
    at: datetime.datetime
    state: str | None = None
    error: str | None = None


@_event
class PowerDrift:
    """A sweep found a node ``found`` when drydock expected ``expected``
    (someone changed it behind drydock's back). ``restored``: the
    executor powered it back (``[oob] force_power_state``); False with
    ``error`` when that failed; None when it was not asked to."""

    node: int
    at: datetime.datetime
    expected: str
    found: str
    restored: bool | None = None
    error: str | None = None


@_event
class NodeInventoried:
    """A node's agent inventoried the node (``inventory``: cpus,
    memory_mb, disks, nics) during ``task``."""

    task: str
    node: int
    at: datetime.datetime
    inventory: dict


@_event
class AgentFinished:
    """A node's agent (through the boot service) ended the node's part of
    ``task``: ``ok`` or not, with its ``message``. It settles the node's
    subtask that waits for its agent."""

    task: str
    node: int
    at: datetime.datetime
    ok: bool
    message: str
