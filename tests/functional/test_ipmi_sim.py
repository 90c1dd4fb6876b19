"""The IPMI driver against OpenIPMI's ``ipmi_sim``, a BMC simulator that
is not drydock's own: power follows the simulator's start command, and
what it refuses (setting the boot device without a ``chassis_control``
script) ends in one clear error, after which the BMC is still usable."""

import shutil
import subprocess
import time

import pytest

import fakebmc_fixtures as fx
import redfish_fixtures
from drydockd.common import exception
from drydockd.oob import base
from drydockd.oob import ipmi

LAN_CONF = '''name "drydock-sim"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 {port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  serial 15 127.0.0.1 {vm_port} codec VM
  startcmd "sleep 3600"
  startnow false
  user 2 true  "admin"   "sim-secret" admin    10       none md2 md5 straight
'''
EMU = '''mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_enable 0x20
'''


@pytest.fixture
def sim(tmp_path):
    binary = shutil.which('ipmi_sim')
    assert binary, 'ipmi_sim missing: .ci/run installs openipmi'
    port = fx.free_udp_ports(1)
    (tmp_path / 'lan.conf').write_text(LAN_CONF.format(
        port=port, vm_port=redfish_fixtures.free_tcp_port()))
    (tmp_path / 'sim.emu').write_text(EMU)
    with open(tmp_path / 'sim.log', 'w') as log:
        proc = subprocess.Popen(
            [binary, '-c', str(tmp_path / 'lan.conf'), '-f',
             str(tmp_path / 'sim.emu'), '-s', str(tmp_path / 'state'),
             '-n'], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    time.sleep(0.5)
    assert proc.poll() is None, (tmp_path / 'sim.log').read_text()
    yield base.OOBInfo(name='sim01', address='127.0.0.1', port=port,
                       account='admin', credential='sim-secret')
    # The simulator's start command runs in its session: end them both.
    subprocess.run(['pkill', '-s', str(proc.pid)], check=False)
    proc.wait(10)


def test_power_boot_device_and_errors(sim):
    driver = ipmi.IPMIDriver(fx.make_conf(
        command_timeout=5, retries=2, retry_backoff=0.1,
        status_poll_interval=0.1))
    assert driver.get_power_state(sim) == 'off'
    driver.set_power_state(sim, 'on')
    assert driver.get_power_state(sim) == 'on'
    with pytest.raises(exception.OOBError) as caught:
        driver.set_boot_device(sim, 'pxe')
    assert str(caught.value) == ('BMC of node sim01 failed: Invalid data '
                                 'field in request')
    assert driver.get_power_state(sim) == 'on'      # still usable
    driver.set_power_state(sim, 'off')
    assert driver.get_power_state(sim) == 'off'
    wrong = base.OOBInfo(name='sim01', address=sim.address, port=sim.port,
                         account='admin', credential='not-it')
    with pytest.raises(exception.OOBAuthFailed):
        driver.get_power_state(wrong)
