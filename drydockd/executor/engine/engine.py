"""The deployment graph engine: runs a tasks_graph and reports every fate.

Scheduling rules:

- one task at a time per node; at most ``max_busy`` nodes busy at once
  (every node that runs commands counts, ``master`` included; the sync
  pseudo-node never does: its tasks are instant);
- per-task strategy limits (strategy.py);
- among startable tasks the one with the longest chain of work behind it
  starts first (model.Graph.rank);
- instant types (stage, sync, noop) end ``ready`` the moment their
  dependencies end, ``skipped`` ones end ``skipped``; neither takes a node.

Failure handling:

- a failed task fails its dependants, on any node, with the reason
  "dependency X on node Y failed" (X is the immediate dependency, whose
  own reason names the next one up): nothing is left pending;
- ``fail_on_error: false``: a failure is reported ``skipped`` (with the
  reason) and its dependants go on. DESIGN's history table has no
  ``running -> skipped``, so such a task's ``running`` is not reported:
  its one terminal report carries ``time_start`` (``pending -> ready`` or
  ``-> skipped`` sets both times), and the row ends exact, only the live
  view shows it pending while it runs;
- ``parameters.timeout`` (else ``default_timeout``) goes to the transport,
  which enforces it; a transport that never answers is failed by the
  engine's watchdog ``watchdog_grace`` seconds later;
- ``parameters.retries``: extra attempts, started at once on the same
  node, which the task keeps (with its strategy slot) between attempts, so
  a history row spans all attempts and the summary carries ``attempts``;
  a retry's task dict has ``attempt`` (2, 3, ...) for the transport;
- a fault-tolerance group over its tolerance halts the deployment
  (fault_tolerance.py).

Halting (a fault-tolerance group exceeded, ``stop()``, or the ``fence``
naming a reason): running tasks finish (no retry), nothing new starts,
every pending task ends ``skipped`` with the reason, and nodes end
``stopped`` unless they failed (``error``) or had finished everything
before the halt (``ready``). The final status is ``stopped`` after
``stop()`` and ``error`` otherwise: the deployment failed, it was not an
operator's decision. The fence is asked every loop; the executor's says
why the run must not go on (its reports cannot reach the manager, which
fails the task and releases its nodes).

``abort(reason)`` (the executor's drain deadline) halts too and does not
wait for running tasks: they end ``error`` with the reason at once, and
whatever their transport answers later is ignored.

Otherwise the final status is ``error`` if any row ended ``error`` (on
any node, master and sync included), else ``ready``; each node's final
entry is ``error`` iff one of its rows is. A dry run reports every row
``skipped`` ("dry run") and no node status.

The engine is single-threaded. Transports call back from their own
threads only to append to a deque and set an Event; the loop drains events
in batches, starts what became startable, and wakes at least every
report interval to check halts and deadlines; the reporter publishes on
its own clock.
"""

import collections
import heapq
import logging
import threading
import time

from drydockd.executor.engine import fault_tolerance
from drydockd.executor.engine import queues
from drydockd.graph import model
from drydockd.graph import strategy
from drydockd.graph import vocabulary
from drydockd.messaging.schemas import utcnow

LOG = logging.getLogger(__name__)

PENDING, RUNNING, READY, ERROR, SKIPPED = range(5)
STATUS = ('pending', 'running', 'ready', 'error', 'skipped')
STOPPED = 'deployment stopped'
EVENT_BATCH = 512


class Engine:

    def __init__(self, tasks_graph, transport, reporter, max_busy=200,
                 default_timeout=600, dry_run=False, tasks_metadata=None,
                 watchdog_grace=30.0, fence=None):
        meta = tasks_metadata or {}
        self.graph = graph = model.Graph(tasks_graph, meta.get('node_facts'))
        self.transport = transport
        self.reporter = reporter
        self.max_busy = max_busy
        self.default_timeout = default_timeout
        self.dry_run = dry_run
        self.watchdog_grace = watchdog_grace
        self.fence = fence        # () -> why nothing more may start, or None
        count, nodes = len(graph), len(graph.uids)
        self.state = [PENDING] * count
        self.waiting = [len(deps) for deps in graph.requires]
        self.started = [None] * count
        self.attempts = [0] * count
        self.finished = self.errors = self.running = self.busy = 0
        self.node_done = [0] * nodes
        self.node_failed = [False] * nodes
        self.node_halted = [False] * nodes
        self.counts_busy = [uid != vocabulary.SYNC for uid in graph.uids]
        self.deadlines = []       # (monotonic, vertex, attempt, timeout)
        self.queues = queues.ReadyQueues(graph, strategy.Limits(graph),
                                         self.state)
        self.tolerance = fault_tolerance.Tracker(
            meta.get('fault_tolerance_groups'), graph.uids)
        self.events = collections.deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.halted = None        # why nothing new starts
        self._halt_reason = None  # a halt asked for while settling
        self._stopped = False
        self._abort = None        # end running tasks too, with this reason
        self._stop_reason = None
        self._failure = None      # the error the final report carries

    def stop(self, reason=None):
        """Let running tasks finish; start nothing new (any thread).

        Without ``reason`` an operator stopped it (final ``stopped``);
        with one, the executor had to (final ``error`` with the reason).
        """
        self._stop_reason = reason
        self._stop.set()
        self._wake.set()

    def abort(self, reason):
        """End the run now: pending tasks skipped, running ones error, both
        with ``reason`` (any thread)."""
        self._abort = reason
        self._wake.set()

    def run(self):
        """Run to the end; returns the final status reported."""
        graph = self.graph
        if graph.cycle:
            return self._reject('tasks_graph has a cycle: %s' % graph.cycle)
        if graph.missing:
            LOG.warning('tasks_graph: %d dependencies on tasks absent from '
                        'the graph ignored', graph.missing)
        self._report_nodes(lambda n: 'deploying', progress=0)
        work = []
        for vertex, waiting in enumerate(self.waiting):
            if waiting == 0:
                self._make_ready(vertex, work)
        self._settle(work)
        total = len(graph)
        while self.finished < total:
            self._check_halt()
            if self.halted is None:
                self._dispatch()
                self._unstall(total)
            if self.finished >= total:
                break
            self._wait_events()
            self._check_deadlines()
            self.reporter.progress(self._progress())
        return self._final()

    # -- scheduling -------------------------------------------------------

    def _make_ready(self, vertex, work):
        """All dependencies ended well: finish an instant, queue the rest."""
        if self._halt_reason or self.halted or self._stop.is_set():
            return   # stays pending; the halt skips it
        kind = self.graph.items[vertex].get('type')
        if self.dry_run:
            work.append((vertex, SKIPPED, utcnow(), 'dry run', None))
        elif kind == 'skipped':
            work.append((vertex, SKIPPED, utcnow(), None, None))
        elif kind in vocabulary.INSTANT_TYPES:
            self.started[vertex] = now = utcnow()
            work.append((vertex, READY, now, None, None))
        else:
            self.queues.push(vertex)

    def _dispatch(self):
        """Start the best-ranked startable tasks while nodes are free."""
        node_of = self.graph.node
        while self.busy < self.max_busy:
            vertex = self.queues.pop()
            if vertex is None:
                return
            self._start(vertex, node_of[vertex])

    def _start(self, vertex, node):
        self.queues.occupy(node, vertex)
        if self.counts_busy[node]:
            self.busy += 1
        self.running += 1
        self.state[vertex] = RUNNING
        self.started[vertex] = now = utcnow()
        if self.graph.items[vertex].get('fail_on_error', True) is not False:
            self.reporter.entry(self.graph.uids[node],
                                self.graph.names[vertex], 'running', now)
        self._launch(vertex)

    def _launch(self, vertex):
        """Hand one attempt to the transport; its answer becomes an event."""
        self.attempts[vertex] = attempt = self.attempts[vertex] + 1
        item = self.graph.items[vertex]
        params = item.get('parameters') or {}
        timeout = _number(params.get('timeout'), self.default_timeout)
        heapq.heappush(self.deadlines, (
            time.monotonic() + timeout + self.watchdog_grace, vertex,
            attempt, timeout))
        events, wake = self.events, self._wake

        def on_done(ok, message=None, summary=None):
            events.append((vertex, attempt, ok, message, summary, utcnow()))
            wake.set()

        task = item if attempt == 1 else dict(item, attempt=attempt)
        try:
            self.transport.start(self.graph.uid_of(vertex), task, timeout,
                                 on_done)
        except Exception as exc:  # noqa: BLE001 - a node failure, not ours
            LOG.warning('Node %s could not start %s: %s',
                        self.graph.uid_of(vertex), item['id'], exc)
            on_done(False, 'could not start: %s' % exc)

    def _on_event(self, vertex, attempt, ok, message, summary, when):
        if self.state[vertex] != RUNNING or self.attempts[vertex] != attempt:
            return   # a late answer (watchdog already failed it)
        graph = self.graph
        item = graph.items[vertex]
        retries = int(_number((item.get('parameters') or {}).get('retries'),
                              0))
        if not ok and attempt <= retries and self.halted is None \
                and self._halt_reason is None and not self._stop.is_set():
            LOG.info('Retrying %s on node %s (attempt %d): %s',
                     item['id'], graph.uid_of(vertex), attempt + 1, message)
            self._launch(vertex)
            return
        node = graph.node[vertex]
        if self.counts_busy[node]:
            self.busy -= 1
        self.running -= 1
        if attempt > 1:
            summary = dict(summary or {}, attempts=attempt)
        if ok:
            status = READY
        elif item.get('fail_on_error', True) is False:
            status = SKIPPED
        else:
            status = ERROR
        self._settle([(vertex, status, when, message, summary)])
        self.queues.free(node, vertex)

    def _settle(self, work):
        """Record terminal statuses; release or fail dependants.

        ``work`` holds ``(vertex, status, time, message, summary)``; it
        grows as dependants finish (instants) or fail, iteratively, so a
        long chain of instants or failures never recurses.
        """
        graph, report = self.graph, self.reporter.entry
        while work:
            vertex, status, when, message, summary = work.pop()
            if self.state[vertex] >= READY:
                continue
            self.state[vertex] = status
            self.finished += 1
            node = graph.node[vertex]
            self.node_done[node] += 1
            uid, name = graph.uids[node], graph.names[vertex]
            report(uid, name, STATUS[status], when,
                   time_start=self.started[vertex] or when,
                   error_msg=None if status == READY else message,
                   summary=summary, node_progress=self._node_progress(node))
            if status == ERROR:
                self.errors += 1
                self._mark_failed(node)
                reason = 'dependency %s on node %s failed' % (name, uid)
                work.extend((child, ERROR, when, reason, None)
                            for child in graph.dependants[vertex])
                continue
            for child in graph.dependants[vertex]:
                self.waiting[child] -= 1
                if self.waiting[child] == 0 and self.state[child] == PENDING:
                    self._make_ready(child, work)

    def _mark_failed(self, node):
        if self.node_failed[node]:
            return
        self.node_failed[node] = True
        reason = self.tolerance.node_failed(node)
        if reason and self._halt_reason is None and self.halted is None:
            LOG.warning('Halting the deployment: %s', reason)
            self._halt_reason = reason

    # -- halting ----------------------------------------------------------

    def _check_halt(self):
        if self._abort is not None:
            self._end_running(self._abort)
        if self.halted is not None:
            return
        fenced = self.fence() if self.fence is not None else None
        if self._halt_reason:
            self._halt(self._halt_reason)
        elif fenced:
            LOG.warning('Halting the deployment: %s', fenced)
            self._failure = fenced
            self._halt(fenced)
        elif self._stop.is_set() and self._stop_reason:
            self._failure = self._stop_reason
            self._halt(self._stop_reason)
        elif self._stop.is_set():
            self._stopped = True
            self._halt(STOPPED)

    def _end_running(self, reason):
        """Abort: halt, and end every running task with ``reason``."""
        if self._failure is None:
            self._failure = reason
        if self.halted is None:
            self._halt(reason)
        now = utcnow()
        for vertex, state in enumerate(self.state):
            if state == RUNNING:
                node = self.graph.node[vertex]
                if self.counts_busy[node]:
                    self.busy -= 1
                self.running -= 1
                self._settle([(vertex, ERROR, now, reason, None)])
                self.queues.free(node, vertex)

    def _halt(self, reason, status=SKIPPED):
        """End every pending task with ``reason``; start nothing new."""
        self.halted = reason
        now, report, graph = utcnow(), self.reporter.entry, self.graph
        for vertex, state in enumerate(self.state):
            if state != PENDING:
                continue
            self.state[vertex] = status
            self.finished += 1
            node = graph.node[vertex]
            self.node_done[node] += 1
            self.node_halted[node] = True
            if status == ERROR:
                self.errors += 1
                self.node_failed[node] = True
            report(graph.uids[node], graph.names[vertex], STATUS[status],
                   now, time_start=now, error_msg=reason,
                   node_progress=self._node_progress(node))
        self.queues.clear()
        LOG.info('Deployment halted (%s); %d tasks still running', reason,
                 self.running)

    def _unstall(self, total):
        """Safety net: nothing runs or is due, yet work is left."""
        if self.running or self.events or self.finished >= total \
                or self.halted is not None or self._halt_reason:
            return
        self.queues.release_all()
        self._dispatch()
        if not (self.running or self.events):
            LOG.error('Graph engine stalled with %d tasks left',
                      total - self.finished)
            self._halt('the graph engine stalled', status=ERROR)

    # -- events and reporting ---------------------------------------------

    def _wait_events(self):
        events = self.events
        if not events:
            timeout = self.reporter.interval
            if self.deadlines:
                timeout = min(timeout, max(
                    0.0, self.deadlines[0][0] - time.monotonic()))
            self._wake.wait(timeout)
        self._wake.clear()
        on_event = self._on_event
        for _ in range(EVENT_BATCH):
            if not events:
                break
            on_event(*events.popleft())

    def _check_deadlines(self):
        deadlines = self.deadlines
        if not deadlines or deadlines[0][0] > time.monotonic():
            return
        now = time.monotonic()
        while deadlines and deadlines[0][0] <= now:
            _, vertex, attempt, timeout = heapq.heappop(deadlines)
            if self.state[vertex] == RUNNING \
                    and self.attempts[vertex] == attempt:
                LOG.error('No result for %s on node %s within %ss',
                          self.graph.names[vertex],
                          self.graph.uid_of(vertex), timeout)
                self._on_event(vertex, attempt, False,
                               'no result from the node transport within '
                               '%ss' % timeout, None, utcnow())

    def _node_progress(self, node):
        return 100 * self.node_done[node] // len(
            self.graph.node_vertices[node])

    def _progress(self):
        return 100 * self.finished // max(1, len(self.graph))

    def _report_nodes(self, status_of, progress):
        if self.dry_run:
            return
        for node, uid in enumerate(self.graph.uids):
            if uid != vocabulary.SYNC:
                self.reporter.node(uid, status=status_of(node),
                                   progress=progress)

    def _node_status(self, node):
        if self.node_failed[node]:
            return 'error'
        return 'stopped' if self.node_halted[node] else 'ready'

    def _final(self):
        self._report_nodes(self._node_status, progress=100)
        error = None
        if self._failure is not None:
            final, error = 'error', self._failure
        elif self._stopped:
            final = 'stopped'
        elif self.errors:
            final = 'error'
            # A group over its tolerance is named even when the last task
            # ended before a halt could skip anything.
            error = self.halted if self.halted is not None \
                else self._halt_reason
        else:
            final = 'ready'
        self.reporter.finish(final, 100, error=error)
        return final

    def _reject(self, reason):
        """A graph the engine cannot run: every row ends error, at once."""
        LOG.error('Rejecting the deployment: %s', reason)
        now = utcnow()
        for vertex in range(len(self.graph)):
            self.reporter.entry(self.graph.uid_of(vertex),
                                self.graph.names[vertex], 'error', now,
                                time_start=now, error_msg=reason)
        self.node_failed = [True] * len(self.graph.uids)
        self._report_nodes(self._node_status, progress=100)
        self.reporter.finish('error', 100, error=reason)
        return 'error'


def _number(value, default):
    try:
        return float(value) if value is not None else float(default)
    except (TypeError, ValueError):
        return float(default)
