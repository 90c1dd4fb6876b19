"""Which task starts next: the engine's ready queues.

- ``node_heap[node]``: ranks of the node's ready tasks (model.Graph.rank:
  smaller runs first);
- ``candidates``: ``(rank, node)`` of every idle node's best ready task.
  Entries go stale when a node starts something or gets a better task;
  stale ones are dropped when popped, so each start costs O(log n)
  whatever the number of nodes. Invariant: an idle node with ready tasks
  has an entry for its best one;
- ``limits.waiting[task]``: ranks refused a strategy slot, put back into
  their nodes' heaps when a slot of that task frees.
"""

import heapq

PENDING = 0


class ReadyQueues:

    def __init__(self, graph, limits, state):
        """:param state: the engine's per-vertex state list (PENDING is 0),
        read to drop waiters that ended meanwhile."""
        self.graph = graph
        self.limits = limits
        self.state = state
        self.node_heap = [[] for _ in graph.uids]
        self.running = [-1] * len(graph.uids)   # node -> running vertex
        self.candidates = []

    def push(self, vertex):
        """A vertex whose dependencies all ended well."""
        node, rank = self.graph.node[vertex], self.graph.rank[vertex]
        heap = self.node_heap[node]
        heapq.heappush(heap, rank)
        if self.running[node] < 0 and heap[0] == rank:
            heapq.heappush(self.candidates, (rank, node))

    def pop(self):
        """The best-ranked vertex that may start now, or None.

        The caller starts it (``occupy``). Vertices over their strategy
        limit move to the limit's waiting heap on the way.
        """
        candidates, limits = self.candidates, self.limits
        while candidates:
            rank, node = heapq.heappop(candidates)
            heap = self.node_heap[node]
            if self.running[node] >= 0 or not heap or heap[0] != rank:
                continue
            heapq.heappop(heap)
            vertex = self.graph.by_rank[rank]
            if limits.blocked(vertex):
                heapq.heappush(limits.waiting[limits.group[vertex]], rank)
                if heap:
                    heapq.heappush(candidates, (heap[0], node))
                continue
            return vertex
        return None

    def occupy(self, node, vertex):
        self.running[node] = vertex
        self.limits.acquire(vertex)

    def free(self, node, vertex):
        """The node's task ended: the node and the task's slot are free."""
        self.running[node] = -1
        heap = self.node_heap[node]
        if heap:
            heapq.heappush(self.candidates, (heap[0], node))
        group = self.limits.release(vertex)
        if group >= 0:
            self.release_slot(group)

    def release_slot(self, group):
        """Put vertices waiting for this task's slots back in their nodes'
        queues, best first, until as many as there are free slots sit on
        idle nodes (those on busy nodes are reconsidered when it frees)."""
        waiting, free = self.limits.waiting[group], self.limits.free(group)
        graph = self.graph
        while waiting and free > 0:
            rank = heapq.heappop(waiting)
            vertex = graph.by_rank[rank]
            if self.state[vertex] != PENDING:
                continue
            node = graph.node[vertex]
            heap = self.node_heap[node]
            heapq.heappush(heap, rank)
            if self.running[node] < 0:
                heapq.heappush(self.candidates, (heap[0], node))
                free -= 1

    def release_all(self):
        """Every strategy waiter back in its node's queue (stall guard)."""
        for group in range(len(self.limits.waiting)):
            self.release_slot(group)

    def clear(self):
        for heap in self.node_heap:
            heap.clear()
        self.candidates.clear()
        for waiting in self.limits.waiting:
            waiting.clear()
