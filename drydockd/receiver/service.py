"""The receiver: apply executor reports to the database, lose nothing.

Reports are buffered up to ``batch_size`` messages or ``batch_window_ms``,
applied in one transaction through the DB API, and acknowledged only after
the commit (one ``multiple=True`` ack on AMQP). A report that cannot be
decoded or validated is dead-lettered with its reason and acknowledged in
the same batch. If the database fails, the batch is requeued; redelivery
is harmless because application is idempotent.
"""

import logging
import threading
import time

from kombu.mixins import ConsumerMixin

from drydockd.common import exception
from drydockd.db import api as db_api
from drydockd.messaging import dead_letter
from drydockd.messaging import entities
from drydockd.messaging import publisher as publisher_mod
from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)


class ReceiverService(ConsumerMixin):

    def __init__(self, conf, db=None):
        self.conf = conf
        self.ready = threading.Event()
        schemas.load_validators()
        self.db = db or db_api.get_instance(conf)
        self.connection = entities.connection(conf)
        self.publisher = publisher_mod.Publisher(conf)
        self.dead = dead_letter.DeadLetters(self.publisher,
                                            conf.receiver.queue)
        self.window = conf.receiver.batch_window_ms / 1000.0
        self.messages = []
        self.reports = []
        self.dead_tags = set()
        self.oldest = None
        self.applied = 0

    def on_consume_ready(self, connection, channel, consumers, **kw):
        self.ready.set()

    def get_consumers(self, Consumer, channel):
        return [Consumer(queues=[entities.receiver_queue(self.conf)],
                         on_message=self.on_report, no_ack=False,
                         on_decode_error=self.on_decode_error,
                         prefetch_count=self.conf.receiver.batch_size)]

    def on_decode_error(self, message, exc):
        """kombu could not even decompress it: set aside, batch the ack."""
        self.dead.put(message, 'undecodable body: %s' % str(exc)[:200],
                      ack=False)
        self.dead_tags.add(message.delivery_tag)
        self.messages.append(message)
        self.oldest = self.oldest or time.monotonic()

    def run(self, **kwargs):
        super().run(safety_interval=self.window, **kwargs)
        self.flush()

    def on_report(self, message):
        """Parse one message into the batch (or set it aside)."""
        received = schemas.utcnow()
        try:
            items = schemas.decode_body(message.body,
                                        self.conf.max_message_bytes)
            items = [schemas.validate_report(i) for i in items]
        except exception.MessageInvalid as exc:
            self.dead.put(message, exc.message, ack=False)
            self.dead_tags.add(message.delivery_tag)
            items = []
        for item in items:
            item['received'] = received
        self.reports.extend(items)
        self.messages.append(message)
        self.oldest = self.oldest or time.monotonic()

    def on_iteration(self):
        if self.messages and (
                len(self.messages) >= self.conf.receiver.batch_size
                or time.monotonic() - self.oldest >= self.window):
            self.flush()

    def flush(self):
        """Apply the batch in one transaction, then acknowledge it."""
        messages, reports, dead = self.messages, self.reports, self.dead_tags
        self._reset()
        if not messages:
            return
        try:
            if reports:
                self.db.apply_reports(reports)
        except Exception:  # noqa: BLE001 - DB trouble: requeue, retry later
            LOG.exception('Applying %d reports failed; requeued',
                          len(reports))
            for message in messages:
                # Dead letters are already set aside: ack, not requeue.
                if message.delivery_tag in dead:
                    message.ack()
                else:
                    message.requeue()
            time.sleep(1)
            return
        self.applied += len(reports)
        self._ack(messages)

    def _ack(self, messages):
        if entities.is_amqp(self.connection):
            messages[-1].ack(multiple=True)
        else:
            for message in messages:
                message.ack()

    def _reset(self):
        self.messages, self.reports, self.dead_tags = [], [], set()
        self.oldest = None

    def on_connection_revived(self):
        # Unacked deliveries of the lost channel are redelivered.
        self._reset()

    def stop(self):
        self.should_stop = True
