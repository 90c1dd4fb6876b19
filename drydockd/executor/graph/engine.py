"""The deployment graph engine: runs a tasks_graph and reports every fate.

Rules: one task at a time per node; at most ``max_busy`` nodes busy (the
sync pseudo-node never counts); among ready tasks the one with the longest
chain of work behind it starts first; a failed task fails its dependants
("dependency X on node Y failed") so nothing is left pending; a task with
``fail_on_error: false`` that fails is reported ``skipped`` and its
dependants go on; a stop lets running tasks finish and skips the rest.

The engine is single-threaded: transports call back from their own
threads only to put an event on a queue.
"""

import collections
import heapq
import itertools
import logging
import queue
import threading

from drydockd.executor.graph import model
from drydockd.messaging.schemas import utcnow

LOG = logging.getLogger(__name__)


class Engine:

    def __init__(self, tasks_graph, transport, reporter, max_busy=200,
                 default_timeout=600, dry_run=False):
        self.graph = model.Graph(tasks_graph)
        self.transport = transport
        self.reporter = reporter
        self.max_busy = max_busy
        self.default_timeout = default_timeout
        self.dry_run = dry_run
        self.state = dict.fromkeys(self.graph.items, 'pending')
        self.waiting = {v: len(d) for v, d in self.graph.requires.items()}
        self.started = {}
        self.attempts = collections.Counter()
        self.failed_nodes = set()
        self.busy = set()
        self.deferred = collections.defaultdict(list)
        self.heap = []
        self.seq = itertools.count()
        self.events = queue.Queue()
        self.finished = 0
        self._stop = threading.Event()
        self.per_node = collections.Counter(u for u, _ in self.graph.items)
        self.done_on_node = collections.Counter()

    def stop(self):
        """Let running tasks finish; start nothing new."""
        self._stop.set()
        self.events.put(None)

    def run(self):
        """Run to the end; returns the final task status reported."""
        for uid in sorted({u for u, _ in self.graph.items} - {model.SYNC}):
            self.reporter.node(uid, status='deploying', progress=0)
        for vertex, count in self.waiting.items():
            if count == 0:
                self._make_ready(vertex)
        total = len(self.state)
        while self.finished < total:
            if self._stop.is_set():
                self._skip_pending('deployment stopped')
            else:
                self._dispatch()
            if self.finished >= total:
                break
            self._wait_events()
            self.reporter.flush(self._progress())
        return self._final()

    def _wait_events(self):
        try:
            event = self.events.get(timeout=self.reporter.interval)
        except queue.Empty:
            return
        while event is not None or not self.events.empty():
            if event is not None:
                self._on_done(*event)
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break

    def _make_ready(self, vertex):
        item = self.graph.items[vertex]
        if self.dry_run:
            self._finish(vertex, 'skipped', utcnow(), 'dry run')
        elif item['type'] == 'skipped':
            self._finish(vertex, 'skipped', utcnow())
        elif item['type'] in model.INSTANT_TYPES:
            now = utcnow()
            self.started[vertex] = now
            self._finish(vertex, 'ready', now)
        else:
            heapq.heappush(self.heap, (-self.graph.priority[vertex],
                                       next(self.seq), vertex))

    def _dispatch(self):
        while self.heap and len(self.busy) < self.max_busy:
            _, _, vertex = heapq.heappop(self.heap)
            if self.state[vertex] != 'pending':
                continue
            if vertex[0] in self.busy:
                self.deferred[vertex[0]].append(vertex)
                continue
            self._start(vertex)

    def _start(self, vertex):
        uid, name = vertex
        item = self.graph.items[vertex]
        self.busy.add(uid)
        self.state[vertex] = 'running'
        self.attempts[vertex] += 1
        now = utcnow()
        self.started.setdefault(vertex, now)
        self.reporter.entry(uid, name, 'running', now)
        timeout = float(item['parameters'].get('timeout')
                        or self.default_timeout)

        def on_done(ok, message=None, summary=None):
            self.events.put((vertex, ok, message, summary, utcnow()))

        try:
            self.transport.start(uid, item, timeout, on_done)
        except Exception as exc:  # noqa: BLE001 - a node failure, not ours
            LOG.warning('Node %s could not start %s: %s', uid, name, exc)
            on_done(False, 'could not start: %s' % exc)

    def _on_done(self, vertex, ok, message, summary, when):
        item = self.graph.items[vertex]
        self.busy.discard(vertex[0])
        retries = int(item['parameters'].get('retries', 0) or 0)
        if not ok and self.attempts[vertex] <= retries \
                and not self._stop.is_set():
            LOG.info('Retrying %s on node %s (attempt %d): %s', vertex[1],
                     vertex[0], self.attempts[vertex] + 1, message)
            self.state[vertex] = 'pending'
            self._requeue_node(vertex[0], extra=[vertex])
            return
        if ok:
            status = 'ready'
        elif item.get('fail_on_error', True) is False:
            status = 'skipped'
        else:
            status = 'error'
        self._finish(vertex, status, when, message, summary)
        self._requeue_node(vertex[0])

    def _requeue_node(self, uid, extra=()):
        for vertex in list(extra) + self.deferred.pop(uid, []):
            heapq.heappush(self.heap, (-self.graph.priority[vertex],
                                       next(self.seq), vertex))

    def _finish(self, vertex, status, when, message=None, summary=None):
        """Record a terminal status and release or fail the dependants."""
        stack = [(vertex, status, message)]
        while stack:
            vertex, status, message = stack.pop()
            if self.state[vertex] in ('ready', 'error', 'skipped'):
                continue
            self.state[vertex] = status
            self.finished += 1
            uid, name = vertex
            self.done_on_node[uid] += 1
            self.reporter.entry(
                uid, name, status, when,
                time_start=self.started.get(vertex, when),
                error_msg=message if status != 'ready' else None,
                summary=summary, node_progress=self._node_progress(uid))
            summary = None
            if status == 'error':
                self.failed_nodes.add(uid)
                reason = 'dependency %s on node %s failed' % (name, uid)
                stack.extend((child, 'error', reason)
                             for child in self.graph.dependants[vertex])
                continue
            for child in self.graph.dependants[vertex]:
                self.waiting[child] -= 1
                if self.waiting[child] == 0 and \
                        self.state[child] == 'pending':
                    self._make_ready(child)

    def _skip_pending(self, reason):
        now = utcnow()
        for vertex, state in list(self.state.items()):
            if state == 'pending':
                self.state[vertex] = 'skipped'
                self.finished += 1
                self.done_on_node[vertex[0]] += 1
                self.reporter.entry(vertex[0], vertex[1], 'skipped', now,
                                    time_start=now, error_msg=reason)
        self.heap.clear()
        self.deferred.clear()

    def _node_progress(self, uid):
        return int(100 * self.done_on_node[uid] / self.per_node[uid])

    def _progress(self):
        return int(100 * self.finished / max(1, len(self.state)))

    def _final(self):
        stopped = self._stop.is_set()
        for uid in sorted({u for u, _ in self.graph.items} - {model.SYNC}):
            if stopped:
                status = 'stopped'
            else:
                status = 'error' if uid in self.failed_nodes else 'ready'
            self.reporter.node(uid, status=status, progress=100)
        if stopped:
            final = 'stopped'
        else:
            final = 'error' if self.failed_nodes else 'ready'
        self.reporter.finish(final, 100)
        return final
