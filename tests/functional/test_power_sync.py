"""The power-state sync on both drivers: drift behind drydock's back is
seen, shown by ``node list`` and ``node show``, and, when configured,
put right, except on nodes a running task holds.

Someone "presses the button" here by driving the BMC directly: pyghmi for
the drydock-fakebmc IPMI nodes, an HTTP reset for the emulated Redfish
systems.
"""

import time

import fakebmc_fixtures as fx
import redfish_fixtures as rf
from drydockd.oob import ipmi
import mixed_site

make_site = mixed_site.make_site

SYNC = {'oob': {'sync_interval': 1}}


def _wait(what, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def _press_ipmi(site, index, state):
    driver = ipmi.IPMIDriver(fx.make_conf(command_timeout=3, retries=2))
    driver.set_power_state(site.fleet.nodes[index], state)


def _node(site, name):
    return site.json('node', 'show', name)


def test_drift_is_recorded_and_shown_on_both_drivers(make_site):
    site = make_site(groups=SYNC)
    assert site.run_task('prepare_site')['result']['status'] == 'success'
    assert site.json('node', 'power', 'node01', 'on')['power_state'] == 'on'
    assert site.json('node', 'power', 'rf03', 'on')['power_state'] == 'on'
    # Sweeps read every node with a BMC; no drift while nothing changed.
    for name in ('node01', 'rf03', 'node02', 'rf04'):
        _wait('%s read' % name, lambda: _node(site, name)['power_read_at'])
    assert _node(site, 'rf04')['power_read'] == 'off'
    assert _node(site, 'rf03')['power_drift'] is None

    _press_ipmi(site, 0, 'off')
    site.emulator.press_button(rf.UUID % 3, 'ForceOff')
    site.emulator.wait_power(rf.UUID % 3, 'off')
    for name in ('node01', 'rf03'):
        shown = _wait('%s drift' % name, lambda: _node(site, name)[
            'power_drift'] and _node(site, name))
        assert shown['power_drift'] == \
            "found off, expected on: taken as the node's state"
        assert shown['power_state'] == 'off'
        assert shown['power_read'] == 'off'
        assert shown['power_drift_at']
    listed = {n['name']: n for n in site.json('node', 'list')}
    assert listed['rf03']['power_drift'].startswith('found off, expected on')
    assert listed['rf03']['power_read_at']
    assert listed['rf04']['power_drift'] is None
    # Not restored: without force_power_state drydock only records it.
    assert site.emulator.power(rf.UUID % 3) == 'off'


def test_drift_is_put_right_unless_a_task_holds_the_node(make_site):
    # rf05's agent never reports: its provisioning task holds it.
    # (Its provisioning must outlast the test, however loaded the host.)
    site = make_site(groups={'oob': {'sync_interval': 1,
                                     'force_power_state': True},
                             'manager': {'provision_timeout': 900}},
                     silent=[rf.UUID % 5])
    assert site.run_task('prepare_site')['result']['status'] == 'success'
    site.json('node', 'power', 'node02', 'on')
    site.json('node', 'power', 'rf04', 'on')
    held = site.json('task', 'create', 'provision_nodes', '--design-ref',
                     str(site.design_path), '--nodes', 'rf05')
    _wait('rf05 provisioning', lambda: _node(site, 'rf05')['status'] ==
          'provisioning' and site.emulator.power(rf.UUID % 5) == 'on')

    _press_ipmi(site, 1, 'off')
    site.emulator.press_button(rf.UUID % 4, 'ForceOff')
    site.emulator.press_button(rf.UUID % 5, 'ForceOff')
    site.emulator.wait_power(rf.UUID % 5, 'off')
    for name in ('node02', 'rf04'):
        shown = _wait('%s restored' % name, lambda: _node(site, name)[
            'power_drift'] and _node(site, name), timeout=90)
        assert shown['power_drift'] == 'found off, expected on: ' \
            'powered on again', shown
        assert shown['power_state'] == 'on'
    site.emulator.wait_power(rf.UUID % 4, 'on')
    assert site.json('node', 'power', 'node02',
                     'status')['power_state'] == 'on'

    # The held node: read, never corrected, no drift recorded.
    pressed = time.monotonic()
    _wait('rf05 read off', lambda: _node(site, 'rf05')['power_read'] ==
          'off')
    time.sleep(max(0, 4 - (time.monotonic() - pressed)))
    shown = _node(site, 'rf05')
    assert shown['reservation'] == held['id']
    assert shown['power_drift'] is None
    assert site.emulator.power(rf.UUID % 5) == 'off'
