"""Pick the node transport named in ``[executor] node_transport``."""

from drydockd.common import plugins

NAMESPACE = 'drydock.node_transports'


def load(conf):
    return plugins.load(NAMESPACE, conf.executor.node_transport, conf)
