"""The ``fake`` node transport: a simulated node, no process spawned.

A task's ``parameters`` drive the simulation:

- ``duration``: seconds the task takes (default 0); ``duration_on``
  (``{uid: seconds}``) overrides it per node;
- ``fail: true`` fails it on every node, ``fail_on: [uid, ...]`` on those
  nodes; ``fail_times: n`` limits those failures to the first n attempts
  (with neither ``fail`` nor ``fail_on`` it applies to every node), for
  retry tests; the attempt number is the ``attempt`` key the engine puts
  on a retry's task dict (absent on the first attempt);
- a ``duration`` longer than the ``timeout`` fails at the timeout.

One timer thread serves every simulated task, whatever the number of
nodes: due callbacks are popped in one batch under the lock and called
outside it, and the thread is woken only when a new task ends before the
one it sleeps for. A zero-duration task answers from ``start`` itself.
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
        params = task.get('parameters') or {}
        duration = float((params.get('duration_on') or {}).get(
            str(uid), params.get('duration', 0)) or 0)
        if duration > timeout:
            result = (False, 'timed out after %ss' % timeout,
                      {'timed_out': True})
            duration = timeout
        elif _fails(uid, params, task.get('attempt', 1)):
            result = (False, 'simulated failure of %s on node %s'
                      % (task['id'], uid), {'exit_code': 1})
        else:
            result = (True, None, {'exit_code': 0})
        if duration <= 0:
            on_done(*result)
            return
        entry = (time.monotonic() + duration, next(self._seq), on_done,
                 result)
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:
                self._cond.notify()

    def _run(self):
        while True:
            with self._cond:
                while not self._closed:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    self._cond.wait(self._heap[0][0] - now
                                    if self._heap else None)
                if self._closed:
                    return
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap))
            for _, _, on_done, result in due:
                on_done(*result)

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify()


def _fails(uid, params, attempt):
    fail_on = params.get('fail_on')
    fails = bool(params.get('fail')) or (
        fail_on is not None and str(uid) in {str(u) for u in fail_on})
    times = params.get('fail_times')
    if times is None:
        return fails
    if fail_on is None and 'fail' not in params:
        fails = True
    return fails and attempt <= int(times)
