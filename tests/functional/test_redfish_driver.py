"""The Redfish driver against sushy-tools' emulator on loopback.

The emulator's fake systems apply a reset 1-3 s after it is asked for,
so power changes here take seconds; every node works concurrently.
"""

from concurrent import futures
import dataclasses
import logging
import socket
import threading

import pytest

import fakebmc_fixtures as fx
import redfish_fixtures as rf
from drydockd.common import exception
from drydockd.conf import redfish as redfish_conf
from drydockd.oob import base
from drydockd.oob import redfish

POWER_WAIT = 20


def make_conf(**redfish):
    return fx.group_conf(redfish_conf, 'redfish', **redfish)


def info(emulator, uuid, name='node01', **overrides):
    return base.OOBInfo.from_design({'name': name,
                                     'oob': emulator.oob(uuid, **overrides)})


@pytest.fixture(scope='module')
def tls(tmp_path_factory):
    return rf.make_tls(tmp_path_factory.mktemp('tls'))


@pytest.fixture(scope='module')
def emulator(tmp_path_factory, tls):
    with rf.Emulator(tmp_path_factory.mktemp('emu'), 3, tls=tls) as emu:
        yield emu


@pytest.fixture(scope='module')
def driver():
    return redfish.RedfishDriver(make_conf(
        command_timeout=POWER_WAIT, connect_timeout=1, retries=2,
        retry_backoff=0.05, status_poll_interval=0.2))


def test_power_and_boot_device_of_every_kind(driver, emulator):
    """on, off, reboot and status; pxe/disk once and persistent; two
    systems at once, each as the emulator then reports it."""
    (_, first), (_, second) = emulator.systems[:2]

    def exercise(uuid):
        node = info(emulator, uuid)
        assert driver.get_power_state(node) == 'off'
        driver.set_power_state(node, 'on')
        assert emulator.power(uuid) == 'on'
        assert driver.get_power_state(node) == 'on'
        driver.set_power_state(node, 'on')  # already on: nothing to do
        driver.set_boot_device(node, 'pxe')
        assert emulator.boot(uuid) == 'Pxe'
        assert driver.get_boot_device(node) == 'pxe'
        driver.reboot(node)
        assert emulator.power(uuid) == 'on'
        driver.set_boot_device(node, 'disk', persistent=True)
        assert emulator.boot(uuid) == 'Hdd'
        assert emulator.system(uuid)['Boot'][
            'BootSourceOverrideEnabled'] == 'Continuous'
        assert driver.get_boot_device(node) == 'disk'
        driver.set_power_state(node, 'off')
        assert emulator.power(uuid) == 'off'
        driver.reboot(node)  # off: reboot powers it on
        assert emulator.power(uuid) == 'on'

    with futures.ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(exercise, first), pool.submit(exercise,
                                                               second)]:
            done.result()


def test_bad_input_is_refused_before_any_request(driver):
    node = base.OOBInfo(name='n1', address='10.0.0.1', account='a',
                        credential='c', type='redfish')
    with pytest.raises(exception.InvalidInput, match='n1.*URL'):
        driver.validate(node)
    node = dataclasses.replace(node, address='https://bmc')
    driver.validate(node)
    with pytest.raises(exception.InvalidInput, match='power state'):
        driver.set_power_state(node, 'sideways')
    with pytest.raises(exception.InvalidInput, match='boot device'):
        driver.set_boot_device(node, 'floppy')


def test_wrong_credentials(driver, emulator, caplog):
    caplog.set_level(logging.DEBUG)
    node = info(emulator, emulator.systems[2][1], name='node03',
                credential='not-the-password')
    with pytest.raises(exception.OOBAuthFailed) as caught:
        driver.get_power_state(node)
    assert str(caught.value) == 'BMC of node node03 refused the credentials'
    assert 'not-the-password' not in caplog.text


def test_unknown_system(driver, emulator):
    node = info(emulator, 'no-such-system')
    with pytest.raises(exception.OOBSystemNotFound,
                       match='node01 has no system no-such-system'):
        driver.get_power_state(node)


def test_certificate_not_trusted(driver, emulator):
    """The emulator's certificate is signed by the test's CA: without
    that CA the BMC is refused at once; with verification off it is
    reached."""
    uuid = emulator.systems[2][1]
    node = info(emulator, uuid, ca_file=None)
    with pytest.raises(exception.OOBCertificateRejected) as caught:
        driver.get_power_state(node)
    assert 'node01 at %s' % emulator.url in str(caught.value)
    assert 'certificate' in str(caught.value)
    node = info(emulator, uuid, ca_file=None, verify_certificate=False)
    assert driver.get_power_state(node) in ('on', 'off')


def test_endpoint_that_never_answers(driver):
    """A port that accepts connections and never answers, and one that
    refuses them: both BMCs did not answer, after every try."""
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    quick = redfish.RedfishDriver(make_conf(
        command_timeout=1.0, connect_timeout=0.5, retries=2,
        retry_backoff=0.05))
    try:
        node = base.OOBInfo(name='node09', type='redfish', account='a',
                            credential='c', address='http://127.0.0.1:%d'
                            % silent.getsockname()[1])
        with pytest.raises(exception.OOBUnreachable,
                           match='node09 did not answer after 2 tries'):
            quick.get_power_state(node)
        refused = dataclasses.replace(
            node, address='http://127.0.0.1:%d' % rf.free_tcp_port())
        with pytest.raises(exception.OOBUnreachable, match='node09'):
            quick.get_power_state(refused)
    finally:
        stop.set()
        silent.close()
        for conn in held:
            conn.close()


def test_no_system_named_means_the_only_one(driver, emulator,
                                            tmp_path):
    with rf.Emulator(tmp_path, 1) as single:
        node = base.OOBInfo.from_design({'name': 'solo',
                                         'oob': single.oob(None)})
        assert driver.get_power_state(node) == 'off'
    node = info(emulator, None, name='many')     # three systems: which?
    with pytest.raises(exception.OOBError,
                       match='many failed: .*System count is not exactly'):
        driver.get_power_state(node)
