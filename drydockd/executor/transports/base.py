"""Node transports: how a graph task's command reaches a node."""

import abc


class NodeTransport(abc.ABC):
    """Runs one graph task on one node, asynchronously.

    ``start`` must return quickly; the transport calls
    ``on_done(ok, message, summary)`` exactly once, from any thread, when
    the task ends (``message`` says why when not ok).
    """

    @abc.abstractmethod
    def start(self, uid, task, timeout, on_done):
        """Begin ``task`` (a tasks_graph item) on node ``uid``."""

    def close(self):
        """Release threads or processes; pending callbacks may be lost."""
