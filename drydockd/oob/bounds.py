"""What keeps every BMC call bounded, whatever the protocol.

Both drivers (``ipmi`` and ``redfish``) run each BMC operation through
these: a process-wide limit on calls in flight (one :class:`Limiter` per
protocol), one call at a time per BMC (:func:`bmc_lock`), and a hard time
limit (:func:`run_with_deadline`) that abandons a call its library cannot
interrupt.
"""

import concurrent.futures
import threading


class Limiter:
    """Counts BMC calls in flight in this process; the limit can change."""

    def __init__(self, limit=1):
        self._cond = threading.Condition()
        self.limit = limit
        self.in_use = 0

    def set_limit(self, limit):
        with self._cond:
            self.limit = limit
            self._cond.notify_all()

    def __enter__(self):
        with self._cond:
            while self.in_use >= self.limit:
                self._cond.wait()
            self.in_use += 1

    def __exit__(self, *exc_info):
        with self._cond:
            self.in_use -= 1
            self._cond.notify()


_bmc_locks = {}
_locks_lock = threading.Lock()


def bmc_lock(*key):
    """The lock that lets one call at a time reach the BMC at ``key``."""
    with _locks_lock:
        return _bmc_locks.setdefault(key, threading.Lock())


class Overrun(Exception):
    """The time limit passed before the BMC call finished."""


def run_with_deadline(fn, timeout, name):
    """Run ``fn()`` in a daemon thread; give up on it after ``timeout``.

    A library call that hangs cannot be interrupted, so it is left behind
    in its thread; only its result is dropped.

    :raises: Overrun when ``timeout`` passes first; else what ``fn``
        raised.
    """
    future = concurrent.futures.Future()

    def target():
        try:
            future.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            future.set_exception(exc)

    threading.Thread(target=target, name=name, daemon=True).start()
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        raise Overrun() from None
