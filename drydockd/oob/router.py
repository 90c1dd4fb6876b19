"""Each node to the driver its design names, so a design may mix BMCs.

``[executor] oob_driver = design`` (the default) sends a node whose
``oob.type`` is ``redfish`` to the Redfish driver and one whose type is
``ipmi``, or not given, to the IPMI driver. Any other value names one
driver for every node whatever its design says (``fake`` for tests
without BMCs). Drivers are built on first use: the IPMI driver starts
pyghmi's threads, which a site of Redfish BMCs never needs.
"""

import threading

from drydockd.common import exception
from drydockd.common import plugins
from drydockd.oob import base

NAMESPACE = 'drydock.oob_drivers'
BY_DESIGN = 'design'
DEFAULT_TYPE = 'ipmi'


class Router(base.PowerInterface, base.ManagementInterface):
    """Both interfaces; every call goes to the node's driver.

    :param conf: the process's ``ConfigOpts``.
    """

    interface_type = 'router'

    def __init__(self, conf):
        self.conf = conf
        self.forced = conf.executor.oob_driver
        if self.forced == BY_DESIGN:
            self.forced = None
        self._drivers = {}
        self._lock = threading.Lock()

    @property
    def max_concurrency(self):
        """The most calls the drivers in use let run at once."""
        limits = [self.conf.ipmi.max_concurrency,
                  self.conf.redfish.max_concurrency]
        return max(limits)

    def driver_name(self, node):
        return self.forced or node.type or DEFAULT_TYPE

    def driver_for(self, node):
        """The driver that handles ``node`` (an :class:`base.OOBInfo`)."""
        name = self.driver_name(node)
        with self._lock:
            driver = self._drivers.get(name)
            if driver is None:
                try:
                    driver = plugins.load(NAMESPACE, name, self.conf)
                except exception.DrydockException as exc:
                    raise exception.InvalidInput(
                        reason=f'node {node.name}: {exc.message}') from None
                self._drivers[name] = driver
        return driver

    def validate(self, node):
        self.driver_for(node).validate(node)

    def get_power_state(self, node):
        return self.driver_for(node).get_power_state(node)

    def set_power_state(self, node, state):
        return self.driver_for(node).set_power_state(node, state)

    def reboot(self, node):
        return self.driver_for(node).reboot(node)

    def get_boot_device(self, node):
        return self.driver_for(node).get_boot_device(node)

    def set_boot_device(self, node, device, persistent=False):
        return self.driver_for(node).set_boot_device(node, device,
                                                     persistent=persistent)
