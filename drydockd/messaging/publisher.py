"""Publishing on the work plane: persistent, confirmed, retried.

Every publish declares its target queue first (idempotent on RabbitMQ and
required on virtual transports, whose bindings live in process memory),
is persistent, and on AMQP waits for the broker's confirm. A publish that
cannot be confirmed raises after the retry policy; it is never dropped
silently.
"""

import logging
import threading

from drydockd.messaging import entities

LOG = logging.getLogger(__name__)

# Commands (manager -> executor) give up after about a minute so the
# caller hears of it; reports (executor -> receiver) are the only record
# of what happened on the nodes and are retried until the broker takes them.
RETRY_POLICY = {'max_retries': 15, 'interval_start': 0.2,
                'interval_step': 0.5, 'interval_max': 5}
RETRY_FOREVER = dict(RETRY_POLICY, max_retries=None)


def _log_retry(exc, interval):
    LOG.warning('Work plane unavailable (%s); publishing again in %.1fs',
                type(exc).__name__, interval)


class Publisher:
    """A thread-safe publisher on one connection."""

    def __init__(self, conf):
        self._conf = conf
        self._conn = entities.connection(conf)
        self._lock = threading.Lock()
        self._producer = None

    def publish(self, queue, body, headers=None, policy=RETRY_POLICY):
        """Publish ``body`` (JSON-serializable) to ``queue`` (kombu Queue)."""
        self._publish(queue.exchange, queue.routing_key, [queue], body,
                      policy, serializer='json', headers=headers or {})

    def publish_raw(self, queue, body, content_type, content_encoding,
                    headers, policy=RETRY_POLICY):
        """Publish bytes as they are (dead letters, replays)."""
        self._publish(queue.exchange, queue.routing_key, [queue], body,
                      policy, content_type=content_type,
                      content_encoding=content_encoding, headers=headers)

    def _publish(self, exchange, routing_key, declare, body, policy,
                 **kwargs):
        with self._lock:
            if self._producer is None:
                self._producer = self._conn.Producer()
            self._producer.publish(
                body, exchange=exchange, routing_key=routing_key,
                delivery_mode=2, declare=declare, retry=True,
                retry_policy=dict(policy, errback=_log_retry), **kwargs)

    def to_executor(self, body):
        self.publish(entities.executor_queue(self._conf), body)

    def to_executors(self, body):
        """Every executor: the service fanout where the transport has
        one, else the (single) executor's work queue."""
        if entities.has_fanout(self._conn):
            exchange = entities.service_exchange(self._conf)
            self._publish(exchange, '', [exchange], body, RETRY_POLICY,
                          serializer='json')
        else:
            self.to_executor(body)

    def to_receiver(self, body):
        self.publish(entities.receiver_queue(self._conf), body,
                     policy=RETRY_FOREVER)

    def close(self):
        with self._lock:
            self._producer = None
            self._conn.release()
