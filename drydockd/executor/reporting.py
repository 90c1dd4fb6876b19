"""Batch the engine's transitions into ``*_resp`` reports.

Many transitions share one message, but nothing waits longer than the
report interval while the task is busy, and each entry carries the time
the executor saw it (the history records executor time).
"""

import time

from drydockd.graph import vocabulary
from drydockd.messaging import schemas


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
        self._entries = []
        self._last = time.monotonic()

    def running(self):
        """The report sent before a method runs."""
        self._send(self._report(status='running', progress=0))

    def _report(self, **fields):
        return schemas.report(self.method, self.task_uuid,
                              executor=self.executor, **fields)

    def entry(self, uid, task_name, task_status, when, time_start=None,
              error_msg=None, summary=None, node_progress=None):
        extra = {}
        if time_start is not None:
            extra['time_start'] = schemas.format_time(time_start)
        if node_progress is not None:
            extra['progress'] = node_progress
        self._entries.append(schemas.node_entry(
            vocabulary.wire_uid(uid), when, task_name, task_status,
            error_msg=error_msg, summary=summary, **extra))
        if len(self._entries) >= self.max_entries:
            self.flush(None, force=True)

    def node(self, uid, status, progress=None):
        self._entries.append(schemas.node_entry(
            uid, schemas.utcnow(), status=status, progress=progress))

    def node_result(self, node, ok, message, **extra):
        """Settle one node's subtask (``node``: uid, name, subtask_uuid)."""
        extra.setdefault('status', None if ok else 'error')
        self._entries.append(schemas.node_entry(
            node['uid'], schemas.utcnow(), subtask_uuid=node['subtask_uuid'],
            result='success' if ok else 'failure', message=message[:4000],
            error_msg=None if ok else message[:4000], **extra))

    def node_wait(self, node, message, until, **extra):
        """One node's OOB part is done; its agent must report by ``until``."""
        self._entries.append(schemas.node_entry(
            node['uid'], schemas.utcnow(), subtask_uuid=node['subtask_uuid'],
            message=message, awaiting_agent_until=schemas.format_time(until),
            **extra))

    def flush(self, progress, force=False):
        """Publish held entries when due; heartbeat when quiet."""
        quiet = time.monotonic() - self._last
        if self._entries and (force or quiet >= self.interval):
            entries, self._entries = self._entries, []
            self._send(self._report(progress=progress, nodes=entries))
        elif quiet >= self.heartbeat:
            self._send(self._report(progress=progress))

    def finish(self, status, progress, error=None):
        entries, self._entries = self._entries, []
        self._send(self._report(status=status, progress=progress,
                                error=error, nodes=entries))

    def _send(self, body):
        self._publish(body)
        self._last = time.monotonic()
