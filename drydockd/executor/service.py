"""The executor service: consume work messages, run them, report back.

A work message is acknowledged once its ``running`` report is published
(confirmed on AMQP): from then on the task is the executor's, and if the
executor dies the leader manager's reaper ends it. Runs happen on a
bounded worker pool so the consumer keeps answering the broker.
"""

import concurrent.futures
import logging
import threading
import time

from kombu.mixins import ConsumerMixin

from drydockd.common import exception
from drydockd.executor import methods
from drydockd.messaging import compression
from drydockd.messaging import dead_letter
from drydockd.messaging import entities
from drydockd.messaging import publisher as publisher_mod
from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)


class ExecutorService(ConsumerMixin):

    def __init__(self, conf):
        self.conf = conf
        self.ready = threading.Event()
        schemas.load_validators()
        compression.install(conf.max_message_bytes)
        self.connection = entities.connection(conf)
        self.publisher = publisher_mod.Publisher(conf)
        self.dead = dead_letter.DeadLetters(self.publisher,
                                            conf.executor.queue)
        self.methods = methods.Methods(conf, self.publisher)
        self.pool = concurrent.futures.ThreadPoolExecutor(
            conf.executor.workers, thread_name_prefix='executor')

    def on_consume_ready(self, connection, channel, consumers, **kw):
        self.ready.set()

    def get_consumers(self, Consumer, channel):
        consumers = [Consumer(queues=[entities.executor_queue(self.conf)],
                              on_message=self.on_work, no_ack=False,
                              on_decode_error=self.on_decode_error,
                              prefetch_count=self.conf.executor.workers)]
        if entities.has_fanout(self.connection):
            consumers.append(Consumer(
                queues=[entities.service_queue(self.conf)],
                on_message=self.on_work, no_ack=False,
                on_decode_error=self.on_decode_error))
        return consumers

    def on_decode_error(self, message, exc):
        self.dead.put(message, 'undecodable body: %s' % str(exc)[:200])

    def on_work(self, message):
        try:
            items = schemas.decode_body(message.body,
                                        self.conf.max_message_bytes)
            items = [schemas.validate_request(i) for i in items]
        except exception.MessageInvalid as exc:
            self.dead.put(message, exc.message)
            return
        except Exception as exc:  # noqa: BLE001 - never crash on input
            LOG.exception('Unexpected failure decoding a work message')
            self.dead.put(message, 'undecodable work message: %s'
                          % type(exc).__name__)
            return
        accepted = [i for i in items if self.methods.accept(i)]
        message.ack()
        for item in accepted:
            self.pool.submit(self.methods.run, item)

    def run(self, **kwargs):
        super().run(**kwargs)
        self._drain()

    def _drain(self):
        """Let deployments in hand finish; stop them gracefully if slow.

        Unacked work messages go back to the queue with the connection.
        Deployments still running near the drain timeout are stopped:
        their running graph tasks finish, the rest are reported skipped.
        """
        self.pool.shutdown(wait=False)
        deadline = time.monotonic() + 0.8 * self.conf.executor.drain_timeout
        while self.methods.busy() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.methods.busy():
            LOG.warning('Stopping %d deployments for shutdown',
                        self.methods.busy())
            self.methods.stop_all()
        self.pool.shutdown(wait=True)
        self.publisher.close()

    def stop(self):
        self.should_stop = True
