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

RETRY_POLICY = {'max_retries': 10, 'interval_start': 0.2,
                'interval_step': 0.5, 'interval_max': 5}


class Publisher:
    """A thread-safe publisher on one connection."""

    def __init__(self, conf):
        self._conf = conf
        self._conn = entities.connection(conf)
        self._lock = threading.Lock()
        self._producer = None

    def publish(self, queue, body, headers=None):
        """Publish ``body`` (JSON-serializable) to ``queue`` (kombu Queue)."""
        with self._lock:
            if self._producer is None:
                self._producer = self._conn.Producer()
            self._producer.publish(
                body, exchange=queue.exchange, routing_key=queue.routing_key,
                serializer='json', delivery_mode=2, headers=headers or {},
                declare=[queue], retry=True, retry_policy=RETRY_POLICY)

    def publish_raw(self, queue, body, content_type, content_encoding,
                    headers):
        """Publish bytes as they are (dead letters, replays)."""
        with self._lock:
            if self._producer is None:
                self._producer = self._conn.Producer()
            self._producer.publish(
                body, exchange=queue.exchange, routing_key=queue.routing_key,
                content_type=content_type, content_encoding=content_encoding,
                delivery_mode=2, headers=headers, declare=[queue],
                retry=True, retry_policy=RETRY_POLICY)

    def to_executor(self, body):
        self.publish(entities.executor_queue(self._conf), body)

    def to_receiver(self, body):
        self.publish(entities.receiver_queue(self._conf), body)

    def close(self):
        with self._lock:
            self._producer = None
            self._conn.release()
