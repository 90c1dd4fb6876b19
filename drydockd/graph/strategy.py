"""Per-task strategy limits: how many nodes may run one graph task at once.

``parameters.strategy`` of a task (the same on every node it runs on):

- ``{type: one_by_one}``: one node at a time;
- ``{type: parallel, amount: K}``: at most K nodes at a time; K may be a
  percentage (``'20%'``) of the nodes the task runs on, rounded up, at
  least 1;
- ``{type: parallel}`` or no strategy: no limit beyond the engine's.

The limit counts *running* vertices of the task, so a retry keeps its slot
and a waiting vertex takes no slot. Vertices refused a slot wait in a
per-task heap of ranks until a slot frees (see
executor.engine.queues.ReadyQueues.release_slot).
"""

import logging
import math

LOG = logging.getLogger(__name__)


def parse_limit(strategy, count):
    """The most vertices of a task running at once, or None for no limit.

    :param strategy: the task's ``parameters.strategy`` (may be None).
    :param count: how many nodes the task runs on (for percentages).
    :raises: ValueError with the reason when the strategy is malformed.
    """
    if not strategy:
        return None
    if not isinstance(strategy, dict):
        raise ValueError('strategy must be a mapping with a type')
    kind = strategy.get('type', 'parallel')
    if kind == 'one_by_one':
        return 1
    if kind != 'parallel':
        raise ValueError('unknown strategy type %r (one_by_one, parallel)'
                         % (kind,))
    amount = strategy.get('amount')
    if amount is None:
        return None
    if isinstance(amount, str) and amount.endswith('%'):
        try:
            percent = float(amount[:-1])
        except ValueError:
            raise ValueError('strategy amount %r is not a percentage'
                             % amount)
        if not 0 < percent <= 100:
            raise ValueError('strategy amount %r is not in 1-100%%' % amount)
        return max(1, math.ceil(count * percent / 100))
    if isinstance(amount, bool) or not isinstance(amount, int) \
            or amount < 1:
        raise ValueError('strategy amount %r is not a positive integer or '
                         'a percentage' % (amount,))
    return amount


class Limits:
    """Slot accounting for every limited task of a graph."""

    def __init__(self, graph):
        self.group = [-1] * len(graph)     # vertex -> limited task index
        self.limit = []
        self.running = []
        self.waiting = []                  # per task: heap of ranks
        per_name = {}
        for vertex, name in enumerate(graph.names):
            per_name.setdefault(name, []).append(vertex)
        for name, vertices in per_name.items():
            params = graph.items[vertices[0]].get('parameters') or {}
            try:
                limit = parse_limit(params.get('strategy'), len(vertices))
            except ValueError as exc:
                LOG.warning('Graph task %s: %s; running it without a limit',
                            name, exc)
                limit = None
            if limit is None or limit >= len(vertices):
                continue
            index = len(self.limit)
            self.limit.append(limit)
            self.running.append(0)
            self.waiting.append([])
            for vertex in vertices:
                self.group[vertex] = index

    def blocked(self, vertex):
        group = self.group[vertex]
        return group >= 0 and self.running[group] >= self.limit[group]

    def acquire(self, vertex):
        group = self.group[vertex]
        if group >= 0:
            self.running[group] += 1

    def release(self, vertex):
        """Free the vertex's slot; returns its task index or -1."""
        group = self.group[vertex]
        if group >= 0:
            self.running[group] -= 1
        return group

    def free(self, group):
        return self.limit[group] - self.running[group]
