"""Batch a run's transitions into ``*_resp`` reports, on the reporter's
own clock.

- ``running()`` publishes the report a method sends before it runs, then
  starts the run's sender thread: from then on nothing the engine or a
  slow BMC does delays a report.
- Entries (history transitions, node moves, node results) leave within
  ``interval`` seconds of being recorded, many to a message (at most
  ``max_entries``); each carries the time the executor saw it.
- Without other traffic a heartbeat (progress only) leaves every
  ``heartbeat`` seconds; the leader's reaper fails a task that goes
  silent for ``[manager] executor_timeout``.
- One thread publishes, so reports arrive in the order they were made. A
  publish that fails is tried again, the same body, until the broker
  confirms it: reports are the only record of what happened on the
  nodes. Only ``abandon()`` (the executor's drain deadline) gives up.
- ``fenced(reap_after)``: once no report of the task was confirmed for
  three quarters of the reap deadline the work message announced, the
  manager has failed the task (or is about to) and released its nodes, so
  the run must start nothing more (docs/tasks.md).
"""

import logging
import threading
import time

from drydockd.graph import vocabulary
from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)

FENCE_SHARE = 0.75
RETRY_PAUSE = 0.5
MAX_RETRY_PAUSE = 5.0


class Reporter:

    def __init__(self, publish, task_uuid, method='deploy_resp',
                 interval=0.2, max_entries=500, executor=None,
                 heartbeat=10.0):
        self._publish = publish
        self.task_uuid = task_uuid
        self.method = method
        self.interval = interval
        self.executor = executor
        self.heartbeat = heartbeat
        self.max_entries = max_entries
        self._cond = threading.Condition()
        self._entries = []
        self._oldest = None          # when the oldest held entry came
        self._progress = None
        self._last = None            # the run's last report, once known
        self._sent = time.monotonic()        # last publish attempt
        self._confirmed = time.monotonic()   # last publish confirmed
        self._abandoned = threading.Event()
        self._thread = None
        self.done = threading.Event()        # last report out (or given up)

    # -- what the run records (any thread) --------------------------------

    def running(self):
        """Publish ``running`` (raises if it cannot), start the sender."""
        self._publish(self._report(status='running', progress=0))
        self._confirmed = self._sent = time.monotonic()
        self._thread = threading.Thread(
            target=self._send_loop, daemon=True,
            name='report-%s' % self.task_uuid[:8])
        self._thread.start()

    def entry(self, uid, task_name, task_status, when, time_start=None,
              error_msg=None, summary=None, node_progress=None):
        extra = {}
        if time_start is not None:
            extra['time_start'] = schemas.format_time(time_start)
        if node_progress is not None:
            extra['progress'] = node_progress
        self._add(schemas.node_entry(
            vocabulary.wire_uid(uid), when, task_name, task_status,
            error_msg=error_msg, summary=summary, **extra))

    def node(self, uid, status, progress=None):
        self._add(schemas.node_entry(uid, schemas.utcnow(), status=status,
                                     progress=progress))

    def node_result(self, node, ok, message, **extra):
        """Settle one node's subtask (``node``: uid, name, subtask_uuid)."""
        extra.setdefault('status', None if ok else 'error')
        self._add(schemas.node_entry(
            node['uid'], schemas.utcnow(), subtask_uuid=node['subtask_uuid'],
            result='success' if ok else 'failure', message=message[:4000],
            error_msg=None if ok else message[:4000], **extra))

    def node_wait(self, node, message, until, **extra):
        """One node's OOB part is done; its agent must report by ``until``."""
        self._add(schemas.node_entry(
            node['uid'], schemas.utcnow(), subtask_uuid=node['subtask_uuid'],
            message=message, awaiting_agent_until=schemas.format_time(until),
            **extra))

    def progress(self, value):
        """The run's progress, sent with the next report."""
        self._progress = value

    def finish(self, status, progress, error=None):
        """The run's last report: held entries, then ``status``. Returns
        once the broker confirmed it (or the executor gave up)."""
        self._end({'status': status, 'progress': progress, 'error': error})

    def hand_over(self, progress):
        """Send what is held and stop reporting, without a final status:
        the task now waits on others (node agents)."""
        self._end({'progress': progress})

    def _add(self, entry):
        with self._cond:
            self._entries.append(entry)
            if self._oldest is None or \
                    len(self._entries) >= self.max_entries:
                if self._oldest is None:
                    self._oldest = time.monotonic()
                self._cond.notify()

    def _end(self, fields):
        if self._thread is None:
            # Refused before it ran: one message, sent by the caller.
            with self._cond:
                entries, self._entries = self._entries, []
            self._publish(self._report(nodes=entries or None, **fields))
            self.done.set()
            return
        with self._cond:
            self._last = fields
            self._cond.notify()
        self.done.wait()

    # -- the sender thread ------------------------------------------------

    def _send_loop(self):
        try:
            while True:
                body, last = self._next_body()
                self._deliver(body)
                if last:
                    return
        except Exception:  # noqa: BLE001 - never leave finish() waiting
            LOG.exception('Task %s: the reporter failed', self.task_uuid)
        finally:
            self.done.set()

    def _next_body(self):
        """Wait until a report is due; returns (body, is_last)."""
        with self._cond:
            while True:
                now = time.monotonic()
                held = len(self._entries)
                if self._last is not None and held <= self.max_entries:
                    entries, self._entries = self._entries, []
                    return self._report(nodes=entries or None,
                                        **self._last), True
                if held and (held >= self.max_entries
                             or now - self._oldest >= self.interval):
                    return self._take(), False
                if now - self._sent >= self.heartbeat:
                    return self._report(progress=self._progress), False
                due = self._sent + self.heartbeat
                if held:
                    due = min(due, self._oldest + self.interval)
                self._cond.wait(max(due - now, 0.001))

    def _take(self):
        entries = self._entries[:self.max_entries]
        del self._entries[:self.max_entries]
        self._oldest = time.monotonic() if self._entries else None
        return self._report(progress=self._progress, nodes=entries)

    def _deliver(self, body):
        pause = RETRY_PAUSE
        while True:
            self._sent = time.monotonic()
            try:
                self._publish(body)
            except Exception as exc:  # noqa: BLE001 - kept and sent again
                if self._abandoned.is_set():
                    LOG.error('Task %s: report of %d entries not delivered '
                              'before shutdown (%s)', self.task_uuid,
                              len(body['args'].get('nodes', ())), exc)
                    return
                LOG.warning('Task %s: report not delivered (%s); trying '
                            'again in %.1fs', self.task_uuid, exc, pause)
                if self._abandoned.wait(pause):
                    continue     # one last attempt, then give up above
                pause = min(pause * 2, MAX_RETRY_PAUSE)
                continue
            self._confirmed = time.monotonic()
            return

    # -- what the executor asks -------------------------------------------

    def silent_for(self):
        """Seconds since the broker last confirmed a report of this run."""
        return time.monotonic() - self._confirmed

    def fenced(self, reap_after):
        """Why the run must start nothing more, or None.

        :param reap_after: the manager's ``executor_timeout`` from the
            work message (None: not announced, never fenced).
        """
        if not reap_after or self._thread is None:
            return None
        silent = self.silent_for()
        if silent <= FENCE_SHARE * reap_after:
            return None
        return ('executor %s could not deliver reports for %ds and the '
                'manager fails a task silent for %ds: nothing more starts'
                % (self.executor or 'unknown', silent, reap_after))

    def abandon(self):
        """Stop retrying undeliverable reports (the drain deadline)."""
        self._abandoned.set()

    def _report(self, **fields):
        return schemas.report(self.method, self.task_uuid,
                              executor=self.executor, **fields)
