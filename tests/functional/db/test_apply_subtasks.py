"""Node actions' subtasks under apply_events: settle, wait for the agent,
vote the parent; and the result details each end leaves behind.

Runs on a migrated SQLite file and on PostgreSQL, like
test_apply_events.py.
"""

import datetime

from db_fixtures import empty_database  # noqa: F401 - fixture db
from db_fixtures import migrated_database  # noqa: F401 - fixture database
import pytest
from sqlalchemy import event as sa_event

from drydockd.common import events as ev
from drydockd.db import models

BASE = datetime.datetime(2026, 11, 22, 10, 0, 0)


def T(seconds):
    return BASE + datetime.timedelta(seconds=seconds)


def start(db, action='verify_nodes', node_status=None, node_ids=(5, 6)):
    db.sync_nodes([{'id': i, 'name': 'node%02d' % i} for i in node_ids])
    task = db.start_task({'action': action}, list(node_ids),
                         node_status=node_status, subtasks=True)
    task = db.get_task(task['id'])
    subs = {s['node_id']: s['uuid'] for s in task['subtasks']}
    return task, subs


def settled(task, sub, ok, message, at):
    return ev.SubtaskSettled(task['uuid'], sub, at, ok, message)


def nodes_by_id(db):
    return {n['id']: n for n in db.list_nodes()}


def test_subtasks_name_their_node_from_the_start(db):
    task, subs = start(db)
    for node_id, uuid in subs.items():
        sub = db.get_task(uuid)
        assert sub['node_filter'] == {
            'filter_set_type': 'intersection',
            'filter_set': [{'filter_type': 'intersection',
                            'node_names': ['node%02d' % node_id]}]}
        assert (sub['status'], sub['progress']) == ('queued', 0)


def test_settled_subtasks_end_the_parent_with_every_error_counted(db):
    task, subs = start(db)
    db.apply_events([
        ev.TaskStarted(task['uuid'], T(1)),
        settled(task, subs[5], True, 'power is on', T(2)),
        ev.NodeChanged(task['uuid'], 5, T(2), power_state='on')])
    assert db.get_task(task['id'])['progress'] == 50
    db.apply_events([
        settled(task, subs[6], False, 'BMC unreachable', T(3)),
        ev.NodeChanged(task['uuid'], 6, T(3), status='error',
                       error='BMC unreachable')])
    parent = db.get_task(task['id'], with_messages=True)
    assert (parent['status'], parent['result_status'],
            parent['result_message'], parent['progress']) == (
        'complete', 'partial_success', '1 of 2 nodes succeeded, 1 failed',
        100)
    assert [(m['message'], m['error'], m['context'])
            for m in parent['messages']] == [
        ('power is on', False, 'node05'),
        ('BMC unreachable', True, 'node06'),
        ('1 of 2 nodes succeeded, 1 failed', True, task['uuid'])]
    # errorCount: the node's error and the result, not the last alone.
    assert parent['result_error_count'] == 2
    for node_id, (result, errors) in {5: ('success', 0),
                                      6: ('failure', 1)}.items():
        sub = db.get_task(subs[node_id], with_messages=True)
        assert (sub['status'], sub['result_status'], sub['progress'],
                sub['result_error_count']) == ('complete', result, 100,
                                               errors)
        assert [m['context'] for m in sub['messages']] == [
            'node%02d' % node_id]
        assert sub['node_filter']['filter_set'][0]['node_names'] == [
            'node%02d' % node_id]
    nodes = nodes_by_id(db)
    assert (nodes[5]['power_state'], nodes[5]['reservation']) == ('on', None)
    assert (nodes[6]['status'], nodes[6]['error_msg']) == (
        'error', 'BMC unreachable')
    # Stamped when it failed, then again when the parent released it.
    assert nodes[6]['updated'] >= parent['time_end'] > T(3)


def test_a_node_that_fails_is_stamped(db):
    task, subs = start(db)
    db.apply_events([
        settled(task, subs[6], False, 'BMC unreachable', T(3)),
        ev.NodeChanged(task['uuid'], 6, T(3), status='error',
                       error='BMC unreachable')])
    node = nodes_by_id(db)[6]
    assert (node['status'], node['updated'], node['reservation']) == (
        'error', T(3), task['id'])


def test_settling_twice_changes_nothing(db):
    task, subs = start(db)
    batch = [settled(task, subs[5], True, 'ok', T(2)),
             settled(task, subs[6], False, 'no', T(3))]
    db.apply_events(batch)
    first = db.get_task(task['id'], with_messages=True)
    db.apply_events(batch)
    assert db.get_task(task['id'], with_messages=True) == first


def test_a_subtask_of_another_task_is_left_alone(db):
    task, subs = start(db, node_ids=(5,))
    other, _ = start(db, node_ids=(6,))
    db.apply_events([settled(other, subs[5], False, 'forged', T(2))])
    assert db.get_task(subs[5])['status'] == 'queued'
    assert db.get_task(task['id'])['status'] == 'requested'


def test_destroyed_node_returns_to_discover(db):
    task, subs = start(db, 'destroy_nodes', 'removing', node_ids=(5,))
    db.apply_events([
        settled(task, subs[5], True, 'powered off', T(2)),
        ev.NodeChanged(task['uuid'], 5, T(2), status='discover',
                       power_state='off')])
    node = nodes_by_id(db)[5]
    assert (node['status'], node['power_state'], node['reservation']) == (
        'discover', 'off', None)


@pytest.mark.parametrize('agent_first', [False, True])
def test_provisioning_waits_for_the_node_agent(db, agent_first):
    task, subs = start(db, 'provision_nodes', 'provisioning', node_ids=(5,))
    waiting = [ev.SubtaskAwaitingAgent(task['uuid'], subs[5], T(2), T(600),
                                       'PXE boot set; waiting'),
               ev.NodeChanged(task['uuid'], 5, T(2), 'provisioning', 50,
                              power_state='on')]
    agent = [ev.NodeProvisioned(5, T(30))]
    for batch in (agent, waiting) if agent_first else (waiting, agent):
        db.apply_events(batch)
        if batch is waiting and not agent_first:
            sub = db.get_task(subs[5])
            assert (sub['status'], sub['deadline']) == ('running', T(600))
    sub = db.get_task(subs[5], with_messages=True)
    assert (sub['status'], sub['result_status'], sub['progress']) == (
        'complete', 'success', 100)
    assert sub['messages'][0]['message'] == 'node node05 reported provisioned'
    node = nodes_by_id(db)[5]
    # A late 'provisioning' never takes the node back.
    assert (node['status'], node['progress'], node['reservation']) == (
        'provisioned', 100, None)
    parent = db.get_task(task['id'])
    assert (parent['status'], parent['result_status']) == ('complete',
                                                           'success')


def test_an_executor_failure_settles_every_subtask(db):
    task, subs = start(db)
    db.apply_events([settled(task, subs[5], True, 'ok', T(2)),
                     ev.TaskEnded(task['uuid'], T(3), True,
                                  reason='design not found')])
    assert db.get_task(subs[6])['result_message'] == 'design not found'
    parent = db.get_task(task['id'], with_messages=True)
    assert (parent['status'], parent['result_status']) == (
        'complete', 'partial_success')
    assert parent['result_error_count'] == sum(
        m['error'] for m in parent['messages']) == 2


def test_an_end_without_a_reason_leaves_the_subtasks_to_decide(db):
    task, subs = start(db)
    db.apply_events([settled(task, subs[5], True, 'ok', T(2)),
                     ev.TaskEnded(task['uuid'], T(3), True)])
    assert db.get_task(subs[6])['status'] == 'queued'
    assert db.get_task(task['id'])['status'] == 'requested'


def test_a_batch_counts_a_parents_subtasks_without_loading_them(db):
    """Settling a few subtasks of a large action loads those few, not
    every subtask of the parent: a batch's cost must not grow with the
    action's size (the receiver's verify_nodes was quadratic)."""
    task, subs = start(db, node_ids=range(1, 301))
    loaded = []

    def on_load(target, context):
        loaded.append(target.uuid)

    sa_event.listen(models.Task, 'load', on_load)
    try:
        db.apply_events([settled(task, subs[i], True, 'ok', T(1))
                         for i in (1, 2)])
    finally:
        sa_event.remove(models.Task, 'load', on_load)
    assert sorted(loaded) == sorted([task['uuid'], subs[1], subs[2]])
    assert db.get_task(task['id'])['progress'] == 0     # 2 of 300
    db.apply_events([settled(task, subs[i], i % 100 != 0, 'ok', T(2))
                     for i in range(3, 301)])
    parent = db.get_task(task['id'])
    assert (parent['status'], parent['result_status'],
            parent['result_message'], parent['progress']) == (
        'complete', 'partial_success', '297 of 300 nodes succeeded, '
        '3 failed', 100)
