"""QEMU machines and the deploy ramdisk for the boot tests.

The ramdisk is built once and kept in ``$DRYDOCK_TEST_CACHE/ramdisk``
(default ``/var/tmp/drydock-tests``): a build whose inputs did not change
is reused, so a run builds it at most once. Every QEMU process is started
here, with a deadline, and only these PIDs are ever killed.
"""

import os
import signal
import subprocess
import time

from drydockd.boot import ramdisk

CACHE = os.environ.get('DRYDOCK_TEST_CACHE', '/var/tmp/drydock-tests')
QEMU = 'qemu-system-x86_64'


def deploy_ramdisk():
    """The deploy ramdisk's manifest (built on first use)."""
    return ramdisk.build(os.path.join(CACHE, 'ramdisk'),
                         cache=os.path.join(CACHE, 'debs'))


def machine_argv(disk, memory_mb=256, mac='52:54:00:00:00:01', net=None,
                 boot='c', kernel=None, initrd=None, append=None,
                 serial=None):
    """A TCG machine: one vCPU, a virtio disk and a virtio NIC.

    :param net: QEMU ``-netdev`` options; by default an isolated
        user-mode network that reaches nothing (``restrict=on``).
    """
    argv = [QEMU, '-machine', 'q35', '-accel', 'tcg', '-m', str(memory_mb),
            '-smp', '1', '-display', 'none', '-no-user-config',
            '-serial', 'file:%s' % serial if serial else 'stdio',
            '-monitor', 'none',
            '-drive', 'file=%s,format=raw,if=virtio' % disk,
            '-netdev', net or 'user,id=n0,restrict=on',
            '-device', 'virtio-net-pci,netdev=n0,mac=%s' % mac,
            '-boot', boot, '-no-reboot']
    if kernel:
        argv += ['-kernel', kernel, '-initrd', initrd, '-append', append]
    return argv


def run_until_exit(argv, deadline):
    """Run QEMU until the guest powers off; its serial output.

    :raises: AssertionError (with the output so far) past ``deadline``.
    """
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError('QEMU still running after %ss:\n%s' % (
            deadline, out.decode(errors='replace')[-3000:]))
    return out.decode(errors='replace')


def wait_for(predicate, deadline, what, step=0.2):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError('timed out after %ss waiting for %s'
                         % (deadline, what))


class QemuFleet:
    """``drydock-fakebmc --qemu`` in a subprocess, over ``machines``
    (dicts as ``drydockd.fakebmc.qemu`` reads them, without ports and
    passwords, which are filled in here). A context manager; on exit it
    stops the fleet, which stops every QEMU it started."""

    def __init__(self, tmp_path, machines, password='pw-qemu-test'):
        import fakebmc_fixtures
        self.tmp_path = tmp_path
        base = fakebmc_fixtures.free_udp_ports(len(machines))
        self.machines = [dict(m, port=base + i, password=password)
                         for i, m in enumerate(machines)]
        self.password = password
        self.proc = None
        self.log_path = tmp_path / 'fakebmc-qemu.log'

    def __enter__(self):
        import json
        import sys
        spec = self.tmp_path / 'machines.json'
        spec.write_text(json.dumps(self.machines))
        ready = self.tmp_path / 'fakebmc-qemu.ready'
        with open(self.log_path, 'w') as log:
            self.proc = subprocess.Popen(
                [sys.executable, '-m', 'drydockd.fakebmc.command',
                 '--qemu', str(spec), '--ready-file', str(ready)],
                stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: ready.exists() or self.proc.poll() is not None,
                 30, 'drydock-fakebmc --qemu ready')
        assert self.proc.poll() is None, self.log_path.read_text()
        return self

    def __exit__(self, *exc_info):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.qemu_pids():
            os.kill(pid, signal.SIGKILL)

    def qemu_pids(self):
        """PIDs of the running processes this fleet started (its QEMUs),
        whichever of its threads started them."""
        pids = set()
        root = '/proc/%d/task' % self.proc.pid
        try:
            for tid in os.listdir(root):
                with open('%s/%s/children' % (root, tid)) as f:
                    pids.update(int(p) for p in f.read().split())
        except OSError:
            pass
        return sorted(p for p in pids if os.path.exists('/proc/%d' % p))

    def cmdline(self, pid):
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().decode().split('\0')

    def ipmitool(self, index, *command):
        import shutil
        machine = self.machines[index]
        return subprocess.run(
            [shutil.which('ipmitool') or 'ipmitool', '-I', 'lanplus', '-C',
             '3', '-H', '127.0.0.1', '-p', str(machine['port']), '-U',
             'admin', '-E'] + list(command),
            env=dict(os.environ, IPMI_PASSWORD=self.password),
            capture_output=True, text=True, timeout=30)
