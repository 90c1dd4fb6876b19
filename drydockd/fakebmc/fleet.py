"""Simulated BMCs on loopback, many per process, one ``listen()`` loop.

Each :class:`SimulatedBmc` is a ``pyghmi.ipmi.bmc.Bmc`` (IPMI 2.0,
RMCP+, cipher suite 3) on its own UDP port with its own user and password.
It keeps a power state and a boot device, and a node sits behind it: when
the node is powered on, power-cycled or reset while the boot device is
``network`` (PXE), it "boots" and after ``boot_seconds`` the fleet calls
``on_provisioned(node_name)``.

Every packet a BMC handles is recorded in the fleet's
:class:`calllog.CallLog` (``fleet.calls.of('node01')``), so tests can
check what the hardware was really sent.

Usage::

    specs = make_specs(3, base_port=17001)
    with Fleet(specs, on_provisioned=print) as fleet:
        ...  # talk IPMI to 127.0.0.1:17001-17003
"""

import dataclasses
import logging
import random
import secrets
import socket
import threading

from pyghmi.ipmi import bmc as pyghmi_bmc
from pyghmi.ipmi.private import session as pyghmi_session

from drydockd.fakebmc import calllog
from drydockd.fakebmc import timers
from drydockd.oob import pyghmi_compat

LOG = logging.getLogger(__name__)

#: Fault kinds: ``wrongpass`` (the BMC expects another password than the
#: design's), ``noanswer`` (port bound, never answers), ``unbound`` (port
#: not bound at all), ``slow`` (every answer ``fault_arg`` seconds late),
#: ``neverboots`` (powers on but never reports provisioned).
FAULTS = ('wrongpass', 'noanswer', 'unbound', 'slow', 'neverboots')

# IPMI completion code: "command not supported in present state".
NOT_IN_PRESENT_STATE = 0xd5
PXE_DEVICES = ('network', 'pxe', 'net')


@dataclasses.dataclass
class NodeSpec:
    """One simulated node and its BMC.

    ``password`` is what the site design says; :attr:`bmc_password` is
    what the BMC accepts (they differ only with the ``wrongpass`` fault).
    """

    name: str
    port: int
    password: str = dataclasses.field(repr=False)
    username: str = 'admin'
    address: str = '127.0.0.1'
    boot_seconds: float = 1.0
    fault: str | None = None
    fault_arg: float | None = None
    power: str = 'off'
    answer_delay: float = 0.0
    # A QEMU machine behind the BMC (``qemu.Machine``), or None for a
    # simulated node.
    machine: object = None
    # The node's id in the design (None: its 1-based place in the fleet).
    node_id: int | None = None

    def __post_init__(self):
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f'{self.name}: unknown fault {self.fault!r}; '
                             f'known: {", ".join(FAULTS)}')
        if self.fault == 'slow' and not (self.fault_arg or 0) > 0:
            raise ValueError(f'{self.name}: fault slow needs a delay > 0')

    @property
    def delay(self):
        """Seconds every answer is late: the ``slow`` fault's, or else
        ``answer_delay`` (a stand-in for a real network and BMC)."""
        if self.fault == 'slow':
            return self.fault_arg
        return self.answer_delay

    @property
    def bmc_password(self):
        if self.fault == 'wrongpass':
            return 'not-' + self.password
        return self.password


def node_name(index, count):
    """``node01`` .. ``nodeNN``: zero-padded to at least two digits
    (``count`` is the highest index, which sets the width)."""
    return f'node{index:0{max(2, len(str(count)))}d}'


def node_ids(specs):
    """``(design id, spec)`` for each spec: its ``node_id``, or else its
    1-based place in ``specs``."""
    return [(spec.node_id or place, spec)
            for place, spec in enumerate(specs, 1)]


def make_specs(count, base_port, boot_seconds=1.0, faults=None,
               username='admin', password=None, answer_delay=0.0,
               first_id=1):
    """Specs for ``count`` nodes on ports ``base_port``.. upward, with
    design ids ``first_id``.. upward and names from those ids, so that
    fleets in several processes make one site without clashing.

    :param faults: mapping of node name to ``(kind, arg)``.
    :param password: one password for all; random per node by default.
    :param answer_delay: seconds every BMC's answers are late.
    """
    faults = faults or {}
    last = first_id + count - 1
    specs = []
    for offset in range(count):
        node_id = first_id + offset
        name = node_name(node_id, last)
        kind, arg = faults.get(name, (None, None))
        specs.append(NodeSpec(
            name=name, port=base_port + offset, username=username,
            password=password or 'pw' + secrets.token_hex(8),
            boot_seconds=boot_seconds, fault=kind, fault_arg=arg,
            answer_delay=answer_delay, node_id=node_id))
    return specs


class SimulatedBmc(pyghmi_bmc.Bmc):
    """A BMC with a power state, a boot device and a node behind it.

    Handlers run on the fleet's listen thread, boots finish on the timer
    thread; ``_lock`` keeps the two apart.
    """

    def __init__(self, spec, fleet):
        super().__init__({spec.username: spec.bmc_password}, port=spec.port,
                         address=spec.address)
        self.spec = spec
        self.real_socket = self.serversocket
        self.power = spec.power
        self.boot_device = 'hd'
        self.provisioned = False
        self._fleet = fleet
        self._boot = None
        self._lock = threading.Lock()
        if spec.delay:
            self.serversocket = timers.DelayedSocket(
                self.real_socket, spec.delay, fleet.scheduler)

    def get_system_guid(self):
        return self.uuid

    def sessionless_data(self, data, sockaddr):
        name = calllog.describe_sessionless(bytearray(data))
        if name is not None:
            self._fleet.calls.record(self.spec.name, name)
        return super().sessionless_data(data, sockaddr)

    def handle_raw_request(self, request, session):
        self._fleet.calls.record(self.spec.name, *calllog.describe(request))
        return super().handle_raw_request(request, session)

    def get_power_state(self):
        return self.power

    def power_on(self):
        with self._lock:
            if self.power != 'on':
                self.power = 'on'
                self._start_boot()

    def power_off(self):
        with self._lock:
            self.power = 'off'
            self._cancel_boot()

    power_shutdown = power_off

    def power_cycle(self):
        """Off and on again; like real BMCs, refused while off."""
        with self._lock:
            if self.power != 'on':
                return NOT_IN_PRESENT_STATE
            self._start_boot()
            return None

    power_reset = power_cycle

    def get_boot_device(self):
        return self.boot_device

    def set_boot_device(self, bootdevice):
        """Kept until changed (the persistence flag is not simulated)."""
        self.boot_device = bootdevice

    def _cancel_boot(self):
        if self._boot is not None:
            self._boot.cancel()
            self._boot = None

    def _start_boot(self):
        self._cancel_boot()
        self.provisioned = False
        if (self.boot_device in PXE_DEVICES
                and self.spec.fault != 'neverboots'):
            self._boot = self._fleet.scheduler.call_later(
                self.spec.boot_seconds, self._booted)

    def _booted(self):
        with self._lock:
            if self._boot is None or self.power != 'on':
                return
            self._boot = None
            self.provisioned = True
        self._fleet.report(self.spec.name)


class Fleet:
    """Serves simulated BMCs for ``specs`` from one thread.

    :param specs: :class:`NodeSpec` list; ports must be free on
        ``127.0.0.1``.
    :param on_provisioned: ``callable(node_name)``, called on the timer
        thread each time a node finishes a network boot; it must not
        block for long. By default the event is only logged.
    :param calls: the :class:`calllog.CallLog` every BMC records into
        (default: one in memory, as :attr:`calls`).

    pyghmi waits with ``select()``, so one process serves at most about
    1,000 BMCs.
    """

    def __init__(self, specs, on_provisioned=None, calls=None):
        self.specs = list(specs)
        self.on_provisioned = on_provisioned
        self.calls = calls if calls is not None else calllog.CallLog()
        self.scheduler = timers.Scheduler()
        self.bmcs = {}
        self._silent = []
        self._stopping = threading.Event()
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def start(self):
        """Bind every port and start serving; raises ``OSError`` if busy."""
        pyghmi_compat.apply_server_fixes()
        self.scheduler.start()
        try:
            for spec in self.specs:
                self._open(spec)
        except Exception:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._serve, daemon=True,
                                        name='fakebmc-listen')
        self._thread.start()
        LOG.info('Serving %d simulated BMCs', len(self.specs))
        return self

    def stop(self):
        """Stop serving and release every port."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
        self.scheduler.stop()
        for bmc in self.bmcs.values():
            getattr(bmc, 'shutdown', lambda: None)()
            _forget_server(bmc)
        for sock in self._silent:
            sock.close()
        self.bmcs.clear()
        self._silent.clear()

    def report(self, name):
        """Tell ``on_provisioned`` (or the log) that ``name`` booted."""
        LOG.info('Node %s reported provisioned', name)
        if self.on_provisioned is not None:
            self.on_provisioned(name)

    def _open(self, spec):
        if spec.fault == 'unbound':
            return
        if spec.fault == 'noanswer':
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._silent.append(sock)
            sock.bind((spec.address, spec.port))
            return
        if spec.machine is not None:
            from drydockd.fakebmc import qemu
            self.bmcs[spec.name] = qemu.QemuBmc(spec, self)
            return
        self.bmcs[spec.name] = SimulatedBmc(spec, self)

    def _serve(self):
        """The one ``listen()`` loop, with a way out."""
        while not self._stopping.is_set():
            try:
                pyghmi_session.Session.wait_for_rsp(timeout=0.25)
            except Exception:
                LOG.exception('Simulated BMC loop failed; carrying on')


def _forget_server(bmc):
    """Unregister a BMC's socket from pyghmi, then close it.

    pyghmi has no way to stop a ``Bmc``; a closed socket left in its
    tables would break the shared ``select()``.
    """
    sock = bmc.real_socket
    if sock in pyghmi_session.iosockets:
        pyghmi_session.iosockets.remove(sock)
    handlers = pyghmi_session.Session.bmc_handlers
    handlers.pop(sock, None)
    for peer in list(handlers):
        entry = handlers.get(peer)
        if isinstance(entry, dict) and getattr(
                entry.get(bmc.port), 'bmc', None) is bmc:
            del entry[bmc.port]
            if not entry:
                handlers.pop(peer, None)
    sock.close()


def free_port_block(count, low=17000, high=19999, tries=200):
    """First port of ``count`` consecutive free UDP ports on loopback,
    picked at random in ``low..high`` so parallel fleets rarely collide.

    :raises: RuntimeError if no block was found.
    """
    for _ in range(tries):
        base_port = random.randint(low, high - count)
        held = []
        try:
            for port in range(base_port, base_port + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(sock)
                sock.bind(('127.0.0.1', port))
            return base_port
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise RuntimeError('no %d free UDP ports in %d-%d' % (count, low, high))
