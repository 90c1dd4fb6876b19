"""The leader's power-sync requests and schedule."""

from drydockd.manager import power_sync
from drydockd.messaging import schemas


def test_one_request_per_design_with_expectations_and_locks():
    nodes = [
        {'id': 1, 'name': 'a', 'oob_address': '10.0.0.1', 'design_ref':
         'file:///s1', 'power_state': 'on', 'reservation': None},
        {'id': 2, 'name': 'b', 'oob_address': 'https://bmc', 'design_ref':
         'file:///s1', 'power_state': None, 'reservation': 7},
        {'id': 3, 'name': 'c', 'oob_address': '10.0.0.3', 'design_ref':
         'file:///s2', 'power_state': 'off', 'reservation': None},
        {'id': 4, 'name': 'd', 'oob_address': None, 'design_ref':
         'file:///s2', 'power_state': 'off', 'reservation': None},
    ]
    messages = power_sync.requests(nodes)
    for message in messages:
        schemas.validate_request(message)
        assert message['method'] == 'sync_power'
    by_ref = {m['args']['design_ref']: m['args']['nodes'] for m in messages}
    assert by_ref == {
        'file:///s1': [{'uid': '1', 'name': 'a', 'power_expected': 'on',
                        'locked': False},
                       {'uid': '2', 'name': 'b', 'power_expected': None,
                        'locked': True}],
        'file:///s2': [{'uid': '3', 'name': 'c', 'power_expected': 'off',
                        'locked': False}]}


def test_schedule_waits_one_interval_and_restarts_with_leadership():
    now = [100.0]
    schedule = power_sync.Schedule(10, clock=lambda: now[0])
    assert not schedule.ready()
    now[0] = 109
    assert not schedule.ready()
    now[0] = 110
    assert schedule.ready()
    assert not schedule.ready()
    schedule.lost()
    now[0] = 200
    assert not schedule.ready()
    assert not power_sync.Schedule(0).ready()

