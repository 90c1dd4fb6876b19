"""The boot service's agent events under apply_events: which nodes have
agent work, inventories, and agents ending their nodes' parts.

Runs on a migrated SQLite file and on PostgreSQL, like
test_apply_subtasks.py.
"""

import datetime

from db_fixtures import empty_database  # noqa: F401 - fixture db
from db_fixtures import migrated_database  # noqa: F401 - fixture database

from drydockd.common import events as ev

BASE = datetime.datetime(2026, 11, 30, 10, 0, 0)
INVENTORY = {'cpus': 1, 'memory_mb': 256,
             'disks': [{'name': 'vda', 'size_bytes': 1 << 30}],
             'nics': [{'name': 'eth0', 'mac': '52:54:00:00:00:05'}]}
STEPS = ('boot', 'inspect', 'write_image', 'reboot', 'first_boot')


def T(seconds):
    return BASE + datetime.timedelta(seconds=seconds)


def start(db, action='provision_nodes', node_ids=(5, 6)):
    db.sync_nodes([{'id': i, 'name': 'node%02d' % i} for i in node_ids],
                  'file:///site.yaml')
    task = db.start_task(
        {'action': action, 'design_ref': 'file:///site.yaml'},
        list(node_ids), node_status='provisioning', subtasks=True,
        history=[(str(i), s) for i in node_ids for s in STEPS])
    return db.get_task(task['id'])


def test_agent_work_lists_held_nodes_until_their_part_ends(db):
    assert db.list_agent_work() == []
    task = start(db)
    work = db.list_agent_work()
    assert [(w['node_id'], w['node_name'], w['task'], w['action'],
             w['design_ref']) for w in work] == [
        (5, 'node05', task['uuid'], 'provision_nodes', 'file:///site.yaml'),
        (6, 'node06', task['uuid'], 'provision_nodes', 'file:///site.yaml')]
    db.apply_events([ev.AgentFinished(task['uuid'], 5, T(5), False,
                                      'node node05: disk too small')])
    assert [w['node_id'] for w in db.list_agent_work()] == [6]


def test_inventory_is_kept_per_node(db):
    task = start(db, node_ids=(5,))
    db.apply_events([ev.NodeInventoried(task['uuid'], 5, T(3), INVENTORY)])
    node = db.get_node(5)
    assert node['inventory'] == dict(INVENTORY,
                                     inventoried_at='2026-11-30T10:00:03.000000Z')


def test_agent_results_settle_subtasks_and_vote(db):
    task = start(db)
    subs = {s['node_id']: s['uuid'] for s in task['subtasks']}
    db.apply_events([
        ev.GraphTaskChanged(task['uuid'], '5', 'boot', 'ready', T(20),
                            started_at=T(1)),
        ev.GraphTaskChanged(task['uuid'], '5', 'first_boot', 'ready', T(90),
                            started_at=T(90)),
        ev.NodeChanged(task['uuid'], 5, T(90), 'provisioned', 100),
        ev.AgentFinished(task['uuid'], 5, T(90), True,
                         'node node05: deployed system booted'),
        ev.AgentFinished(task['uuid'], 6, T(40), False,
                         'node node06: image checksum mismatch')])
    parent = db.get_task(task['id'], with_messages=True)
    assert (parent['status'], parent['result_status']) == (
        'complete', 'partial_success')
    assert db.get_task(subs[5])['result_status'] == 'success'
    failed = db.get_task(subs[6])
    assert (failed['result_status'], failed['result_message']) == (
        'failure', 'node node06: image checksum mismatch')
    nodes = {n['id']: n for n in db.list_nodes()}
    assert (nodes[5]['status'], nodes[5]['progress']) == ('provisioned',
                                                          100)
    assert (nodes[6]['status'], nodes[6]['error_msg']) == (
        'error', 'node node06: image checksum mismatch')
    rows = {(r['node_id'], r['task_name']): r
            for r in db.get_history(task['id'])}
    assert rows[('5', 'boot')]['status'] == 'ready'
    assert rows[('5', 'boot')]['time_start'] == T(1)
    # Steps an agent never reported: skipped, with why.
    assert rows[('5', 'inspect')]['status'] == 'skipped'
    assert rows[('6', 'boot')]['status'] == 'skipped'
    assert rows[('6', 'boot')]['custom'] == {
        'error_msg': 'node node06: image checksum mismatch'}
    # A repeated result changes nothing.
    db.apply_events([ev.AgentFinished(task['uuid'], 6, T(41), True, 'x')])
    assert db.get_task(subs[6])['result_status'] == 'failure'


def test_provisioned_reports_skip_each_nodes_unreported_steps(db):
    """Simulated agents' ``provisioned`` (no steps), several in a batch:
    each node's pending steps end skipped at its own report's time; a
    step already reported keeps its status, another task's rows theirs."""
    other = start(db, action='inspect_nodes', node_ids=(7,))
    task = start(db, node_ids=(5, 6))
    db.apply_events([ev.SubtaskAwaitingAgent(
        task['uuid'], sub['uuid'], T(2), T(600), 'power cycled')
        for sub in task['subtasks']] + [ev.GraphTaskChanged(
            task['uuid'], '5', 'boot', 'ready', T(20), started_at=T(3))])
    db.apply_events([ev.NodeProvisioned(5, T(30)),
                     ev.NodeProvisioned(6, T(40))])
    rows = {(r['node_id'], r['task_name']): r
            for r in db.get_history(task['id'])}
    assert rows[('5', 'boot')]['status'] == 'ready'
    for (node, step), row in rows.items():
        if (node, step) == ('5', 'boot'):
            continue
        when = T(30) if node == '5' else T(40)
        assert (row['status'], row['time_start'], row['time_end'],
                row['custom']) == (
            'skipped', when, when,
            {'error_msg': 'not reported by the node agent'}), (node, step)
    assert {r['status'] for r in db.get_history(other['id'])} == {'pending'}
    assert db.get_task(task['id'])['result_status'] == 'success'


def test_a_wipe_returns_the_node_to_discover_powered_off(db):
    db.sync_nodes([{'id': 5, 'name': 'node05'}], 'file:///site.yaml')
    task = db.get_task(db.start_task(
        {'action': 'destroy_nodes', 'design_ref': 'file:///site.yaml'},
        [5], node_status='removing', subtasks=True,
        history=[('5', s) for s in ('boot', 'inspect', 'wipe')])['id'])
    [sub] = task['subtasks']
    [work] = db.list_agent_work()
    assert (work['action'], work['since']) == ('destroy_nodes', None)
    # The executor power-cycled the node: the boot service's clock starts.
    db.apply_events([ev.SubtaskAwaitingAgent(
        task['uuid'], sub['uuid'], T(5), T(1800), 'power cycled')])
    assert db.list_agent_work()[0]['since'] == T(5)
    # The fake BMC's "provisioned" after a network boot ends no wipe.
    db.apply_events([ev.NodeProvisioned(5, T(10))])
    assert db.get_task(sub['uuid'])['status'] != 'complete'
    assert db.get_node(5)['status'] == 'removing'
    db.apply_events([
        ev.GraphTaskChanged(task['uuid'], '5', 'wipe', 'ready', T(30),
                            started_at=T(20)),
        ev.AgentFinished(task['uuid'], 5, T(31), True,
                         'node node05: disks wiped, powering off')])
    node = db.get_node(5)
    assert (node['status'], node['power_state']) == ('discover', 'off')
    assert db.get_task(task['id'])['result_status'] == 'success'
    assert db.list_agent_work() == []
