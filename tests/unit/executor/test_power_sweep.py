"""The executor's power sweep with the fake driver: readings, drift,
correction only when asked and never on a held node."""

import types

from drydockd.common import exception
from drydockd.executor import power_sync
from drydockd.messaging import schemas
from drydockd.oob import base
from drydockd.oob import fake


def _sweep(store, nodes, force, batch=2):
    sent = []
    driver = fake.FakeDriver(store=store)
    infos = [base.OOBInfo(name=n['name'], address='127.0.0.1', account='a',
                          credential='secret') for n in nodes]
    methods = types.SimpleNamespace(
        driver=driver, resolve=lambda args: (nodes, infos, []))
    conf = types.SimpleNamespace(oob=types.SimpleNamespace(
        force_power_state=force, sync_workers=4))
    reporter = power_sync.SweepReporter(sent.append, batch)
    power_sync.run(conf, methods, {'args': {'nodes': nodes}}, reporter)
    for body in sent:
        schemas.validate_report(body)
    entries = {e['uid']: e for body in sent for e in body['args']['nodes']}
    return entries, sent


NODES = [{'uid': '1', 'name': 'n1', 'power_expected': 'on'},
         {'uid': '2', 'name': 'n2', 'power_expected': 'on', 'locked': True},
         {'uid': '3', 'name': 'n3', 'power_expected': None},
         {'uid': '4', 'name': 'n4', 'power_expected': 'off'},
         {'uid': '5', 'name': 'n5', 'power_expected': 'on'}]


def _store():
    store = fake.FakeStore(power={'n1': 'off', 'n2': 'off', 'n3': 'on',
                                  'n4': 'off', 'n5': 'off'})
    store.faults['n5'] = exception.OOBUnreachable(node='n5', tries=3)
    return store


def test_drift_is_only_reported_without_force():
    store = _store()
    entries, sent = _sweep(store, NODES, force=False)
    assert len(sent) == 3                   # batches of 2, then the rest
    assert entries['1'] == dict(entries['1'], power_read='off',
                                power_expected='on')
    assert 'power_restored' not in entries['1']
    assert 'power_expected' not in entries['2']     # held: no expectation
    assert 'power_expected' not in entries['3']     # never known
    assert 'power_expected' not in entries['4']     # as expected
    assert entries['5']['power_error'] == \
        'BMC of node n5 did not answer after 3 tries'
    assert store.power['n1'] == 'off'
    assert not [c for c in store.calls if c[0] == 'set_power_state']


def test_force_restores_free_nodes_only():
    store = _store()
    entries, _ = _sweep(store, NODES, force=True)
    assert entries['1']['power_restored'] is True
    assert store.power == dict(store.power, n1='on', n2='off')
    assert [c[1] for c in store.calls if c[0] == 'set_power_state'] == \
        ['n1']
