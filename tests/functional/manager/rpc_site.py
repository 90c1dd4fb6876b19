"""The manager's endpoint served over real oslo.messaging RPC, for tests.

``kombu+memory`` is oslo.messaging's in-process transport: requests and
replies are serialized and routed exactly as over RabbitMQ, so a test
gets what another daemon would.
"""

import uuid
from unittest import mock

import oslo_messaging as messaging
from oslo_config import cfg

import conftest
from drydock_client import client as client_lib
from drydockd.api import rpc
from drydockd.conf import opts as drydock_opts
from drydockd.manager import manager
from drydockd.messaging import publisher as publisher_mod

DESIGN = 'file://' + conftest.DEMO_SITE
# Outputs longer than this come back cut (test_output_caps_rpc).
MAX_OUTPUT = 1000
CTXT = {'user': 'tester'}
ONE = {'filter_set_type': 'union',
       'filter_set': [{'filter_type': 'union', 'node_names': ['node05']}]}




class Site:
    """The endpoint served over RPC, its database and its work plane."""

    def __init__(self, transport, db):
        self.db = db
        self.publisher = mock.create_autospec(publisher_mod.Publisher,
                                              instance=True)
        conf = cfg.ConfigOpts()
        drydock_opts.register_opts(conf)
        conf([], default_config_files=[])
        conf.set_override('host', 'rpc-test')
        for key, value in conftest.TEST_SITE.items():
            conf.set_override(key, value, 'site')
        conf.set_override('max_output_chars', MAX_OUTPUT, 'manager')
        conf.set_override('topic', 'drydock-args-%s' % uuid.uuid4().hex[:6],
                          'manager')
        self.server = rpc.get_server(conf, transport, [
            manager.ManagerEndpoint(db, self.publisher, conf)])
        self.server.start()
        self.transport, self.topic = transport, conf.manager.topic
        self.api = client_lib.Client(transport, topic=self.topic,
                                     timeout=30, user=CTXT['user'])
        target = messaging.Target(topic=conf.manager.topic, version='1.5')
        self.raw = messaging.get_rpc_client(transport, target, timeout=30)

    def stop(self):
        self.server.stop()
        self.server.wait()


def served(tmp_path_factory, kind='sqlite'):
    """Yield a started :class:`Site` on a fresh database whose nodes the
    demo design registered; stop it after. Use as a module fixture."""
    rpc.register_opts(cfg.CONF)
    transport = messaging.get_rpc_transport(
        cfg.CONF, url='kombu+memory:////rpc-%s' % uuid.uuid4().hex[:8],
        allowed_remote_exmods=rpc.ALLOWED_EXMODS)
    with conftest.migrated_connection(
            kind, tmp_path_factory.mktemp('rpc-site')) as db:
        site = Site(transport, db)
        site.api.create_task('prepare_site', DESIGN)
        try:
            yield site
        finally:
            site.stop()
            transport.cleanup()
