"""Every drydock option group, for registration and the sample generator."""

from drydockd.conf import boot
from drydockd.conf import database
from drydockd.conf import default
from drydockd.conf import executor
from drydockd.conf import graph
from drydockd.conf import ipmi
from drydockd.conf import manager
from drydockd.conf import oob
from drydockd.conf import receiver
from drydockd.conf import redfish
from drydockd.conf import site
from drydockd.conf import ssh
from drydockd.conf import work_plane

# Alphabetical by group; DEFAULT first as the generator prints it.
_MODULES = [default, boot, database, executor, graph, ipmi, manager, oob,
            receiver, redfish, site, ssh, work_plane]


def register_opts(conf):
    for module in _MODULES:
        module.register_opts(conf)


def list_opts():
    """(group, opts) pairs for ``oslo-config-generator``'s drydock
    namespace."""
    return [('DEFAULT', default.opts)] + [
        (m.GROUP, m.opts) for m in _MODULES[1:]]
