"""drydock-fakebmc --qemu: IPMI power and boot device drive a real QEMU
machine, and ipmitool sees the machine's real state."""

import os
import signal

import qemu_support


def _status(fleet, index=0):
    result = fleet.ipmitool(index, 'power', 'status')
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_power_and_boot_device_drive_qemu(tmp_path):
    disk = tmp_path / 'node01.img'
    with open(disk, 'wb') as out:
        out.truncate(16 * 1024 * 1024)
    machine = {'name': 'node01', 'disk': str(disk), 'memory_mb': 128,
               'mac': '52:54:00:33:00:01',
               'serial_log': str(tmp_path / 'node01.log')}
    with qemu_support.QemuFleet(tmp_path, [machine]) as fleet:
        assert _status(fleet) == 'Chassis Power is off'
        assert fleet.qemu_pids() == []
        assert fleet.ipmitool(0, 'chassis', 'bootdev', 'pxe').returncode == 0
        assert fleet.ipmitool(0, 'power', 'on').returncode == 0
        assert _status(fleet) == 'Chassis Power is on'
        [pid] = fleet.qemu_pids()
        argv = fleet.cmdline(pid)
        assert argv[argv.index('-boot') + 1] == 'order=nc'
        assert argv[argv.index('-m') + 1] == '128'
        assert 'virtio-net-pci,netdev=n0,mac=52:54:00:33:00:01' in argv
        # Reset with the disk as boot device: a new QEMU booting the disk.
        assert fleet.ipmitool(0, 'chassis', 'bootdev', 'disk').returncode \
            == 0
        assert fleet.ipmitool(0, 'power', 'reset').returncode == 0
        [new_pid] = fleet.qemu_pids()
        assert new_pid != pid
        argv = fleet.cmdline(new_pid)
        assert argv[argv.index('-boot') + 1] == 'order=c'
        assert fleet.ipmitool(0, 'power', 'off').returncode == 0
        assert _status(fleet) == 'Chassis Power is off'
        qemu_support.wait_for(lambda: fleet.qemu_pids() == [], 15,
                              'QEMU gone after power off')
        # A machine that stops by itself reads off too.
        assert fleet.ipmitool(0, 'power', 'on').returncode == 0
        [pid] = fleet.qemu_pids()
        os.kill(pid, signal.SIGTERM)
        qemu_support.wait_for(
            lambda: _status(fleet) == 'Chassis Power is off', 15,
            'IPMI to say off once QEMU exited')
        assert 'power on, boot network' in (tmp_path / 'node01.log') \
            .read_text()
