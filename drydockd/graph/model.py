"""The deployment graph as the engine sees it: integer vertices and ranks.

A vertex is one graph task on one node, ``(uid, task_id)``, numbered
0..n-1 so the engine keeps its state in flat lists (a thousand nodes times
twenty tasks is 20,000 vertices; dicts keyed by tuples cost several times
more per event). Edges come from each item's ``requires`` list;
dependencies on vertices absent from the graph are dropped and counted in
``missing`` (the manager's serializer never produces them).

Priority ("the task that unblocks the most work runs first") is the length
of the longest chain of work waiting behind a vertex, the critical-path
rule of list scheduling, ties broken by how many vertices it directly
unblocks, then by topological position. It is precomputed as ``rank``: a
smaller rank runs first, so the engine's heaps hold plain integers.
A vertex's own work is ``parameters.duration`` when given (the fake
transport's simulated time, or an operator's estimate) else 1; the
instant types weigh nothing.
"""

import collections

from drydockd.graph import validation
from drydockd.graph.vocabulary import INSTANT_TYPES
from drydockd.graph.vocabulary import SYNC


class Graph:
    """Vertices, edges, ranks; ``cycle`` is a path when the graph has one.

    ``node_facts`` (``tasks_metadata['node_facts']``) is attached to each
    item as ``item['node']`` so a transport finds a node's facts (name,
    roles, ssh address) on the task it is given, at no cost per start.
    """

    def __init__(self, tasks_graph, node_facts=None):
        self.uids = []            # node index -> uid (tasks_graph key)
        self.node = []            # vertex -> node index
        self.names = []           # vertex -> graph task id
        self.items = []           # vertex -> tasks_graph item
        self.node_vertices = []   # node index -> its vertices
        index = {}
        facts = node_facts or {}
        for uid, items in tasks_graph.items():
            uid = SYNC if uid is None else str(uid)
            n = len(self.uids)
            self.uids.append(uid)
            self.node_vertices.append([])
            for item in items:
                vertex = len(self.items)
                index[(uid, item['id'])] = vertex
                self.node.append(n)
                self.names.append(item['id'])
                self.items.append(item)
                self.node_vertices[n].append(vertex)
                if uid in facts and 'node' not in item:
                    item['node'] = facts[uid]
        self.missing = 0
        self.requires = []
        self.dependants = [[] for _ in self.items]
        for vertex, item in enumerate(self.items):
            deps = {}
            for dep in item.get('requires') or ():
                node_id = dep.get('node_id')
                key = (SYNC if node_id is None else str(node_id), dep['name'])
                target = index.get(key)
                if target is None:
                    self.missing += 1
                elif target not in deps:
                    deps[target] = None
                    self.dependants[target].append(vertex)
            self.requires.append(list(deps))
        self.order, self.cycle = self._topological_order()
        self.rank = self._ranks() if self.cycle is None else []
        self.by_rank = [0] * len(self.rank)
        for vertex, rank in enumerate(self.rank):
            self.by_rank[rank] = vertex

    def __len__(self):
        return len(self.items)

    def uid_of(self, vertex):
        return self.uids[self.node[vertex]]

    def is_instant(self, vertex):
        return self.items[vertex].get('type') in INSTANT_TYPES

    def weight(self, vertex):
        """Expected work of a vertex, for priorities only."""
        if self.is_instant(vertex):
            return 0.0
        params = self.items[vertex].get('parameters') or {}
        try:
            return max(float(params.get('duration', 1)), 0.0)
        except (TypeError, ValueError):
            return 1.0

    def _topological_order(self):
        indegree = [len(deps) for deps in self.requires]
        ready = collections.deque(v for v, n in enumerate(indegree) if n == 0)
        order = []
        while ready:
            vertex = ready.popleft()
            order.append(vertex)
            for child in self.dependants[vertex]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
        if len(order) == len(self.items):
            return order, None
        left = [v for v, n in enumerate(indegree) if n > 0]
        members = set(left)
        cycles = validation.find_cycles(
            left, {v: [d for d in self.requires[v] if d in members]
                   for v in left},
            lambda v: '%s@%s' % (self.names[v], self.uid_of(v)))
        return order, cycles[0]

    def _ranks(self):
        chain = [0.0] * len(self.items)
        for vertex in reversed(self.order):
            chain[vertex] = self.weight(vertex) + max(
                (chain[c] for c in self.dependants[vertex]), default=0.0)
        position = {v: i for i, v in enumerate(self.order)}
        ranked = sorted(range(len(self.items)), key=lambda v: (
            -chain[v], -len(self.dependants[v]), position[v]))
        rank = [0] * len(self.items)
        for i, vertex in enumerate(ranked):
            rank[vertex] = i
        self.chain = chain
        return rank
