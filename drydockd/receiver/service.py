"""The receiver: apply executor reports to the database, lose nothing.

Each message is decoded, validated, checked against its sender (the
broker-validated ``user_id``, ``senders``) and translated into events
as it arrives (``translate``). Messages are buffered up to
``batch_size`` or ``batch_window_ms``, their events applied in one
transaction through the DB API, and the messages acknowledged only after
the commit (one ``multiple=True`` ack on AMQP). A message that cannot be
decoded, validated or translated, or whose sender may not send it, is
dead-lettered with its reason and acknowledged in the same batch. If the
database is unavailable, the batch is requeued; redelivery is harmless
because applying events is idempotent. If the batch fails for any other
reason, its messages are applied one by one so
that only the one that cannot be applied is dead-lettered.
"""

import logging
import threading
import time

from kombu.mixins import ConsumerMixin

from drydockd.common import exception
from drydockd.db import api as db_api
from drydockd.messaging import compression
from drydockd.messaging import dead_letter
from drydockd.messaging import entities
from drydockd.messaging import publisher as publisher_mod
from drydockd.messaging import schemas
from drydockd.receiver import senders
from drydockd.receiver import translate

LOG = logging.getLogger(__name__)


class ReceiverService(ConsumerMixin):

    def __init__(self, conf, db=None):
        self.conf = conf
        self.ready = threading.Event()
        schemas.load_validators()
        compression.install(conf.max_message_bytes)
        self.db = db or db_api.get_instance(conf)
        self.connection = entities.connection(conf)
        self.publisher = publisher_mod.Publisher(conf)
        self.dead = dead_letter.DeadLetters(conf, self.publisher,
                                            conf.receiver.queue)
        self.senders = senders.Senders(conf)
        self.window = conf.receiver.batch_window_ms / 1000.0
        # (message, its events, or None once set aside) in arrival order
        self.batch = []
        self.oldest = None
        # Messages acked after a commit (one the database refused counts
        # too: it was set aside in its place).
        self.applied = 0

    def create_connection(self):
        # ConsumerMixin consumes on a clone of ``self.connection``, and a
        # clone has a new transport: a broker-less one would poll at
        # kombu's default second instead of work_polling_interval.
        return entities.connection(self.conf)

    def on_consume_ready(self, connection, channel, consumers, **kw):
        self.ready.set()

    def get_consumers(self, Consumer, channel):
        return [Consumer(queues=[entities.receiver_queue(self.conf)],
                         on_message=self.on_report, no_ack=False,
                         on_decode_error=self.on_decode_error,
                         prefetch_count=self.conf.receiver.batch_size)]

    def run(self, **kwargs):
        # Woken at least every window (to flush) and every second (to
        # notice stop() under a long window).
        super().run(safety_interval=min(self.window, 1.0), **kwargs)
        # Left only when the connection was lost as the loop stopped: its
        # messages were not acknowledged, so the broker delivers them
        # again (to another receiver); acknowledging now would fail.
        self.batch, self.oldest = [], None

    def on_consume_end(self, connection, channel):
        # Stopping: apply and acknowledge what is buffered while the
        # channel that delivered it is still open.
        self.flush()

    def on_report(self, message):
        """Parse one message into the batch (or set it aside)."""
        received = schemas.utcnow()
        try:
            items = schemas.decode_body(message.body,
                                        self.conf.max_message_bytes)
            reports = [schemas.validate_report(item) for item in items]
            self.senders.check((message.properties or {}).get('user_id'),
                               reports)
            events = [event for report in reports for event in
                      translate.translate(report, received)]
        except exception.MessageInvalid as exc:
            self._set_aside(message, exc.message)
            return
        except Exception as exc:  # noqa: BLE001 - a hostile body must not
            # crash the receiver into a redelivery loop: set it aside.
            LOG.exception('Unexpected failure decoding a report')
            self._set_aside(message, 'undecodable report: %s'
                            % type(exc).__name__)
            return
        self._add(message, events)

    def on_decode_error(self, message, exc):
        """kombu could not even decompress it: set aside, batch the ack."""
        self._set_aside(message, 'undecodable body: %s' % str(exc)[:200])

    def _set_aside(self, message, reason):
        self.dead.put(message, reason, ack=False)
        self._add(message, None)

    def _add(self, message, events):
        self.batch.append((message, events))
        self.oldest = self.oldest or time.monotonic()

    def on_iteration(self):
        if self.batch and (
                len(self.batch) >= self.conf.receiver.batch_size
                or time.monotonic() - self.oldest >= self.window):
            self.flush()

    def flush(self):
        """Apply the batch in one transaction, then acknowledge it."""
        batch, self.batch, self.oldest = self.batch, [], None
        if not batch:
            return
        events = [e for _, message_events in batch
                  for e in message_events or ()]
        try:
            if events:
                self.db.apply_events(events)
        except exception.DatabaseUnavailable as exc:
            LOG.error('Database unavailable (%s); %d messages requeued',
                      exc.message, len(batch))
            self._requeue(batch)
            time.sleep(1)
            return
        except Exception:  # noqa: BLE001 - a message the DB cannot take
            LOG.exception('A batch of %d messages failed; applying them '
                          'one by one', len(batch))
            if not self._apply_one_by_one(batch):
                return
        self.applied += sum(1 for _, e in batch if e is not None)
        self._ack([message for message, _ in batch])

    def _apply_one_by_one(self, batch):
        """Isolate what the database refuses; False if it went away."""
        for i, (message, events) in enumerate(batch):
            if events is None:
                continue
            try:
                self.db.apply_events(events)
            except exception.DatabaseUnavailable:
                self._requeue(batch[i:])
                for done, _ in batch[:i]:
                    done.ack()
                return False
            except Exception as exc:  # noqa: BLE001 - that message's fault
                self.dead.put(message, 'could not be applied: %s: %s' % (
                    type(exc).__name__, str(exc)[:200]), ack=False)
        return True

    @staticmethod
    def _requeue(batch):
        for message, events in batch:
            # Set-aside messages are already in the dead-letter queue.
            if events is not None:
                message.requeue()
            else:
                message.ack()

    def _ack(self, messages):
        if entities.is_amqp(self.connection):
            messages[-1].ack(multiple=True)
        else:
            for message in messages:
                message.ack()

    def on_connection_revived(self):
        # Unacked deliveries of the lost channel are redelivered.
        self.batch, self.oldest = [], None

    def stop(self):
        self.should_stop = True
