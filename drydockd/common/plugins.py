"""Pick an implementation by name from an entry-point namespace.

Drivers and transports are chosen by configuration, never by code
branches: every namespace has a real implementation and a ``fake``.
"""

from importlib import metadata

from drydockd.common import exception


def load(namespace, name, conf):
    """Instantiate entry point ``name`` of ``namespace`` with ``conf``."""
    for ep in metadata.entry_points(group=namespace):
        if ep.name == name:
            return ep.load()(conf)
    known = sorted(ep.name for ep in metadata.entry_points(group=namespace))
    raise exception.DrydockException(
        'Unknown %s %r; installed: %s' % (namespace, name, ', '.join(known)))
