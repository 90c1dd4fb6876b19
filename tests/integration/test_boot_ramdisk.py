"""The deploy ramdisk built from Debian packages boots under QEMU, loads
its virtio modules and inventories what QEMU was given."""

import os

from drydockd.boot import ramdisk
import qemu_support


def _inventory(output):
    lines = [line.split('drydock-inventory: ', 1)[1].strip()
             for line in output.splitlines()
             if 'drydock-inventory: ' in line]
    return lines


def test_build_is_reused_when_nothing_changed():
    first = qemu_support.deploy_ramdisk()
    mtime = os.stat(first['initrd']).st_mtime_ns
    again = qemu_support.deploy_ramdisk()
    assert again['initrd_sha256'] == first['initrd_sha256']
    assert os.stat(again['initrd']).st_mtime_ns == mtime
    assert first['kernel_package'].startswith('linux-image-')
    assert first['kernel_package'].endswith('-cloud-amd64')
    # Small: busybox, nine modules and the scripts.
    assert os.path.getsize(first['initrd']) < 4 * 1024 * 1024


def test_ramdisk_inventories_the_machine(tmp_path):
    built = qemu_support.deploy_ramdisk()
    disk = tmp_path / 'disk.img'
    with open(disk, 'wb') as out:
        out.truncate(96 * 1024 * 1024)
    argv = qemu_support.machine_argv(
        str(disk), memory_mb=320, mac='52:54:00:aa:bb:07',
        kernel=built['kernel'], initrd=built['initrd'],
        append='console=ttyS0 quiet panic=-1')
    output = qemu_support.run_until_exit(argv, deadline=120)
    assert 'modules loaded' in output, output[-2000:]
    inventory = _inventory(output)
    assert 'cpus=1' in inventory
    assert 'memory_bytes=%d' % (320 * 1024 * 1024) in inventory
    assert 'disk=vda %d' % (96 * 1024 * 1024) in inventory
    assert 'nic=eth0 52:54:00:aa:bb:07' in inventory
    assert 'could not load' not in output


def test_module_order_loads_dependencies_first():
    assert ramdisk.MODULES.index('virtio_ring') < ramdisk.MODULES.index(
        'virtio')
    assert ramdisk.MODULES[-1] == 'virtio_net'
