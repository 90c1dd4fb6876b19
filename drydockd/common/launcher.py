"""Run services in threads; SIGTERM drains them and exits 0.

A service has ``run()`` (blocking until stopped), ``stop()`` and a
``ready`` event set once it consumes. systemd hears READY=1 when every
service is ready, STOPPING=1 on SIGTERM, and WATCHDOG=1 if asked.
"""

import logging
import signal
import threading
import time

from drydockd.common import systemd

LOG = logging.getLogger(__name__)
DRAIN_MARGIN = 5


class Launcher:

    def __init__(self, drain_timeout=30):
        self.services = []
        # Each service bounds its own drain by this; the margin covers
        # leaving its consume loop and closing connections.
        self.drain_timeout = drain_timeout + DRAIN_MARGIN
        self._stop = threading.Event()
        self.failed = []

    def add(self, name, service):
        self.services.append((name, service))

    def _run_one(self, name, service):
        try:
            service.run()
        except Exception:  # noqa: BLE001 - a dead service stops the process
            LOG.exception('Service %s crashed', name)
            self.failed.append(name)
        finally:
            self._stop.set()

    def run(self):
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        threads = [threading.Thread(target=self._run_one, args=(n, s),
                                    name=n, daemon=True)
                   for n, s in self.services]
        for thread in threads:
            thread.start()
        self._await_ready()
        ping = systemd.watchdog_interval()
        while not self._stop.wait(ping):
            systemd.notify('WATCHDOG=1')
        systemd.notify('STOPPING=1')
        LOG.info('Stopping: draining for up to %ss', self.drain_timeout)
        for name, service in reversed(self.services):
            service.stop()
        deadline = time.monotonic() + self.drain_timeout
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))
            if thread.is_alive():
                LOG.warning('%s did not drain in time', thread.name)
        return 1 if self.failed else 0

    def _await_ready(self):
        for name, service in self.services:
            while not service.ready.wait(0.5):
                if self._stop.is_set():
                    return
        systemd.notify('READY=1')
        LOG.info('Ready: %s', ', '.join(n for n, _ in self.services))
