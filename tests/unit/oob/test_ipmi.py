"""The IPMI driver against simulated BMCs served in this process."""

import logging
import threading
import time

import pytest

import fakebmc_fixtures as fx
from drydockd.common import exception
from drydockd.oob import base
from drydockd.oob import fake
from drydockd.oob import ipmi

TIMEOUT = 1.5
FAULTS = {'node02': ('wrongpass', None), 'node03': ('slow', 3.0),
          'node04': ('noanswer', None), 'node05': ('neverboots', None)}


@pytest.fixture(scope='module')
def fleet():
    reports = []
    fleet = fx.start_fleet(6, faults=FAULTS, boot_seconds=0.2,
                           on_provisioned=reports.append)
    fleet.reports = reports
    yield fleet
    fleet.stop()


@pytest.fixture(scope='module')
def driver(fleet):
    return ipmi.IPMIDriver(fx.make_conf(
        command_timeout=TIMEOUT, retries=2, retry_backoff=0.05,
        status_poll_interval=0.02, max_concurrency=16))


@pytest.fixture
def nodes(fleet):
    return {spec.name: fx.oob_info(spec) for spec in fleet.specs}


def wait_for(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'condition not met in time'
        time.sleep(0.02)


def test_power_on_off_and_status(driver, fleet, nodes):
    node = nodes['node01']
    driver.set_power_state(node, 'on')
    assert driver.get_power_state(node) == 'on'
    assert fleet.bmcs['node01'].power == 'on'
    driver.set_power_state(node, 'on')  # already on: no change, no error
    driver.set_power_state(node, 'off')
    assert driver.get_power_state(node) == 'off'
    assert fleet.bmcs['node01'].power == 'off'


def test_boot_device(driver, fleet, nodes):
    node = nodes['node06']
    driver.set_boot_device(node, 'pxe')
    assert driver.get_boot_device(node) == 'pxe'
    assert fleet.bmcs['node06'].boot_device == 'network'
    driver.set_boot_device(node, 'disk')
    assert driver.get_boot_device(node) == 'disk'
    assert fleet.bmcs['node06'].boot_device == 'hd'


def test_reboot_from_off_and_on_boots_over_pxe(driver, fleet, nodes):
    node = nodes['node01']
    driver.set_boot_device(node, 'pxe')
    driver.set_power_state(node, 'off')
    driver.reboot(node)  # off: powered on
    assert driver.get_power_state(node) == 'on'
    wait_for(lambda: 'node01' in fleet.reports)
    fleet.reports.clear()
    driver.reboot(node)  # on: power-cycled, boots again
    assert driver.get_power_state(node) == 'on'
    wait_for(lambda: 'node01' in fleet.reports)
    driver.set_boot_device(node, 'disk')
    driver.set_power_state(node, 'off')


def test_node_that_never_comes_back(driver, fleet, nodes):
    node = nodes['node05']
    driver.set_boot_device(node, 'pxe')
    driver.reboot(node)
    assert driver.get_power_state(node) == 'on'
    # node06 boots after node05 on the fleet's ordered timers: once it has
    # reported, node05 would have.
    driver.set_boot_device(nodes['node06'], 'pxe')
    driver.reboot(nodes['node06'])
    wait_for(lambda: 'node06' in fleet.reports)
    assert 'node05' not in fleet.reports
    driver.set_power_state(nodes['node06'], 'off')


def test_wrong_credentials(driver, nodes):
    started = time.monotonic()
    with pytest.raises(exception.OOBAuthFailed) as info:
        driver.get_power_state(nodes['node02'])
    assert str(info.value) == 'BMC of node node02 refused the credentials'
    assert time.monotonic() - started < TIMEOUT  # not retried


def test_no_answer_is_unreachable(driver, nodes):
    with pytest.raises(exception.OOBUnreachable) as info:
        driver.get_power_state(nodes['node04'])
    assert str(info.value) == 'BMC of node node04 did not answer after 2 tries'


def test_slow_answers_time_out(driver, nodes):
    with pytest.raises(exception.OOBTimeout) as info:
        driver.set_power_state(nodes['node03'], 'on')
    assert str(info.value).startswith(
        'BMC of node node03: power on timed out after ')


def test_hung_call_does_not_hold_up_others(driver, nodes, monkeypatch):
    """A call that never returns (after the BMC answered) is abandoned at
    the time limit with OOBTimeout, and others run meanwhile."""
    original = ipmi._in_session
    never = threading.Event()

    def in_session(node, operation, deadline, *args):
        result = original(node, operation, deadline, *args)
        if node.name == 'node06':
            never.wait()
        return result

    monkeypatch.setattr(ipmi, '_in_session', in_session)
    finished = {}

    def timed(drv, node):
        try:
            return drv.get_power_state(node)
        finally:
            finished[node.name] = time.monotonic()

    started = time.monotonic()
    results = ipmi.run_many(driver, [nodes['node06'], nodes['node01']],
                            timed)
    never.set()
    assert isinstance(results['node06'], exception.OOBTimeout)
    assert results['node01'] in ('on', 'off')
    assert finished['node01'] - started < 1.0
    assert finished['node06'] - started >= TIMEOUT


def test_bad_arguments_never_reach_the_bmc(driver, nodes):
    with pytest.raises(exception.InvalidInput, match='node01'):
        driver.set_power_state(nodes['node01'], 'sideways')
    with pytest.raises(exception.InvalidInput, match='node01'):
        driver.set_boot_device(nodes['node01'], 'floppy')


def test_validate(driver, nodes):
    driver.validate(nodes['node01'])
    node = base.OOBInfo('nodeX', 'not-an-ip', 0, '', 'secret-value')
    with pytest.raises(exception.InvalidInput) as info:
        driver.validate(node)
    text = str(info.value)
    assert 'nodeX' in text and 'address' in text and 'port' in text
    assert 'account' in text and 'secret-value' not in text


def test_password_never_logged_or_raised(driver, fleet, nodes, caplog):
    passwords = [spec.password for spec in fleet.specs]
    passwords += [spec.bmc_password for spec in fleet.specs]
    with caplog.at_level(logging.DEBUG):
        results = ipmi.run_many(driver, nodes.values(),
                                ipmi.IPMIDriver.get_power_state)
    assert isinstance(results['node02'], exception.OOBAuthFailed)
    assert isinstance(results['node03'], exception.OOBTimeout)
    assert isinstance(results['node04'], exception.OOBUnreachable)
    texts = [caplog.text] + [str(r) + repr(r) for r in results.values()]
    texts += [repr(node) for node in nodes.values()]
    assert 'BMC of node node04' in caplog.text
    for password in passwords:
        for text in texts:
            assert password not in text


def test_run_many_returns_results_in_order(driver, nodes):
    chosen = [nodes['node06'], nodes['node01']]
    results = ipmi.run_many(driver, chosen, ipmi.IPMIDriver.get_power_state,
                            max_workers=2)
    assert list(results) == ['node06', 'node01']
    assert ipmi.run_many(driver, [], ipmi.IPMIDriver.get_power_state) == {}


def test_fake_driver_keeps_the_contract():
    store = fake.FakeStore()
    driver = fake.FakeDriver(store=store)
    node = base.OOBInfo('n1', '127.0.0.1', 623, 'admin', 'pw')
    assert driver.get_power_state(node) == 'off'
    driver.set_power_state(node, 'on')
    driver.set_boot_device(node, 'pxe')
    assert (driver.get_power_state(node), driver.get_boot_device(node)) \
        == ('on', 'pxe')
    with pytest.raises(exception.InvalidInput):
        driver.set_power_state(node, 'sideways')
    store.faults['n1'] = exception.OOBUnreachable(node='n1', tries=3)
    with pytest.raises(exception.OOBUnreachable):
        driver.reboot(node)
    assert ('set_boot_device', 'n1', 'pxe') in store.calls
