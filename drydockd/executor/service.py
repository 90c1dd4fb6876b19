"""The executor service: consume work messages, run them, report back.

A work message is acknowledged once its ``running`` report is published
(confirmed on AMQP): from then on the task is the executor's, and if the
executor dies the leader manager's reaper ends it. Runs happen on a
bounded worker pool so the consumer keeps answering the broker.

A message the executor must refuse unread (too large, not JSON, invalid
against the schema) is dead-lettered, and every task it names gets an
``error`` report with the reason first, so no task waits on a dead
letter holding its nodes.

SIGTERM drains within ``[executor] drain_timeout``: nothing new is taken
or started; graph tasks and BMC calls already running may finish until
four fifths of it; then what still runs is ended with the reason and
reported; the last fifth is for those reports. Nothing waits past it.
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
# Share of drain_timeout running work may use before it is ended.
FINISH_SHARE = 0.8
# Decompressed bytes searched for task uuids in a body kombu could not
# decompress within the size limit.
PEEK_BYTES = 64 * 1024


class ExecutorService(ConsumerMixin):

    def __init__(self, conf):
        self.conf = conf
        self.ready = threading.Event()
        schemas.load_validators()
        compression.install(conf.max_message_bytes)
        self.connection = entities.connection(conf)
        self.publisher = publisher_mod.Publisher(conf)
        self.dead = dead_letter.DeadLetters(conf, self.publisher,
                                            conf.executor.queue)
        self.methods = methods.Methods(conf, self.publisher)
        self.pool = concurrent.futures.ThreadPoolExecutor(
            conf.executor.workers, thread_name_prefix='executor')
        self.queued = {}     # future -> (item, reporter) not started yet
        self._lock = threading.Lock()

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
        """kombu could not even decompress it (or not within the limit)."""
        head = compression.peek(message.body, (message.headers or {}).get(
            'compression'), PEEK_BYTES)
        self._refuse(message, 'undecodable body: %s' % str(exc)[:200],
                     schemas.task_uuids(head))

    def on_work(self, message):
        items = None
        try:
            items = schemas.decode_body(message.body,
                                        self.conf.max_message_bytes)
            items = [schemas.validate_request(i) for i in items]
        except exception.MessageInvalid as exc:
            self._refuse(message, exc.message,
                         schemas.task_uuids(message.body, items))
            return
        except Exception as exc:  # noqa: BLE001 - never crash on input
            LOG.exception('Unexpected failure decoding a work message')
            self._refuse(message, 'undecodable work message: %s'
                         % type(exc).__name__,
                         schemas.task_uuids(message.body, items))
            return
        unreported = False
        for item in items:
            try:
                reporter = self.methods.accept(item)
            except exception.WorkPlaneUnavailable as exc:
                LOG.error('Could not report on task %s (%s)',
                          item['args']['task_uuid'], exc.message)
                unreported = True
                continue
            if reporter is not None:
                self._submit(item, reporter)
        if unreported:
            # The broker gives it again (to us or to another executor)
            # once reports can go out; the items taken meanwhile are
            # remembered and not taken twice.
            self._requeue(message)
        else:
            message.ack()

    def _submit(self, item, reporter):
        future = self.pool.submit(self.methods.run, item, reporter)
        with self._lock:
            self.queued[future] = (item, reporter)
        future.add_done_callback(self._forget)

    def _forget(self, future):
        if not future.cancelled():    # the drain still needs those
            with self._lock:
                self.queued.pop(future, None)

    def _refuse(self, message, reason, uuids):
        """Report the refusal to every task named, then dead-letter."""
        for task_uuid, method in uuids:
            try:
                self.methods.refuse(task_uuid, method,
                                    'work message refused: %s' % reason)
            except exception.WorkPlaneUnavailable as exc:
                LOG.error('Could not report the refusal of task %s: %s',
                          task_uuid, exc.message)
        try:
            self.dead.put(message, reason)
        except exception.WorkPlaneUnavailable as exc:
            LOG.error('Could not set a work message aside (%s); leaving it '
                      'to the broker', exc.message)
            self._requeue(message)

    @staticmethod
    def _requeue(message):
        try:
            message.requeue()
        except Exception:  # noqa: BLE001 - the broker redelivers it anyway
            LOG.debug('Requeue failed; the connection returns it',
                      exc_info=True)

    def run(self, **kwargs):
        super().run(**kwargs)
        self._drain()

    def _drain(self):
        """Within drain_timeout: let runs finish, end the rest, report.

        Unacknowledged work messages go back to the queue with the
        connection; accepted ones not started are ended with the reason.
        """
        limit = self.conf.executor.drain_timeout
        start = time.monotonic()
        reason = ('executor %s shut down before the task finished'
                  % self.conf.host)
        self.methods.halt_all(reason)
        self.pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            never_started = [q for f, q in self.queued.items()
                             if f.cancelled()]
        for item, reporter in never_started:
            threading.Thread(target=self.methods.run, args=(item, reporter),
                             daemon=True, name='drain-report').start()
        if self._wait_idle(start + FINISH_SHARE * limit):
            LOG.info('Drained: all work in hand ended')
        else:
            LOG.warning('Ending %d runs still busy at the drain deadline',
                        self.methods.busy())
            self.methods.abort_all(reason)
            if not self._wait_idle(start + limit):
                LOG.error('%d runs could not report their end before the '
                          'drain deadline; the reaper will end them',
                          self.methods.busy())
                self.methods.abandon_reports()
        self.publisher.close()

    def _wait_idle(self, deadline):
        while self.methods.busy():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self):
        self.should_stop = True
