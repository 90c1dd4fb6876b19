"""The leader's background duties: hold the lease, reap stuck tasks.

Every manager runs this loop; only the one holding the ``active_instance``
lease reaps. If the leader dies, its lease is not renewed and another
manager takes it after ``lease_grace`` seconds; a clean stop releases it
at once.
"""

import logging
import os
import threading
import uuid

from drydockd.db import api as db_api

LOG = logging.getLogger(__name__)


class LeaderService:

    def __init__(self, conf, db=None):
        self.conf = conf
        self.db = db or db_api.get_instance(conf)
        self.identity = '%s:%d:%s' % (conf.host, os.getpid(),
                                      uuid.uuid4().hex[:8])
        self.ready = threading.Event()
        self.leading = False
        self._stop = threading.Event()

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

    def tick(self):
        """Renew or take the lease; reap when leading."""
        leading = self.db.acquire_lease(self.identity,
                                        self.conf.manager.lease_grace)
        if leading != self.leading:
            LOG.info('%s the leader lease as %s',
                     'Took' if leading else 'Lost', self.identity)
            self.leading = leading
        if leading:
            for task_id, reason in self.db.reap_tasks(
                    self.conf.manager.executor_timeout,
                    self.conf.manager.deploy_timeout):
                LOG.warning('Task %s failed by the reaper: %s', task_id,
                            reason)

    def stop(self):
        self._stop.set()
