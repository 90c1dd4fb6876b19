"""Set aside messages that cannot be processed, with the reason.

The original body goes unchanged to ``<queue>.dead`` with the reason in the
``x-drydock-reason`` header; the original is acknowledged only after that
publish succeeded, so nothing is lost and the queue keeps moving.
"""

import logging
import threading

from drydockd.messaging import entities

LOG = logging.getLogger(__name__)
MAX_REASON = 500


class DeadLetters:

    def __init__(self, publisher, queue_name):
        self.publisher = publisher
        self.queue = entities.dead_letter_queue(queue_name)
        self.count = 0
        self._lock = threading.Lock()

    def put(self, message, reason, ack=True):
        """Publish ``message`` to the dead queue; ack it unless the caller
        acknowledges it with its batch."""
        reason = reason[:MAX_REASON]
        headers = dict(message.headers or {})
        headers[entities.REASON_HEADER] = reason
        self.publisher.publish_raw(self.queue, message.body,
                                   message.content_type or
                                   'application/octet-stream',
                                   message.content_encoding or 'binary',
                                   headers)
        if ack:
            message.ack()
        with self._lock:
            self.count += 1
            count = self.count
        LOG.warning('Dead-lettered a message to %s (%d so far): %s',
                    self.queue.name, count, reason)
