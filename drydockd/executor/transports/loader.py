"""Pick the node transport named in ``[executor] node_transport``."""

from importlib import metadata

from drydockd.common import exception

NAMESPACE = 'drydock.node_transports'


def load(conf):
    name = conf.executor.node_transport
    for ep in metadata.entry_points(group=NAMESPACE):
        if ep.name == name:
            return ep.load()(conf)
    raise exception.DrydockException(
        'Unknown node transport %r (entry points in %s)' % (name, NAMESPACE))
