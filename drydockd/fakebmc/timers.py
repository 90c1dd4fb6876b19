"""One timer thread for the whole simulator, and late-answering sockets.

Hundreds of simulated BMCs share one ``listen()`` loop, so nothing in
that loop may sleep: a slow BMC delays its answers through the
:class:`Scheduler`, and a booting node reports through it too.
"""

import heapq
import itertools
import logging
import threading
import time

LOG = logging.getLogger(__name__)


class Call:
    """A scheduled call; :meth:`cancel` stops it if it has not run."""

    __slots__ = ('args', 'cancelled', 'fn')

    def __init__(self, fn, args):
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class Scheduler:
    """Runs callables at given times on one daemon thread, in time order.

    A callable that raises is logged and does not stop the others.
    """

    def __init__(self, name='fakebmc-timers'):
        self._cond = threading.Condition()
        self._heap = []
        self._order = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name,
                                        daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        """Drop pending calls and end the thread (waits up to 5 s)."""
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(5)

    def call_later(self, delay, fn, *args):
        """Run ``fn(*args)`` after ``delay`` seconds; returns a ``Call``."""
        call = Call(fn, args)
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay,
                                        next(self._order), call))
            self._cond.notify()
        return call

    def _next_due(self):
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    return heapq.heappop(self._heap)[2]
                timeout = self._heap[0][0] - now if self._heap else None
                self._cond.wait(timeout)
            return None

    def _run(self):
        while (call := self._next_due()) is not None:
            if call.cancelled:
                continue
            try:
                call.fn(*call.args)
            except Exception:
                LOG.exception('Scheduled call %r failed', call.fn)


class DelayedSocket:
    """Stands in for a simulated BMC's socket; sends every answer late.

    pyghmi sends through ``_io_sendto(sock, packet, address)``, which only
    calls ``setblocking`` and ``sendto``; receiving still happens on the
    real socket, which pyghmi keeps in its own tables.
    """

    def __init__(self, sock, delay, scheduler):
        self.sock = sock
        self.delay = delay
        self._scheduler = scheduler

    def setblocking(self, flag):
        """Ignored: the real socket's mode is pyghmi's business."""

    def getsockname(self):
        return self.sock.getsockname()

    def fileno(self):
        return self.sock.fileno()

    def sendto(self, data, address):
        self._scheduler.call_later(self.delay, self._send, bytes(data),
                                   address)

    def _send(self, data, address):
        try:
            self.sock.sendto(data, address)
        except OSError as exc:  # closed meanwhile, or buffer full
            LOG.debug('Late answer to %s dropped: %s', address, exc)
