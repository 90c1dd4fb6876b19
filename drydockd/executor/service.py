"""The executor service: consume work messages, run them, report back.

A work message is acknowledged once its ``running`` report is published
(confirmed on AMQP): from then on the task is the executor's, and if the
executor dies the leader manager's reaper ends it. Runs happen on a
bounded worker pool so the consumer keeps answering the broker.
"""

import concurrent.futures
import logging
import threading

from kombu.mixins import ConsumerMixin

from drydockd.common import exception
from drydockd.executor import methods
from drydockd.messaging import dead_letter
from drydockd.messaging import entities
from drydockd.messaging import publisher as publisher_mod
from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)


class ExecutorService(ConsumerMixin):

    def __init__(self, conf):
        self.conf = conf
        self.ready = threading.Event()
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
        return [Consumer(queues=[entities.executor_queue(self.conf)],
                         on_message=self.on_work, no_ack=False,
                         prefetch_count=self.conf.executor.workers)]

    def on_work(self, message):
        try:
            items = schemas.decode_body(message.body, message.headers,
                                        self.conf.max_message_bytes)
            items = [schemas.validate_request(i) for i in items]
        except exception.MessageInvalid as exc:
            self.dead.put(message, exc.message)
            return
        for item in items:
            self.methods.accept(item)
        message.ack()
        for item in items:
            self.pool.submit(self.methods.run, item)

    def stop(self, wait=True):
        self.should_stop = True
        self.methods.stop_all()
        self.pool.shutdown(wait=wait)
        self.publisher.close()
