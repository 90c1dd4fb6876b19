"""The leader's background duties: hold the lease, reap stuck tasks,
ask for power-state sweeps (``power_sync``).

Every manager runs this loop; only the one holding the ``active_instance``
lease reaps. If the leader dies, its lease is not renewed and another
manager takes it after ``lease_grace`` seconds; a clean stop releases it
at once.

A reaped task's nodes are free for other tasks at once, so the leader
also tells every executor to stop it (``stop_deploy_task`` on the service
fanout): an executor still running it, cut off from the manager or
unheard because the receiver was down, starts nothing more for it, and one
holding a queued copy drops it. An executor that was not listening then
(it started later and took an old copy of the work) is caught by its own
reports: the leader also stops every ended task that reports keep coming
for. A stop that cannot be published is tried again on the next rounds
(executors fence themselves meanwhile: see executor/reporting.py).
"""

import collections
import datetime
import logging
import os
import threading
import uuid

from drydockd.db import api as db_api
from drydockd.manager import power_sync
from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)
# Reaped task uuids whose stop is still to be published; the oldest are
# dropped past this many (their executors' fences still hold).
MAX_UNSENT_STOPS = 1000


class LeaderService:

    def __init__(self, conf, db=None, publisher=None):
        self.conf = conf
        self.db = db or db_api.get_instance(conf)
        self.publisher = publisher
        self.identity = '%s:%d:%s' % (conf.host, os.getpid(),
                                      uuid.uuid4().hex[:8])
        self.ready = threading.Event()
        self.leading = False
        self.unsent_stops = collections.OrderedDict()
        # uuid -> the task's last report time when it was told to stop
        self.stopped = collections.OrderedDict()
        self._stop = threading.Event()
        self.power_sync = power_sync.Schedule(conf.oob.sync_interval)

    def run(self):
        self.ready.set()
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep the loop; DB may return
                LOG.exception('Leader duties failed; trying again')
            self._stop.wait(self.conf.manager.lease_interval)
        if self.leading:
            self.db.release_lease(self.identity)
            LOG.info('Released the leader lease')
        if self.publisher is not None:
            self.publisher.close()

    def tick(self):
        """Renew or take the lease; reap when leading."""
        leading = self.db.acquire_lease(self.identity,
                                        self.conf.manager.lease_grace)
        if leading != self.leading:
            LOG.info('%s the leader lease as %s',
                     'Took' if leading else 'Lost', self.identity)
            self.leading = leading
            if not leading:
                self.power_sync.lost()
        if leading and self.power_sync.ready():
            self._sync_power()
        if leading:
            for task_id, task_uuid, reason in self.db.reap_tasks(
                    self.conf.manager.executor_timeout,
                    self.conf.manager.deploy_timeout):
                LOG.warning('Task %s failed by the reaper: %s', task_id,
                            reason)
                if task_uuid is not None:
                    self.unsent_stops[task_uuid] = (task_id, None)
            for task_id, task_uuid, last in self.db.tasks_still_reported(
                    self.conf.manager.deploy_timeout):
                # Again whenever a report came after the last stop: an
                # executor that reconnected lost what its old service
                # queue held.
                told = self.stopped.get(task_uuid)
                if task_uuid not in self.unsent_stops and (
                        told is None or last > told):
                    LOG.warning('Task %s ended but an executor still '
                                'reports on it; telling it to stop',
                                task_id)
                    self.unsent_stops[task_uuid] = (task_id, last)
            while len(self.unsent_stops) > MAX_UNSENT_STOPS:
                self.unsent_stops.popitem(last=False)
            self._send_stops()

    def _sync_power(self):
        if self.publisher is None:
            return
        try:
            power_sync.sweep(self.db, self.publisher, min(
                self.conf.publish_timeout, self.conf.manager.lease_grace / 3))
        except Exception as exc:  # noqa: BLE001 - the next round sweeps
            LOG.warning('Could not ask for a power sweep (%s)', exc)

    def _send_stops(self):
        """Tell the executors to stop what was reaped; keep what fails."""
        if self.publisher is None:
            return
        # A dead broker must not hold the lease renewal up for long.
        timeout = min(self.conf.publish_timeout,
                      self.conf.manager.lease_grace / 3)
        for task_uuid, (task_id, last) in list(self.unsent_stops.items()):
            try:
                self.publisher.to_executors(
                    schemas.request('stop_deploy_task', task_uuid),
                    timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - next round
                LOG.warning('Could not tell the executors to stop reaped '
                            'task %s (%s); trying again', task_id, exc)
                return
            del self.unsent_stops[task_uuid]
            self.stopped[task_uuid] = last or datetime.datetime.min
            while len(self.stopped) > MAX_UNSENT_STOPS:
                self.stopped.popitem(last=False)

    def stop(self):
        self._stop.set()
