"""Publishing on the work plane: persistent, confirmed, bounded in time.

Every publish declares its target queue first (idempotent on RabbitMQ and
required on virtual transports, whose bindings live in process memory),
is persistent, and on AMQP waits for the broker's confirm. One publish
takes at most ``[DEFAULT] publish_timeout`` seconds, connecting,
reconnecting and the confirm included, whether the broker refuses
connections, accepts them and never answers, or stops confirming on a
connection that worked: then it raises ``WorkPlaneUnavailable``, and is
never dropped silently. kombu's own retry policy cannot promise that (a
first connect gives up after its connect timeout, a lost connection is
retried by count, a confirm is awaited without limit), so the loop is
here. Callers decide what a failure means: the manager fails the task it
was casting; an executor's reporter keeps its report and tries again.

Every message carries the AMQP ``user_id`` of the connection's user,
which RabbitMQ checks (a publish naming anyone else closes the channel),
so the receiver can trust who sent a report (docs/security.md).
"""

import logging
import threading
import time

import kombu.exceptions

from drydockd.common import exception
from drydockd.messaging import entities

LOG = logging.getLogger(__name__)

FIRST_PAUSE = 0.2
MAX_PAUSE = 2.0


def _log_retry(exc, interval):
    LOG.warning('Work plane unavailable (%s); publishing again in %.1fs',
                type(exc).__name__, interval)


class Publisher:
    """A thread-safe publisher on one connection, opened on first use."""

    def __init__(self, conf):
        self._conf = conf
        self._timeout = conf.publish_timeout
        self.identity = entities.identity(conf)
        self._lock = threading.Lock()
        self._conn = None
        self._producer = None
        probe = entities.connection(conf)     # lazy: nothing is opened
        self.fanout = entities.has_fanout(probe)
        # What a broker going away, refusing or hanging raises.
        self._errors = (probe.connection_errors + probe.channel_errors
                        + (OSError, kombu.exceptions.OperationalError))

    @property
    def timeout(self):
        """Seconds a publish may take by default (``publish_timeout``)."""
        return self._timeout

    def publish(self, queue, body, headers=None, timeout=None):
        """Publish ``body`` (JSON-serializable) to ``queue`` (kombu Queue).

        :param timeout: seconds before giving up (default
            ``publish_timeout``).
        :raises: WorkPlaneUnavailable.
        """
        self._publish(entities.publisher_exchange(self._conf, queue),
                      queue.name, [queue], body, timeout, serializer='json',
                      headers=headers or {})

    def publish_raw(self, queue, body, content_type, content_encoding,
                    headers, timeout=None):
        """Publish bytes as they are (dead letters, replays)."""
        self._publish(entities.publisher_exchange(self._conf, queue),
                      queue.name, [queue], body,
                      timeout, content_type=content_type,
                      content_encoding=content_encoding, headers=headers)

    def _publish(self, exchange, routing_key, declare, body, timeout,
                 **kwargs):
        limit = self._timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        pause = FIRST_PAUSE
        with self._lock:
            while True:
                try:
                    producer = self._producer_by(deadline)
                    left = max(deadline - time.monotonic(), 0.05)
                    producer.publish(
                        body, exchange=exchange, routing_key=routing_key,
                        delivery_mode=2, declare=declare, retry=False,
                        timeout=left, confirm_timeout=left,
                        user_id=self.identity, **kwargs)
                    return
                except self._errors as exc:
                    self._drop()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise exception.WorkPlaneUnavailable(
                            reason='no publish confirmed within %gs (%s)'
                            % (limit, entities.explain(self._conf, exc)))
                    _log_retry(exc, min(pause, left))
                    time.sleep(min(pause, left))
                    pause = min(pause * 2, MAX_PAUSE)

    def _producer_by(self, deadline):
        if self._producer is None:
            left = max(deadline - time.monotonic(), 0.05)
            conn = entities.connection(self._conf, connect_timeout=left)
            self._conn = conn
            # One attempt: the retries, and their pauses, are ours.
            conn.ensure_connection(max_retries=0,
                                   reraise_as_library_errors=False)
            self._producer = conn.Producer()
        return self._producer

    def _drop(self):
        """Forget a connection in an unknown state, without waiting on it
        (a graceful close would wait for a hung broker's answer)."""
        conn, self._conn, self._producer = self._conn, None, None
        if conn is not None:
            try:
                conn.collect()
            except Exception:  # noqa: BLE001 - it is broken already
                LOG.debug('Dropping a broken work-plane connection failed',
                          exc_info=True)

    def to_executor(self, body, timeout=None):
        self.publish(entities.executor_queue(self._conf), body,
                     timeout=timeout)

    def to_executors(self, body, timeout=None):
        """Every executor: the service fanout where the transport has
        one, else the (single) executor's work queue."""
        if self.fanout:
            exchange = entities.service_exchange(self._conf)
            self._publish(exchange, '', [exchange], body, timeout,
                          serializer='json')
        else:
            self.to_executor(body, timeout=timeout)

    def to_receiver(self, body, timeout=None):
        """An executor's report (the executor-report exchange)."""
        self.publish(entities.receiver_queue(self._conf), body,
                     timeout=timeout)

    def agent_to_receiver(self, body, timeout=None):
        """A node agent's report (the agent-report exchange)."""
        queue = entities.receiver_queue(self._conf)
        self._publish(entities.agent_report_exchange(self._conf),
                      queue.name, [queue], body, timeout,
                      serializer='json', headers={})

    def close(self):
        with self._lock:
            conn, self._conn, self._producer = self._conn, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # noqa: BLE001 - closing; nothing to keep
                LOG.debug('Closing the work-plane connection failed',
                          exc_info=True)
