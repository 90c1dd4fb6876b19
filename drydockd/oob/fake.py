"""In-memory power and management drivers for tests that need no BMC.

They keep the real contract: the same arguments are checked the same way
(``InvalidInput`` for a bad state or device, ``validate()`` shared with
the IPMI driver), and a test can make any node fail with any drydock
exception through :attr:`FakeStore.faults`.
"""

import dataclasses
import threading

from drydockd.oob import base


@dataclasses.dataclass
class FakeStore:
    """State shared by a :class:`FakePower` and a :class:`FakeManagement`.

    ``power`` and ``boot`` map node names to ``'on'``/``'off'`` and
    ``'pxe'``/``'disk'``; unknown nodes start ``'off'`` with no boot
    device. ``faults`` maps node names to an exception every call for that
    node raises. ``calls`` records ``(method, node name, argument)``.
    """

    power: dict = dataclasses.field(default_factory=dict)
    boot: dict = dataclasses.field(default_factory=dict)
    faults: dict = dataclasses.field(default_factory=dict)
    calls: list = dataclasses.field(default_factory=list)
    lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, repr=False)

    def record(self, method, node, argument=None):
        """Log the call, then raise the node's fault if it has one."""
        with self.lock:
            self.calls.append((method, node.name, argument))
            fault = self.faults.get(node.name)
        if fault is not None:
            raise fault


class _FakeBase:
    def __init__(self, conf=None, store=None):
        """:param conf: ignored; accepted so fakes load like real drivers.
        :param store: a :class:`FakeStore` to share; a new one by default.
        """
        self.store = store if store is not None else FakeStore()

    def validate(self, node):
        base.check_oob_info(node)


class FakePower(_FakeBase, base.PowerInterface):
    """Power state kept in :attr:`store`; changes take effect at once."""

    def get_power_state(self, node):
        self.store.record('get_power_state', node)
        with self.store.lock:
            return self.store.power.get(node.name, base.POWER_OFF)

    def set_power_state(self, node, state):
        base.check_choice(node, 'power state', state, base.POWER_STATES)
        self.store.record('set_power_state', node, state)
        with self.store.lock:
            self.store.power[node.name] = state

    def reboot(self, node):
        self.store.record('reboot', node)
        with self.store.lock:
            self.store.power[node.name] = base.POWER_ON


class FakeManagement(_FakeBase, base.ManagementInterface):
    """Boot device kept in :attr:`store`."""

    def get_boot_device(self, node):
        self.store.record('get_boot_device', node)
        with self.store.lock:
            return self.store.boot.get(node.name)

    def set_boot_device(self, node, device, persistent=False):
        base.check_choice(node, 'boot device', device, base.BOOT_DEVICES)
        self.store.record('set_boot_device', node,
                          (device, 'persistent') if persistent else device)
        with self.store.lock:
            self.store.boot[node.name] = device


class FakeDriver(FakePower, FakeManagement):
    """Both interfaces over one store, like ``ipmi.IPMIDriver``."""
