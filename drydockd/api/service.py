"""The manager's API service: RPC server over the endpoint, start/stop."""

import logging
import threading

from drydockd.api import rpc
from drydockd.db import api as db_api
from drydockd.manager import manager
from drydockd.messaging import publisher as publisher_mod

LOG = logging.getLogger(__name__)


class APIService:
    """Serve the public RPC API on ``url`` until stopped."""

    def __init__(self, conf, url):
        self.conf = conf
        self.publisher = publisher_mod.Publisher(conf)
        endpoint = manager.ManagerEndpoint(db_api.get_instance(conf),
                                           self.publisher, conf)
        self.transport = rpc.get_transport(conf, url)
        self.server = rpc.get_server(conf, self.transport, [endpoint])
        self.ready = threading.Event()
        self._stopped = threading.Event()

    def start(self):
        self.server.start()
        self.ready.set()
        LOG.info('API serving topic %s as %s', self.conf.manager.topic,
                 self.conf.host)

    def run(self):
        """Serve until ``stop``; the launcher's blocking form."""
        self.start()
        self._stopped.wait()
        self.shutdown()

    def stop(self):
        self._stopped.set()

    def shutdown(self):
        """Stop serving (waits for calls in progress) and close."""
        self.server.stop()
        self.server.wait()
        self.publisher.close()
