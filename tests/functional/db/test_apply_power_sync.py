"""Power-sync events applied to nodes (PowerRead, PowerDrift), on a
migrated SQLite file and on PostgreSQL."""

import datetime

from db_fixtures import empty_database  # noqa: F401 - fixture db
from db_fixtures import migrated_database  # noqa: F401 - fixture database

from drydockd.common import events as ev

BASE = datetime.datetime(2026, 11, 30, 10, 0, 0)


def T(seconds):
    return BASE + datetime.timedelta(seconds=seconds)


def _nodes(db, *ids):
    db.sync_nodes([{'id': i, 'name': 'node%02d' % i} for i in ids])


def test_readings_move_forward_and_fill_an_unknown_state(db):
    _nodes(db, 1)
    db.apply_events([ev.PowerRead(1, T(10), 'on')])
    node = db.get_node(1)
    assert (node['power_read'], node['power_read_at']) == ('on', T(10))
    assert node['power_state'] == 'on'      # drydock knew nothing yet
    db.apply_events([ev.PowerRead(1, T(5), 'off'),        # an older sweep
                     ev.PowerRead(1, T(20), None, 'no answer')])
    node = db.get_node(1)
    assert (node['power_read'], node['power_read_at']) == ('on', T(10))
    assert node['power_drift'] is None


def test_drift_recorded_adopted_or_restored(db):
    _nodes(db, 1, 2, 3)
    db.apply_events([ev.PowerRead(n, T(1), 'on') for n in (1, 2, 3)])
    db.apply_events([
        ev.PowerRead(1, T(2), 'off'), ev.PowerDrift(1, T(2), 'on', 'off'),
        ev.PowerRead(2, T(2), 'off'),
        ev.PowerDrift(2, T(2), 'on', 'off', True),
        ev.PowerRead(3, T(2), 'off'),
        ev.PowerDrift(3, T(2), 'on', 'off', False, 'BMC of node03 did '
                                                   'not answer')])
    one, two, three = (db.get_node(n) for n in (1, 2, 3))
    assert one['power_drift'] == \
        "found off, expected on: taken as the node's state"
    assert (one['power_state'], one['power_drift_at']) == ('off', T(2))
    assert two['power_drift'] == 'found off, expected on: powered on again'
    assert two['power_state'] == 'on'
    assert three['power_drift'] == ('found off, expected on: could not '
                                    'power on again (BMC of node03 did '
                                    'not answer)')
    assert three['power_state'] == 'off'
    # The same drift again (a replay) changes nothing.
    db.apply_events([ev.PowerDrift(2, T(2), 'on', 'off', None)])
    assert db.get_node(2)['power_drift'].endswith('powered on again')


def test_no_drift_for_a_held_node_or_a_changed_expectation(db):
    _nodes(db, 5, 6)
    task = db.start_task({'action': 'power_nodes'}, [5])
    db.apply_events([ev.PowerRead(5, T(1), 'on'),
                     ev.PowerRead(6, T(1), 'on')])
    assert db.get_node(5)['power_state'] is None    # held: not filled in
    db.apply_events([ev.PowerRead(5, T(2), 'off'),
                     ev.PowerDrift(5, T(2), 'on', 'off'),
                     # the sweep expected off; drydock expects on now
                     ev.PowerDrift(6, T(2), 'off', 'on')])
    held, moved = db.get_node(5), db.get_node(6)
    assert held['reservation'] == task['id']
    assert (held['power_read'], held['power_drift']) == ('off', None)
    assert (moved['power_state'], moved['power_drift']) == ('on', None)
