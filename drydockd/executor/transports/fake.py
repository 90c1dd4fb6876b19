"""The ``fake`` node transport: a simulated node, no process spawned.

A task takes ``parameters.duration`` seconds (default 0) and fails when
``parameters.fail`` is true or its ``parameters.fail_on`` list holds the
node's uid. One timer thread serves every simulated task, so a thousand
nodes cost one thread.
"""

import heapq
import itertools
import threading
import time

from drydockd.executor.transports import base


class FakeTransport(base.NodeTransport):

    def __init__(self, conf=None):
        self._heap = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='fake-transport')
        self._thread.start()

    def start(self, uid, task, timeout, on_done):
        params = task.get('parameters', {})
        duration = float(params.get('duration', 0))
        fail_on = [str(u) for u in params.get('fail_on', [])]
        fails = bool(params.get('fail')) or str(uid) in fail_on
        if duration > timeout:
            result = (False, 'timed out after %ss' % timeout, {})
            duration = timeout
        elif fails:
            result = (False, 'simulated failure of %s on node %s'
                      % (task['id'], uid), {'exit_code': 1})
        else:
            result = (True, None, {'exit_code': 0})
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + duration,
                                        next(self._seq), on_done, result))
            self._cond.notify()

    def _run(self):
        while True:
            with self._cond:
                while not self._closed and (
                        not self._heap
                        or self._heap[0][0] > time.monotonic()):
                    wait = (self._heap[0][0] - time.monotonic()
                            if self._heap else None)
                    self._cond.wait(wait)
                if self._closed:
                    return
                _, _, on_done, result = heapq.heappop(self._heap)
            on_done(*result)

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify()
