"""Power graph tasks go to the BMC; every other task to the node."""

import threading

from drydockd.common import exception
from drydockd.executor import node_methods
from drydockd.oob import base
from drydockd.oob import fake
from drydockd.executor.transports import oob


class _Inner:
    def __init__(self):
        self.started = []

    def start(self, uid, task, timeout, on_done):
        self.started.append((uid, task['id']))
        on_done(True, None, {'exit_code': 0})


def _run(transport, uid, task):
    done = threading.Event()
    result = []

    def on_done(ok, message=None, summary=None):
        result.append((ok, message, summary))
        done.set()

    transport.start(uid, task, 10, on_done)
    assert done.wait(5)
    return result[0]


def _routing(driver, inner):
    nodes = {'5': base.OOBInfo('node05', '127.0.0.1', 623, 'admin', 's3cr3t'),
             '6': base.OOBInfo('node06', '127.0.0.1', 624, 'admin', 's3cr3t')}
    return oob.OOBRouting(inner, driver, nodes, node_methods.describe)


def test_power_tasks_reach_the_bmc_and_others_the_node():
    driver, inner = fake.FakeDriver(), _Inner()
    routing = _routing(driver, inner)
    try:
        assert _run(routing, '5', {'id': 'on', 'type': 'power_on'}) == (
            True, None, {'oob': 'power_on'})
        assert driver.get_power_state(routing.oob['5']) == 'on'
        assert _run(routing, '5', {'id': 'off', 'type': 'power_off'})[0]
        assert driver.get_power_state(routing.oob['5']) == 'off'
        assert _run(routing, '6', {'id': 'boot', 'type': 'reboot'})[0]
        assert driver.get_power_state(routing.oob['6']) == 'on'
        assert _run(routing, '5', {'id': 'cfg', 'type': 'shell'})[0]
        assert inner.started == [('5', 'cfg')]
    finally:
        routing.close()


def test_bmc_failures_name_the_node_never_the_password():
    store = fake.FakeStore(faults={'node05': exception.OOBAuthFailed(
        node='node05')})
    routing = _routing(fake.FakeDriver(store=store), _Inner())
    try:
        ok, message, _ = _run(routing, '5', {'id': 'r', 'type': 'reboot'})
        assert not ok and 'node05' in message and 's3cr3t' not in message
        ok, message, _ = _run(routing, '9', {'id': 'r', 'type': 'reboot'})
        assert not ok and 'node 9 has no OOB entry' in message
    finally:
        routing.close()


def test_needs_oob():
    assert oob.needs_oob({'5': [{'id': 'a', 'type': 'shell'},
                                {'id': 'b', 'type': 'reboot'}]})
    assert not oob.needs_oob({'5': [{'id': 'a', 'type': 'shell'}],
                              'null': [{'id': 's', 'type': 'stage'}]})
