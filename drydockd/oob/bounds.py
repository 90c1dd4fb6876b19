"""What keeps every BMC call bounded, whatever the protocol.

Both drivers (``ipmi`` and ``redfish``) run each BMC operation through
these: a process-wide limit on calls in flight (one :class:`Limiter` per
protocol), one call at a time per BMC (:func:`bmc_lock`), a hard time
limit (:func:`run_with_deadline`) that abandons a call its library cannot
interrupt, and :class:`RetriedCalls`, the tries and the one error a
caller finally sees. What differs between the protocols (how one try
runs, which answers fail at once) stays in each driver's ``_attempt``.
"""

import concurrent.futures
import logging
import threading

import tenacity

from drydockd.common import exception

LOG = logging.getLogger(__name__)


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


class Failure(Exception):
    """One failed try; ``kind`` is ``noanswer``, ``overrun`` or ``error``.
    Only this is retried: anything else a try raises is final."""

    def __init__(self, kind, detail, elapsed):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.elapsed = elapsed


class NotReached(Exception):
    """The BMC took the command but the state did not follow in time."""


def scrub(text, node):
    """``text`` without the node's credential, whatever produced it."""
    if node.credential:
        text = text.replace(node.credential, '***')
    return text


def _log_retry(retry_state):
    node, what = retry_state.args[:2]
    LOG.warning('BMC of node %s: %s failed on try %d (%s); next try in '
                '%.1fs', node.name, what, retry_state.attempt_number,
                retry_state.outcome.exception().detail,
                retry_state.upcoming_sleep)


class RetriedCalls:
    """A driver's ``_call``: its ``_attempt`` under the BMC's lock, tried
    ``retries`` times with doubling backoff, and one final error that
    names the node.

    The driver sets ``self.retries`` and ``self._retrying`` through
    :meth:`_set_retries`, and defines ``_attempt(node, what, operation)``
    (raising :class:`Failure` for a try worth repeating) and
    ``_lock_key(node)``.
    """

    def _set_retries(self, retries, backoff):
        self.retries = retries
        # One controller for all calls: its state is per thread.
        self._retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(retries),
            wait=tenacity.wait_exponential(multiplier=backoff),
            retry=tenacity.retry_if_exception_type(Failure),
            before_sleep=_log_retry, reraise=True)

    def _call(self, node, what, operation):
        """``operation`` on the node's BMC, bounded and retried."""
        key = self._lock_key(node)
        LOG.debug('BMC of node %s (%s): %s', node.name,
                  ' '.join(str(part) for part in key), what)
        with bmc_lock(*key):
            try:
                return self._retrying(self._attempt, node, what, operation)
            except Failure as failure:
                error = self._final_error(node, what, failure)
        LOG.warning('%s', error)
        raise error

    def _final_error(self, node, what, failure):
        if failure.kind == 'noanswer':
            return exception.OOBUnreachable(node=node.name, tries=self.retries)
        if failure.kind == 'overrun':
            return exception.OOBTimeout(node=node.name, operation=what,
                                        timeout=round(failure.elapsed, 1))
        return exception.OOBError(node=node.name, reason=failure.detail)
