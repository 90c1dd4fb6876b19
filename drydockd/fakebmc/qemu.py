"""A BMC whose node is a QEMU machine, as VirtualBMC is for libvirt.

IPMI power-on starts the node's QEMU process (TCG, its disk file, a
virtio NIC on a tap, booting from the network or the disk as the IPMI
boot device says); power-off stops it; reset and cycle stop and start
it. The power state IPMI reports is whether the process runs, so a
guest that powers itself off reads ``off``, as a real machine's BMC
would say.

The machines are described by a JSON file (``drydock-fakebmc --qemu
FILE``), a list of::

    {"name": "node01", "port": 17001, "password": "...",
     "disk": "/var/tmp/node01.img", "memory_mb": 256,
     "mac": "52:54:00:00:00:01", "tap": "tap1", "netns": "lab",
     "serial_log": "/var/tmp/node01.log"}

``netns`` (optional) runs QEMU in that network namespace, where its tap
is. The serial console is appended to ``serial_log``.
"""

import dataclasses
import json
import logging
import os
import signal
import subprocess
import threading

from drydockd.fakebmc import fleet

LOG = logging.getLogger(__name__)
QEMU = 'qemu-system-x86_64'


@dataclasses.dataclass
class Machine:
    """What QEMU is given for one node."""

    disk: str
    mac: str
    tap: str | None = None
    netns: str | None = None
    memory_mb: int = 256
    serial_log: str | None = None
    qemu: str = QEMU

    def argv(self, boot_device):
        """The QEMU command line; ``boot_device`` is the IPMI one."""
        network = boot_device in fleet.PXE_DEVICES
        if self.tap:
            netdev = 'tap,id=n0,ifname=%s,script=no,downscript=no' % self.tap
        else:
            netdev = 'user,id=n0,restrict=on'
        argv = [self.qemu, '-machine', 'q35', '-accel', 'tcg',
                '-m', str(self.memory_mb), '-smp', '1', '-display', 'none',
                '-no-user-config', '-monitor', 'none',
                '-chardev', ('file,id=s0,append=on,path=%s' % self.serial_log
                             if self.serial_log else 'null,id=s0'),
                '-serial', 'chardev:s0',
                '-drive', 'file=%s,format=raw,if=virtio' % self.disk,
                '-netdev', netdev,
                '-device', 'virtio-net-pci,netdev=n0,mac=%s' % self.mac,
                # Network first while the BMC says PXE: iPXE's "exit"
                # falls through to the disk, as on real firmware.
                '-boot', 'order=nc' if network else 'order=c']
        if self.netns:
            argv = ['ip', 'netns', 'exec', self.netns] + argv
        return argv


class QemuBmc(fleet.SimulatedBmc):
    """A simulated BMC in front of a QEMU process."""

    def __init__(self, spec, fleet_):
        super().__init__(spec, fleet_)
        self.machine = spec.machine
        self.proc = None
        self._plock = threading.Lock()

    def get_power_state(self):
        with self._plock:
            running = self.proc is not None and self.proc.poll() is None
        self.power = 'on' if running else 'off'
        return self.power

    def power_on(self):
        with self._plock:
            if self.proc is None or self.proc.poll() is not None:
                self._start()

    def power_off(self):
        with self._plock:
            self._kill()

    power_shutdown = power_off

    def power_cycle(self):
        """Off and on again; like real BMCs, refused while off."""
        with self._plock:
            if self.proc is None or self.proc.poll() is not None:
                return fleet.NOT_IN_PRESENT_STATE
            self._kill()
            self._start()
            return None

    power_reset = power_cycle

    def _start(self):
        if self.machine.serial_log:
            with open(self.machine.serial_log, 'a') as log:
                log.write('\n--- drydock-fakebmc: power on, boot %s ---\n'
                          % self.boot_device)
        self.proc = subprocess.Popen(
            self.machine.argv(self.boot_device), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.power = 'on'
        LOG.info('Node %s: QEMU started (pid %d, boot %s)', self.spec.name,
                 self.proc.pid, self.boot_device)

    def _kill(self):
        proc, self.proc = self.proc, None
        self.power = 'off'
        if proc is None or proc.poll() is not None:
            return
        # Its own session: the group is QEMU (and ``ip netns exec``).
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        LOG.info('Node %s: QEMU stopped', self.spec.name)

    def shutdown(self):
        """Stop the machine (the fleet is stopping)."""
        with self._plock:
            self._kill()


def load_specs(path):
    """NodeSpecs with machines from a ``--qemu`` JSON file."""
    with open(path) as src:
        entries = json.load(src)
    specs = []
    for entry in entries:
        spec = fleet.NodeSpec(
            name=entry['name'], port=int(entry['port']),
            password=entry['password'],
            username=entry.get('username', 'admin'))
        spec.machine = Machine(
            disk=entry['disk'], mac=entry['mac'], tap=entry.get('tap'),
            netns=entry.get('netns'),
            memory_mb=int(entry.get('memory_mb', 256)),
            serial_log=entry.get('serial_log'),
            qemu=entry.get('qemu', QEMU))
        specs.append(spec)
    return specs
