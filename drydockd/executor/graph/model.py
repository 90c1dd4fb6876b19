"""The deployment graph as the engine sees it: vertices and priorities.

A vertex is one graph task on one node, ``(uid, task_id)``; edges come
from each item's ``requires`` list. Priority is the length of the longest
chain of work that depends on a vertex, so the task that unblocks the most
work runs first.
"""

import collections

SYNC = 'null'
INSTANT_TYPES = ('stage', 'sync', 'noop')


class Graph:

    def __init__(self, tasks_graph):
        self.items = {}
        self.requires = {}
        for uid, items in tasks_graph.items():
            for item in items:
                self.items[(uid, item['id'])] = item
        # Dependencies on vertices absent from the graph are ignored.
        for vertex, item in self.items.items():
            self.requires[vertex] = [
                (d['node_id'], d['name']) for d in item.get('requires', [])
                if (d['node_id'], d['name']) in self.items]
        self.dependants = collections.defaultdict(list)
        for vertex, deps in self.requires.items():
            for dep in deps:
                self.dependants[dep].append(vertex)
        self.priority = self._priorities()

    def _priorities(self):
        """Longest path (in seconds of work, min 1 per task) to a sink."""
        order = self.topological_order()
        prio = {}
        for vertex in reversed(order):
            own = max(float(self.items[vertex].get('parameters', {})
                            .get('duration', 1) or 1), 0.001)
            prio[vertex] = own + max(
                (prio[d] for d in self.dependants[vertex]), default=0)
        return prio

    def topological_order(self):
        indegree = {v: len(d) for v, d in self.requires.items()}
        ready = collections.deque(v for v, n in indegree.items() if n == 0)
        order = []
        while ready:
            vertex = ready.popleft()
            order.append(vertex)
            for child in self.dependants[vertex]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
        if len(order) != len(self.items):
            raise ValueError('tasks_graph has a cycle')
        return order

