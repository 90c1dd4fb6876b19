"""Applying events to tasks, nodes and deployment history (apply_events).

Runs on a migrated SQLite file and on PostgreSQL. Events are built
directly (``drydockd.common.events``); how the receiver makes them from
reports is tests/unit/receiver/test_translate.py. A "report" here is the
list of events one report gives.
"""

import datetime
import uuid

import conftest
from db_fixtures import empty_database  # noqa: F401 - fixture db
from db_fixtures import migrated_database  # noqa: F401 - fixture database
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from drydockd.common import events as ev
from drydockd.db import models

H = models.DeploymentHistory.__table__
BASE = datetime.datetime(2026, 11, 22, 10, 0, 0, 123456)
RECEIVED = BASE + datetime.timedelta(minutes=5)
A, B = '5', '10'          # two real nodes: 5 sorts before 10
NAMES = ['hiera', 'netconfig', 'upload_repos', 'pre_deployment_end']
HISTORY = [(A, 'hiera'), (B, 'hiera'), (A, 'netconfig'), (B, 'netconfig'),
           ('master', 'upload_repos'), (None, 'pre_deployment_end')]


def T(seconds):
    return BASE + datetime.timedelta(seconds=seconds)


# -- helpers ------------------------------------------------------------------

def start(db, history=HISTORY, node_ids=(5, 10), action='deploy_nodes',
          node_status='deploying', subtasks=False):
    db.sync_nodes([{'id': i, 'name': 'node%02d' % i, 'roles': ['compute']}
                   for i in node_ids])
    return db.start_task(
        {'action': action,
         'graph': {'tasks_graph': {}, 'task_names': NAMES}},
        list(node_ids), history, node_status=node_status,
        subtasks=subtasks)


def report(task, *events, progress=None, at=RECEIVED):
    """One report's events: the heartbeat, then ``events``."""
    return [ev.TaskReported(task['uuid'], at, progress)] + list(events)


def started(task, at=RECEIVED):
    return ev.TaskStarted(task['uuid'], at)


def ended(task, failed=False, stopped=False, reason=None, outcomes=(),
          at=RECEIVED):
    return ev.TaskEnded(task['uuid'], at, failed, stopped, reason,
                        tuple(outcomes))


def graph(task, uid, name, status, when, time_start=None, **extra):
    return ev.GraphTaskChanged(task['uuid'], uid, name, status, when,
                               time_start, **extra)


def node(task, uid, status=None, progress=None, when=None, **extra):
    return ev.NodeChanged(task['uuid'], int(uid), when or T(0), status,
                          progress, **extra)


def history(db, task_id):
    """{(node_id, name): row} with every column but the surrogate keys."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(H).where(H.c.task_id == task_id))
        return {(r.node_id, r.deployment_graph_task_name): {
            'status': r.status, 'time_start': r.time_start,
            'time_end': r.time_end, 'custom': r.custom,
            'summary': r.summary} for r in rows}


def snapshot(db, task_id):
    """Everything an event can touch: task, history, nodes, messages."""
    with db.engine.connect() as conn:
        task = dict(conn.execute(sa.select(models.Task.__table__).where(
            models.Task.id == task_id)).mappings().one())
        nodes = [dict(r) for r in conn.execute(
            sa.select(models.Node.__table__).order_by(models.Node.id))
            .mappings()]
        messages = [dict(r) for r in conn.execute(
            sa.select(models.ResultMessage.__table__)
            .where(models.ResultMessage.task_id == task_id)
            .order_by(models.ResultMessage.sequence)).mappings()]
    return {'task': task, 'history': history(db, task_id), 'nodes': nodes,
            'messages': messages}


def run_reports(task):
    """A whole deploy of nodes 5 and 10, as the executor reports it:
    hiera fails on node 10, so its netconfig fails as dep_failed."""
    return [
        report(task, started(task), progress=0),
        report(task, node(task, A, 'deploying', 0, T(1)),
               node(task, B, 'deploying', 0, T(1)),
               graph(task, A, 'hiera', 'running', T(1)),
               graph(task, B, 'hiera', 'running', T(1)),
               graph(task, 'master', 'upload_repos', 'running', T(1)),
               progress=0),
        report(task,
               graph(task, A, 'hiera', 'ready', T(2), T(1),
                     summary={'lines': 3}),
               node(task, A, progress=50, when=T(2)),
               graph(task, B, 'hiera', 'error', T(2), T(1), error='boom'),
               node(task, B, progress=50, when=T(2)),
               graph(task, B, 'netconfig', 'error', T(2), T(2),
                     error='dependency hiera on node 10 failed'),
               node(task, B, progress=100, when=T(2)),
               graph(task, 'master', 'upload_repos', 'ready', T(2), T(1),
                     custom={'k': 'v'}),
               progress=40),
        report(task, graph(task, None, 'pre_deployment_end', 'ready', T(3),
                           T(3)),
               graph(task, A, 'netconfig', 'running', T(3)), progress=70),
        report(task, graph(task, A, 'netconfig', 'ready', T(4), T(3)),
               node(task, A, progress=100, when=T(4)),
               node(task, A, 'ready', 100, T(4)),
               node(task, B, 'error', 100, T(4)),
               ended(task, failed=True, outcomes=[(5, True), (10, False)]),
               progress=100),
    ]


RUN_RESULT = {
    (A, 'hiera'): ('ready', T(1), T(2)),
    (B, 'hiera'): ('error', T(1), T(2)),
    (A, 'netconfig'): ('ready', T(3), T(4)),
    (B, 'netconfig'): ('error', T(2), T(2)),
    ('master', 'upload_repos'): ('ready', T(1), T(2)),
    (None, 'pre_deployment_end'): ('ready', T(3), T(3)),
}


def statuses(rows):
    return {k: (r['status'], r['time_start'], r['time_end'])
            for k, r in rows.items()}


def nodes_by_id(db):
    return {n['id']: n for n in db.list_nodes()}


def apply_each(db, reports):
    for events in reports:
        db.apply_events(events)


# -- start_task ---------------------------------------------------------------

def test_start_task_writes_pending_rows_and_reserves(db):
    task = start(db)
    rows = history(db, task['id'])
    assert set(rows) == set(HISTORY)
    assert {r['status'] for r in rows.values()} == {'pending'}
    assert all(r['time_start'] is None and r['time_end'] is None
               for r in rows.values())
    assert task['status'] == 'requested'
    assert {n['id']: (n['reservation'], n['status'])
            for n in db.list_nodes()} == {
        5: (task['id'], 'deploying'), 10: (task['id'], 'deploying')}


# -- the transition table -----------------------------------------------------

# How to bring a row into each "from" state.
PREPARE = {
    'pending': [],
    'running': [('running', T(1), None)],
    'ready': [('running', T(1), None), ('ready', T(2), T(1))],
    'error': [('running', T(1), None), ('error', T(2), T(1))],
    'skipped': [('skipped', T(1), T(1))],
}
# The event under test: at T(5); terminal ones carry time_start T(4).
EVENT = {'running': None, 'ready': T(4), 'error': T(4), 'skipped': None}
BEFORE = {'pending': ('pending', None, None),
          'running': ('running', T(1), None),
          'ready': ('ready', T(1), T(2)),
          'error': ('error', T(1), T(2)),
          'skipped': ('skipped', T(1), T(1))}
AFTER = {
    ('pending', 'running'): ('running', T(5), None),
    ('pending', 'ready'): ('ready', T(4), T(5)),
    ('pending', 'error'): ('error', T(4), T(5)),
    ('pending', 'skipped'): ('skipped', T(5), T(5)),
    ('running', 'ready'): ('ready', T(1), T(5)),
    ('running', 'error'): ('error', T(1), T(5)),
}


def test_transition_table(db):
    """Every cell of DESIGN's table, on a real node and the sync node."""
    cells = [(f, t) for f in PREPARE for t in EVENT]
    rows = [(uid, '%s->%s' % cell) for cell in cells for uid in (A, None)]
    task = start(db, rows)
    for uid, name in rows:
        for status, when, time_start in PREPARE[name.split('->')[0]]:
            db.apply_events([graph(task, uid, name, status, when,
                                   time_start)])
    before = statuses(history(db, task['id']))
    assert before == {(uid, name): BEFORE[name.split('->')[0]]
                      for uid, name in rows}

    counts = db.apply_events([
        graph(task, uid, name, name.split('->')[1], T(5),
              EVENT[name.split('->')[1]]) for uid, name in rows])

    after = statuses(history(db, task['id']))
    for uid, name in rows:
        cell = tuple(name.split('->'))
        expected = AFTER.get(cell, BEFORE[cell[0]])
        assert after[(uid, name)] == expected, (uid, cell)
    assert counts['applied'] == 2 * len(AFTER)
    assert counts['rejected'] == len(rows) - 2 * len(AFTER)
    assert counts['unknown_task'] == 0


def test_terminal_without_time_start_sets_both_times(db):
    task = start(db, [(A, 'hiera')])
    db.apply_events([graph(task, A, 'hiera', 'ready', T(7))])
    assert statuses(history(db, task['id'])) == {
        (A, 'hiera'): ('ready', T(7), T(7))}


def test_error_message_and_custom_summary_merge_in(db):
    task = start(db, [(A, 'hiera'), (B, 'hiera')])
    db.apply_events([
        graph(task, A, 'hiera', 'running', T(1), custom={'a': 1}),
        graph(task, B, 'hiera', 'error', T(2), T(1), error='exit 3',
              summary={'x': 1})])
    db.apply_events([
        graph(task, A, 'hiera', 'ready', T(2), T(1), custom={'b': 2},
              summary={'s': 1}),
        graph(task, B, 'hiera', 'error', T(2), T(1), summary={'y': 2})])
    rows = history(db, task['id'])
    assert rows[(A, 'hiera')]['custom'] == {'a': 1, 'b': 2}
    assert rows[(A, 'hiera')]['summary'] == {'s': 1}
    assert rows[(B, 'hiera')]['custom'] == {'error_msg': 'exit 3'}
    assert rows[(B, 'hiera')]['summary'] == {'x': 1, 'y': 2}
    assert rows[(B, 'hiera')]['status'] == 'error'


# -- order and duplicates -----------------------------------------------------

def test_whole_run_in_order(db):
    task = start(db)
    apply_each(db, run_reports(task))
    rows = history(db, task['id'])
    assert statuses(rows) == RUN_RESULT
    assert rows[(A, 'hiera')]['summary'] == {'lines': 3}
    assert rows[(B, 'hiera')]['custom'] == {'error_msg': 'boom'}
    assert rows[('master', 'upload_repos')]['custom'] == {'k': 'v'}
    done = db.get_task(task['id'])
    assert (done['status'], done['result_status'], done['progress']) == (
        'complete', 'partial_success', 100)
    assert done['result_message'] == '1 of 2 nodes succeeded, 1 failed'


@pytest.mark.parametrize('split', [False, True])
def test_same_batch_twice_is_idempotent(db, split):
    task = start(db)
    reports = run_reports(task)
    batches = [reports[:3], reports[3:]] if split else [reports]
    for batch in batches:
        events = [e for r in batch for e in r]
        db.apply_events(events)
        first = snapshot(db, task['id'])
        counts = db.apply_events(events)
        assert snapshot(db, task['id']) == first
        assert counts['applied'] == 0
    assert statuses(history(db, task['id'])) == RUN_RESULT


def test_terminal_overtaking_its_running_gives_the_in_order_row(db):
    in_order = start(db, [(A, 'hiera')], node_ids=())
    overtaken = start(db, [(A, 'hiera')], node_ids=())
    for task, order in ((in_order, 1), (overtaken, -1)):
        events = [graph(task, A, 'hiera', 'running', T(1)),
                  graph(task, A, 'hiera', 'ready', T(2), T(1),
                        summary={'n': 1})][::order]
        for event in events:
            db.apply_events([event])
    expected = history(db, in_order['id'])
    assert expected[(A, 'hiera')]['time_start'] == T(1)
    assert history(db, overtaken['id']) == expected


def test_running_and_terminal_in_one_batch_either_order(db):
    in_order = start(db, [(A, 'hiera')], node_ids=())
    reverse = start(db, [(A, 'hiera')], node_ids=())
    for task, order in ((in_order, 1), (reverse, -1)):
        db.apply_events([graph(task, A, 'hiera', 'running', T(1)),
                         graph(task, A, 'hiera', 'ready', T(2), T(1))
                         ][::order])
    assert history(db, in_order['id']) == history(db, reverse['id'])


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_shuffled_replay_gives_the_in_order_rows(db, data):
    """All reports of a run, each twice, shuffled and cut into batches."""
    reference = start(db, node_ids=())
    apply_each(db, run_reports(reference))
    expected = history(db, reference['id'])

    fresh = start(db, node_ids=())
    replay = run_reports(fresh) * 2
    order = data.draw(st.permutations(range(len(replay))), label='order')
    cuts = sorted(data.draw(st.sets(st.integers(1, len(replay) - 1),
                                    max_size=4), label='cuts'))
    shuffled = [replay[i] for i in order]
    for lo, hi in zip([0] + cuts, cuts + [len(replay)]):
        db.apply_events([e for r in shuffled[lo:hi] for e in r])
    assert history(db, fresh['id']) == expected
    assert db.get_task(fresh['id'])['status'] == 'complete'


def test_late_running_after_terminal_changes_nothing(db):
    task = start(db)
    apply_each(db, run_reports(task))
    before = snapshot(db, task['id'])
    late = RECEIVED + datetime.timedelta(minutes=1)
    db.apply_events(report(task, started(task, late), progress=0, at=late)
                    + report(task,
                             graph(task, A, 'hiera', 'running', T(8)),
                             graph(task, B, 'netconfig', 'running', T(8)),
                             graph(task, None, 'pre_deployment_end',
                                   'running', T(8)),
                             graph(task, 'master', 'upload_repos',
                                   'running', T(8)), at=late))
    after = snapshot(db, task['id'])
    assert after['history'] == before['history']
    assert after['messages'] == before['messages']
    for key in ('status', 'result_status', 'result_message', 'progress',
                'time_start', 'time_end', 'result_error_count'):
        assert after['task'][key] == before['task'][key], key


# -- task status --------------------------------------------------------------

def test_task_status_and_progress_never_go_backwards(db):
    task = start(db, [(A, 'hiera')])
    db.update_task(task['id'], status='queued')
    db.apply_events(report(task, started(task, T(1)), progress=60,
                           at=T(1)))
    got = db.get_task(task['id'])
    assert (got['status'], got['progress'], got['time_start']) == (
        'running', 60, T(1))
    # Lower progress, a second start, both in one batch and alone.
    db.apply_events(report(task, progress=30, at=T(2))
                    + report(task, started(task, T(2)), progress=10,
                             at=T(2)))
    db.apply_events(report(task, progress=0, at=T(3)))
    got = db.get_task(task['id'])
    assert (got['status'], got['progress'], got['time_start']) == (
        'running', 60, T(1))
    assert got['heartbeat'] == T(3)
    db.update_task(task['id'], status='queued')
    assert db.get_task(task['id'])['status'] == 'running'


def test_task_progress_within_one_batch_keeps_the_highest(db):
    task = start(db, [(A, 'hiera')])
    db.apply_events([e for p in (10, 70, 40, 0)
                     for e in report(task, progress=p)])
    assert db.get_task(task['id'])['progress'] == 70


def test_executor_host_is_recorded(db):
    task = start(db, [(A, 'hiera')])
    db.apply_events([ev.TaskReported(task['uuid'], T(1), None, 'master-1')])
    assert db.get_task(task['id'])['executor_host'] == 'master-1'


# -- node status: one rule ----------------------------------------------------

def test_node_status_moves_forward_only(db):
    task = start(db, [(A, 'hiera')], node_ids=(5, 10))
    db.apply_events([node(task, A, 'ready', 100),
                     node(task, B, 'deploying', 50)])
    db.apply_events([node(task, A, 'deploying', 10),
                     node(task, A, 'provisioned'),
                     node(task, B, 'provisioning', 20)])
    nodes = nodes_by_id(db)
    assert (nodes[5]['status'], nodes[5]['progress']) == ('ready', 100)
    assert (nodes[10]['status'], nodes[10]['progress']) == ('deploying', 50)
    db.apply_events([node(task, B, 'error'), node(task, B, 'ready', 100)])
    assert nodes_by_id(db)[10]['status'] == 'error'


def test_node_error_message_and_time_are_recorded(db):
    task = start(db, [(A, 'hiera')], node_ids=(5,))
    db.apply_events([node(task, A, 'error', when=T(9),
                          error='disk on fire')])
    got = nodes_by_id(db)[5]
    assert (got['status'], got['error_msg'], got['updated']) == (
        'error', 'disk on fire', T(9))


def test_replayed_report_of_an_old_task_leaves_the_node_alone(db):
    # A report changes a node only while its task holds the node: task 1
    # ends with node 5 ready and node 10 in error; task 2 takes both; a
    # redelivered copy of task 1's final report must leave them alone.
    old = start(db, [(A, 'hiera'), (B, 'hiera')])
    final = report(old, graph(old, A, 'hiera', 'ready', T(2), T(1)),
                   graph(old, B, 'hiera', 'error', T(2), T(1)),
                   node(old, A, 'ready', 100, T(2)),
                   node(old, B, 'error', 100, T(2), error='hiera failed'),
                   ended(old, failed=True, outcomes=[(5, True),
                                                     (10, False)]),
                   progress=100)
    db.apply_events(final)
    assert db.get_task(old['id'])['status'] == 'complete'
    new = start(db, [(A, 'hiera'), (B, 'hiera')])
    fresh = nodes_by_id(db)
    assert fresh[10]['status'] == 'deploying'
    assert fresh[10]['reservation'] == new['id']

    db.apply_events(final)      # redelivered
    after = nodes_by_id(db)
    for nid in (5, 10):
        for key in ('status', 'progress', 'error_msg', 'reservation',
                    'updated'):
            assert after[nid][key] == fresh[nid][key], (nid, key)


def test_stopped_deployment_leaves_a_failed_node_failed(db):
    """The end of a stopped task moves its nodes by the same rule: a
    halted node becomes 'stopped', a failed one stays 'error'."""
    task = start(db, [(A, 'hiera'), (B, 'hiera')])
    db.apply_events(report(task, started(task, T(1)),
                           node(task, B, 'error', when=T(2),
                                error='hiera failed'),
                           graph(task, B, 'hiera', 'error', T(2), T(1))))
    db.apply_events(report(task, ended(task, stopped=True, at=T(3))))
    nodes = nodes_by_id(db)
    assert (nodes[5]['status'], nodes[5]['reservation']) == ('stopped', None)
    assert (nodes[10]['status'], nodes[10]['error_msg']) == (
        'error', 'hiera failed')
    assert nodes[5]['updated'] == T(3)


def test_abnormal_end_fails_nodes_and_stamps_them(db):
    task = start(db, [(A, 'hiera')], node_ids=(5,))
    db.apply_events(report(task, ended(task, failed=True, at=T(6),
                                       reason='executor lost the graph')))
    got = nodes_by_id(db)[5]
    assert (got['status'], got['error_msg'], got['updated'],
            got['reservation']) == ('error', 'executor lost the graph',
                                    T(6), None)


# -- the end of a deployment --------------------------------------------------

@pytest.mark.parametrize('outcomes,failed,expected', [
    (('ready', 'ready'), False, 'success'),
    (('ready', 'error'), True, 'partial_success'),
    (('error', 'ready'), False, 'partial_success'),
    (('error', 'error'), True, 'failure'),
    # The executor says error although every node is fine.
    (('ready', 'ready'), True, 'failure'),
])
def test_end_votes_and_releases_nodes(db, outcomes, failed, expected):
    task = start(db, [(A, 'hiera'), (B, 'hiera')])
    db.apply_events(report(task, started(task), progress=0))
    db.apply_events(report(
        task, graph(task, A, 'hiera', outcomes[0], T(2), T(1)),
        graph(task, B, 'hiera', outcomes[1], T(2), T(1)),
        node(task, A, outcomes[0], 100), node(task, B, outcomes[1], 100),
        ended(task, failed, outcomes=[(5, outcomes[0] == 'ready'),
                                      (10, outcomes[1] == 'ready')]),
        progress=100))
    done = db.get_task(task['id'], with_messages=True)
    assert done['status'] == 'complete'
    assert done['result_status'] == expected
    assert done['progress'] == 100
    assert done['time_end'] == RECEIVED
    assert done['messages'][-1]['error'] == (expected != 'success')
    nodes = nodes_by_id(db)
    assert [nodes[5]['reservation'], nodes[10]['reservation']] == [None, None]
    assert [nodes[5]['status'], nodes[10]['status']] == list(outcomes)
    # The nodes are free for the next task.
    assert start(db, [(A, 'x')])['status'] == 'requested'


def test_task_level_error_ends_unfinished_rows(db):
    """The executor gave up (no per-node outcome): nothing stays open."""
    task = start(db)
    db.apply_events(report(task, started(task),
                           graph(task, A, 'hiera', 'running', T(1)),
                           graph(task, B, 'hiera', 'ready', T(2), T(1))))
    db.apply_events(report(task, ended(task, failed=True,
                                       reason='executor lost the graph'),
                           progress=10))
    done = db.get_task(task['id'])
    assert (done['status'], done['result_status']) == ('complete',
                                                       'failure')
    assert done['result_message'] == 'executor lost the graph'
    rows = history(db, task['id'])
    assert rows[(B, 'hiera')]['status'] == 'ready'
    unfinished = [k for k in HISTORY if k != (B, 'hiera')]
    for key in unfinished:
        assert rows[key]['status'] == 'error', key
        assert rows[key]['time_end'] is not None, key
        assert 'executor lost the graph' in str(rows[key]['custom']), key
    assert all(n['reservation'] is None for n in db.list_nodes())


@pytest.mark.parametrize('row_status,expected', [
    (('ready', 'ready'), 'success'),
    (('ready', 'error'), 'partial_success'),
])
def test_end_without_outcomes_votes_from_rows(db, row_status, expected):
    """No per-node outcome (Astute's final report): the rows decide."""
    task = start(db, [(A, 'hiera'), (B, 'hiera')])
    db.apply_events([graph(task, A, 'hiera', row_status[0], T(2), T(1)),
                     graph(task, B, 'hiera', row_status[1], T(2), T(1))])
    db.apply_events(report(task, ended(task), progress=100))
    done = db.get_task(task['id'])
    assert (done['status'], done['result_status']) == ('complete', expected)
    assert all(n['reservation'] is None for n in db.list_nodes())


ONE_NODE = [(A, 'hiera'), ('master', 'upload_repos'),
            (None, 'pre_deployment_end')]


@pytest.mark.parametrize('with_outcomes', [True, False])
def test_only_nodes_vote_and_count(db, with_outcomes):
    """A one-node deployment also has rows on the master and the sync
    node; they are not nodes: "1 of 1 nodes", not "1 of 3"."""
    task = start(db, ONE_NODE, node_ids=(5,))
    db.apply_events([graph(task, uid, name, 'ready', T(2), T(1))
                     for uid, name in ONE_NODE])
    outcomes = [(5, True)] if with_outcomes else []
    db.apply_events(report(task, ended(task, outcomes=outcomes)))
    done = db.get_task(task['id'])
    assert (done['result_status'], done['result_message']) == (
        'success', '1 of 1 nodes succeeded, 0 failed')


@pytest.mark.parametrize('b_status, message', [
    ('ready', '2 of 2 nodes succeeded, 0 failed'),
    ('error', '1 of 2 nodes succeeded, 1 failed')])
def test_node_results_split_across_reports_all_count(db, b_status, message):
    """More node results than one report holds (or a backlog after a
    broker outage): the final report names only some nodes; the others
    came in an earlier report and count too."""
    task = start(db, [(A, 'hiera'), (B, 'hiera')])
    db.apply_events(report(task, started(task),
                           graph(task, A, 'hiera', 'ready', T(2), T(1)),
                           graph(task, B, 'hiera', b_status, T(2), T(1)),
                           node(task, B, b_status)))
    db.apply_events(report(task, node(task, A, 'ready'),
                           ended(task, failed=b_status == 'error',
                                 outcomes=[(5, True)])))
    assert db.get_task(task['id'])['result_message'] == message


@pytest.mark.parametrize('with_outcomes', [True, False])
def test_a_failure_off_the_nodes_still_fails_the_task(db, with_outcomes):
    """The node succeeded but a master graph task failed: the result is
    failure, and the message says where."""
    task = start(db, ONE_NODE, node_ids=(5,))
    db.apply_events([
        graph(task, A, 'hiera', 'ready', T(2), T(1)),
        graph(task, 'master', 'upload_repos', 'error', T(2), T(1)),
        graph(task, None, 'pre_deployment_end', 'error', T(2), T(2))])
    outcomes = [(5, True)] if with_outcomes else []
    db.apply_events(report(task, ended(task, failed=with_outcomes,
                                       outcomes=outcomes)))
    done = db.get_task(task['id'])
    assert (done['result_status'], done['result_message']) == (
        'failure', '1 of 1 nodes succeeded, 0 failed; graph tasks failed '
        'on master and the sync node')


def test_stopped_task_is_terminated_and_releases_nodes(db):
    task = start(db, [(A, 'hiera'), (B, 'hiera')])
    db.apply_events(report(task, started(task)))
    db.apply_events(report(task, graph(task, A, 'hiera', 'ready', T(2), T(1)),
                           graph(task, B, 'hiera', 'skipped', T(2), T(2)),
                           node(task, A, 'stopped'), node(task, B, 'stopped'),
                           ended(task, stopped=True), progress=50))
    done = db.get_task(task['id'])
    assert done['status'] == 'terminated'
    assert done['terminated'] is not None
    assert done['result_status'] == 'incomplete'
    assert done['result_message'] == \
        'Stopped by drydock: 2 of 2 nodes succeeded, 0 failed'
    assert all(n['reservation'] is None for n in db.list_nodes())


# -- error count --------------------------------------------------------------

def test_error_count_counts_every_error_message(db):
    task = start(db, [], node_ids=())
    for text, error in (('disk 1 failed', True), ('fan ok', False),
                        ('disk 2 failed', True)):
        db.add_result_messages(task['id'], [{'message': text,
                                             'error': error}])
    db.finish_task(task['id'], 'failure', 'design has 2 problems')
    got = db.get_task(task['id'], with_messages=True)
    assert got['result_error_count'] == 3
    assert got['result_error_count'] == sum(m['error']
                                            for m in got['messages'])


# -- unknown tasks and rows ---------------------------------------------------

def test_unknown_task_is_counted_not_raised(db):
    task = start(db, [(A, 'hiera')])
    ghost = {'uuid': str(uuid.uuid4())}
    counts = db.apply_events(
        report(ghost, started(ghost),
               graph(ghost, A, 'hiera', 'running', T(1)))
        + report(task, graph(task, A, 'hiera', 'running', T(1)))
        + report(ghost, ended(ghost), progress=100))
    assert counts == {'applied': 1, 'rejected': 0, 'unknown_task': 5}
    assert history(db, task['id'])[(A, 'hiera')]['status'] == 'running'
    assert db.apply_events([ended(ghost)])['unknown_task'] == 1


def test_unknown_row_is_counted_and_changes_nothing(db):
    task = start(db, [(A, 'hiera'), ('master', 'hiera')])
    before = history(db, task['id'])
    counts = db.apply_events([graph(task, A, 'nope', 'running', T(1)),
                              graph(task, B, 'hiera', 'running', T(1)),
                              graph(task, None, 'hiera', 'running', T(1))])
    assert counts['rejected'] == 3 and counts['applied'] == 0
    assert history(db, task['id']) == before


# -- the sync node ------------------------------------------------------------

def test_sync_node_row(db):
    task = start(db, [(None, 'stage'), ('master', 'stage'), (A, 'stage')])
    db.apply_events([graph(task, None, 'stage', 'running', T(1))])
    db.apply_events([graph(task, None, 'stage', 'ready', T(2), T(1),
                           summary={'ok': True})])
    rows = history(db, task['id'])
    assert statuses(rows) == {
        (None, 'stage'): ('ready', T(1), T(2)),
        ('master', 'stage'): ('pending', None, None),
        (A, 'stage'): ('pending', None, None)}
    assert rows[(None, 'stage')]['summary'] == {'ok': True}
    # A duplicate for the sync node is rejected like any other.
    counts = db.apply_events([graph(task, None, 'stage', 'ready', T(3),
                                    T(1))])
    assert counts['rejected'] == 1
    assert statuses(history(db, task['id'])) == statuses(rows)



def test_a_large_deployment_leaves_the_planner_knowing_its_rows(tmp_path):
    """PostgreSQL: the planner's statistics count a 10,000-row
    deployment's pending rows as soon as it starts, not a minute later
    when autovacuum gets to them; until then it hashed the whole table
    for every receiver batch (at 100,000 rows, 80 ms a batch against
    2.4 ms through the unique index once it knew)."""
    with conftest.migrated_connection('postgresql', tmp_path) as db:
        names = ['t%02d' % i for i in range(1, 21)]
        task = start(db, [(str(node), name) for node in range(1, 501)
                          for name in names], node_ids=range(1, 501))
        with db.engine.connect() as conn:
            counted = conn.execute(sa.text(
                "SELECT reltuples FROM pg_class "
                "WHERE relname = 'deployment_history'")).scalar()
            rows = conn.execute(sa.text(
                'SELECT count(*) FROM deployment_history '
                'WHERE task_id = :t'), {'t': task['id']}).scalar()
    assert rows == 10000
    assert counted >= 10000
