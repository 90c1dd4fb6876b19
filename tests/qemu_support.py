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
