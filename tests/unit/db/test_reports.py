"""Applying executor reports to tasks, nodes and deployment history.

Runs on a migrated SQLite file and on PostgreSQL. Reports are built with
the protocol's own builders (``schemas.report``/``node_entry``), validated
as the receiver does, and get a naive-UTC ``received``.
"""

import datetime
import uuid

import conftest
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from drydockd.db import models
from drydockd.messaging import schemas

H = models.DeploymentHistory.__table__
BASE = datetime.datetime(2026, 11, 22, 10, 0, 0, 123456)
RECEIVED = BASE + datetime.timedelta(minutes=5)
A, B = '5', '10'          # two real nodes: 5 sorts before 10
NAMES = ['hiera', 'netconfig', 'upload_repos', 'pre_deployment_end']
HISTORY = [(A, 'hiera'), (B, 'hiera'), (A, 'netconfig'), (B, 'netconfig'),
           ('master', 'upload_repos'), (None, 'pre_deployment_end')]


def T(seconds):
    return BASE + datetime.timedelta(seconds=seconds)


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def database(request, tmp_path_factory):
    """One migrated database per backend for the module."""
    with conftest.migrated_connection(
            request.param, tmp_path_factory.mktemp('reports')) as connection:
        yield connection


@pytest.fixture
def db(database):
    """The module's database, emptied: every test starts from no rows."""
    with database.engine.begin() as conn:
        for table in reversed(models.Base.metadata.sorted_tables):
            conn.execute(table.delete())
    return database


# -- helpers ------------------------------------------------------------------

def start(db, history=HISTORY, node_ids=(5, 10)):
    db.sync_nodes([{'id': i, 'name': 'node%02d' % i, 'roles': ['compute']}
                   for i in node_ids])
    return db.start_task(
        {'action': 'deploy_nodes',
         'graph': {'tasks_graph': {}, 'task_names': NAMES}},
        list(node_ids), history, node_status='deploying')


def rep(task, status=None, progress=None, nodes=None, received=RECEIVED,
        error=None):
    report = schemas.report('deploy_resp', task['uuid'], status=status,
                            progress=progress, nodes=nodes, error=error)
    report['received'] = received
    return report


def entry(uid, name, task_status, when, time_start=None, **extra):
    if time_start is not None:
        extra['time_start'] = schemas.format_time(time_start)
    return schemas.node_entry(uid, when, name, task_status, **extra)


def node(uid, status, progress=None, when=None):
    return schemas.node_entry(uid, when or T(0), status=status,
                              progress=progress)


def history(db, task_id):
    """{(node_id, name): row} with every column but the surrogate keys."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(H).where(H.c.task_id == task_id))
        return {(r.node_id, r.deployment_graph_task_name): {
            'status': r.status, 'time_start': r.time_start,
            'time_end': r.time_end, 'custom': r.custom,
            'summary': r.summary} for r in rows}


def snapshot(db, task_id):
    """Everything a report can touch: task, history, nodes, messages."""
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
        rep(task, status='running', progress=0),
        rep(task, progress=0, nodes=[
            node(A, 'deploying', 0, T(1)), node(B, 'deploying', 0, T(1)),
            entry(A, 'hiera', 'running', T(1)),
            entry(B, 'hiera', 'running', T(1)),
            entry('master', 'upload_repos', 'running', T(1))]),
        rep(task, progress=40, nodes=[
            entry(A, 'hiera', 'ready', T(2), T(1), summary={'lines': 3},
                  progress=50),
            entry(B, 'hiera', 'error', T(2), T(1), error_msg='boom',
                  progress=50),
            entry(B, 'netconfig', 'error', T(2), T(2),
                  error_msg='dependency hiera on node 10 failed',
                  progress=100),
            entry('master', 'upload_repos', 'ready', T(2), T(1),
                  custom={'k': 'v'})]),
        rep(task, progress=70, nodes=[
            entry(None, 'pre_deployment_end', 'ready', T(3), T(3)),
            entry(A, 'netconfig', 'running', T(3))]),
        rep(task, status='error', progress=100, nodes=[
            entry(A, 'netconfig', 'ready', T(4), T(3), progress=100),
            node(A, 'ready', 100, T(4)), node(B, 'error', 100, T(4))]),
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


# -- the reports are real protocol -------------------------------------------

def test_reports_used_here_are_valid_protocol():
    """The reports below are what the receiver would accept."""
    task = {'uuid': str(uuid.uuid4())}
    for report in run_reports(task):
        report = {k: v for k, v in report.items() if k != 'received'}
        assert schemas.validate_report(report) is report


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
# The report under test: at T(5); terminal ones carry time_start T(4).
REPORT = {'running': None, 'ready': T(4), 'error': T(4), 'skipped': None}
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
    cells = [(f, t) for f in PREPARE for t in REPORT]
    rows = [(uid, '%s->%s' % cell) for cell in cells for uid in (A, None)]
    task = start(db, rows)
    prepare = []
    for uid, name in rows:
        for status, when, time_start in PREPARE[name.split('->')[0]]:
            prepare.append(rep(task, nodes=[
                entry(uid, name, status, when, time_start)]))
    for report in prepare:
        db.apply_reports([report])
    before = statuses(history(db, task['id']))
    assert before == {(uid, name): BEFORE[name.split('->')[0]]
                      for uid, name in rows}

    counts = db.apply_reports([rep(task, nodes=[
        entry(uid, name, name.split('->')[1], T(5),
              REPORT[name.split('->')[1]]) for uid, name in rows])])

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
    db.apply_reports([rep(task, nodes=[entry(A, 'hiera', 'ready', T(7))])])
    assert statuses(history(db, task['id'])) == {
        (A, 'hiera'): ('ready', T(7), T(7))}


def test_astute_entry_without_time_uses_receipt_time(db):
    task = start(db, [(A, 'hiera'), (B, 'hiera')])
    astute = {'method': 'deploy_resp', 'args': {
        'task_uuid': task['uuid'], 'nodes': [
            {'uid': A, 'deployment_graph_task_name': 'hiera',
             'task_status': 'running'},
            {'uid': B, 'deployment_graph_task_name': 'hiera',
             'task_status': 'ready'}]}}
    astute['received'] = T(9)
    db.apply_reports([astute])
    assert statuses(history(db, task['id'])) == {
        (A, 'hiera'): ('running', T(9), None),
        (B, 'hiera'): ('ready', T(9), T(9))}


def test_error_message_and_custom_summary_merge_in(db):
    task = start(db, [(A, 'hiera'), (B, 'hiera')])
    db.apply_reports([rep(task, nodes=[
        entry(A, 'hiera', 'running', T(1), custom={'a': 1}),
        entry(B, 'hiera', 'error', T(2), T(1), error_msg='exit 3',
              summary={'x': 1})])])
    db.apply_reports([rep(task, nodes=[
        entry(A, 'hiera', 'ready', T(2), T(1), custom={'b': 2},
              summary={'s': 1}),
        entry(B, 'hiera', 'error', T(2), T(1), summary={'y': 2})])])
    rows = history(db, task['id'])
    assert rows[(A, 'hiera')]['custom'] == {'a': 1, 'b': 2}
    assert rows[(A, 'hiera')]['summary'] == {'s': 1}
    assert rows[(B, 'hiera')]['custom'] == {'error_msg': 'exit 3'}
    assert rows[(B, 'hiera')]['summary'] == {'x': 1, 'y': 2}
    assert rows[(B, 'hiera')]['status'] == 'error'


# -- order and duplicates -----------------------------------------------------

def test_whole_run_in_order(db):
    task = start(db)
    for report in run_reports(task):
        db.apply_reports([report])
    rows = history(db, task['id'])
    assert statuses(rows) == RUN_RESULT
    assert rows[(A, 'hiera')]['summary'] == {'lines': 3}
    assert rows[(B, 'hiera')]['custom'] == {'error_msg': 'boom'}
    assert rows[('master', 'upload_repos')]['custom'] == {'k': 'v'}
    done = db.get_task(task['id'])
    assert (done['status'], done['result_status'], done['progress']) == (
        'complete', 'partial_success', 100)


@pytest.mark.parametrize('split', [False, True])
def test_same_batch_twice_is_idempotent(db, split):
    task = start(db)
    reports = run_reports(task)
    batches = [reports[:3], reports[3:]] if split else [reports]
    for batch in batches:
        db.apply_reports(batch)
        first = snapshot(db, task['id'])
        counts = db.apply_reports(batch)
        assert snapshot(db, task['id']) == first
        assert counts['applied'] == 0
    assert statuses(history(db, task['id'])) == RUN_RESULT


def test_terminal_overtaking_its_running_gives_the_in_order_row(db):
    in_order = start(db, [(A, 'hiera')], node_ids=())
    overtaken = start(db, [(A, 'hiera')], node_ids=())
    running = [entry(A, 'hiera', 'running', T(1))]
    ready = [entry(A, 'hiera', 'ready', T(2), T(1), summary={'n': 1})]
    for nodes in (running, ready):
        db.apply_reports([rep(in_order, nodes=nodes)])
    for nodes in (ready, running):
        db.apply_reports([rep(overtaken, nodes=nodes)])
    expected = history(db, in_order['id'])
    assert expected[(A, 'hiera')]['time_start'] == T(1)
    assert history(db, overtaken['id']) == expected


def test_running_and_terminal_in_one_batch_either_order(db):
    in_order = start(db, [(A, 'hiera')], node_ids=())
    reverse = start(db, [(A, 'hiera')], node_ids=())
    for task, order in ((in_order, 1), (reverse, -1)):
        db.apply_reports([rep(task, nodes=[
            entry(A, 'hiera', 'running', T(1)),
            entry(A, 'hiera', 'ready', T(2), T(1))][::order])])
    assert history(db, in_order['id']) == history(db, reverse['id'])


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_shuffled_replay_gives_the_in_order_rows(db, data):
    """All reports of a run, each twice, shuffled and cut into batches."""
    reference = start(db, node_ids=())
    for report in run_reports(reference):
        db.apply_reports([report])
    expected = history(db, reference['id'])

    fresh = start(db, node_ids=())
    replay = run_reports(fresh) * 2
    order = data.draw(st.permutations(range(len(replay))), label='order')
    cuts = sorted(data.draw(st.sets(st.integers(1, len(replay) - 1),
                                    max_size=4), label='cuts'))
    shuffled = [replay[i] for i in order]
    for lo, hi in zip([0] + cuts, cuts + [len(replay)]):
        db.apply_reports(shuffled[lo:hi])
    assert history(db, fresh['id']) == expected
    assert db.get_task(fresh['id'])['status'] == 'complete'


def test_late_running_after_terminal_changes_nothing(db):
    task = start(db)
    reports = run_reports(task)
    for report in reports:
        db.apply_reports([report])
    before = snapshot(db, task['id'])
    late = RECEIVED + datetime.timedelta(minutes=1)
    db.apply_reports([rep(task, status='running', progress=0, received=late),
                      rep(task, nodes=[
                          entry(A, 'hiera', 'running', T(8)),
                          entry(B, 'netconfig', 'running', T(8)),
                          entry(None, 'pre_deployment_end', 'running', T(8)),
                          entry('master', 'upload_repos', 'running', T(8))],
                          received=late)])
    after = snapshot(db, task['id'])
    assert after['history'] == before['history']
    assert after['messages'] == before['messages']
    for key in ('status', 'result_status', 'result_message', 'progress',
                'time_start', 'time_end', 'result_error_count'):
        assert after['task'][key] == before['task'][key], key


# -- task and node status -----------------------------------------------------

def test_task_status_and_progress_never_go_backwards(db):
    task = start(db, [(A, 'hiera')])
    db.update_task(task['id'], status='queued')
    db.apply_reports([rep(task, status='running', progress=60,
                          received=T(1))])
    got = db.get_task(task['id'])
    assert (got['status'], got['progress'], got['time_start']) == (
        'running', 60, T(1))
    # Lower progress, a second 'running', both in one batch and alone.
    db.apply_reports([rep(task, progress=30, received=T(2)),
                      rep(task, status='running', progress=10,
                          received=T(2))])
    db.apply_reports([rep(task, progress=0, received=T(3))])
    got = db.get_task(task['id'])
    assert (got['status'], got['progress'], got['time_start']) == (
        'running', 60, T(1))
    db.update_task(task['id'], status='queued')
    assert db.get_task(task['id'])['status'] == 'running'


def test_task_progress_within_one_batch_keeps_the_highest(db):
    task = start(db, [(A, 'hiera')])
    db.apply_reports([rep(task, progress=p) for p in (10, 70, 40, 0)])
    assert db.get_task(task['id'])['progress'] == 70


def test_node_status_moves_forward_only(db):
    task = start(db, [(A, 'hiera')], node_ids=(5, 10))
    db.apply_reports([rep(task, nodes=[node(A, 'ready', 100),
                                       node(B, 'deploying', 50)])])
    db.apply_reports([rep(task, nodes=[node(A, 'deploying', 10),
                                       node(A, 'provisioned'),
                                       node(B, 'provisioning', 20)])])
    nodes = nodes_by_id(db)
    assert (nodes[5]['status'], nodes[5]['progress']) == ('ready', 100)
    assert (nodes[10]['status'], nodes[10]['progress']) == ('deploying', 50)
    db.apply_reports([rep(task, nodes=[node(B, 'error'),
                                       node(B, 'ready', 100)])])
    assert nodes_by_id(db)[10]['status'] == 'error'


def test_node_error_message_is_recorded(db):
    task = start(db, [(A, 'hiera')], node_ids=(5,))
    db.apply_reports([rep(task, nodes=[schemas.node_entry(
        A, T(1), status='error', error_msg='disk on fire')])])
    assert nodes_by_id(db)[5]['error_msg'] == 'disk on fire'


def test_replayed_report_of_an_old_task_leaves_the_node_alone(db):
    # BUG: drydockd/db/sqlalchemy/reports.py _load_nodes/_apply_entry:
    # node entries update any node with that id, whichever task holds it
    # now. Task 1 ends with node 5 ready and node 10 in error; task 2
    # takes both (status reset to 'deploying'); a redelivered copy of
    # task 1's final report then moves node 5 to 'ready' and node 10 to
    # 'error' (with task 1's error message) while task 2 holds them.
    # Expected (idempotent receiver, node order "within a task"): a
    # report of a task that no longer holds the node leaves it alone.
    old = start(db, [(A, 'hiera'), (B, 'hiera')])
    final = [rep(old, status='error', progress=100, nodes=[
        entry(A, 'hiera', 'ready', T(2), T(1)),
        entry(B, 'hiera', 'error', T(2), T(1)),
        schemas.node_entry(A, T(2), status='ready', progress=100),
        schemas.node_entry(B, T(2), status='error', progress=100,
                           error_msg='hiera failed')])]
    db.apply_reports(final)
    assert db.get_task(old['id'])['status'] == 'complete'
    new = start(db, [(A, 'hiera'), (B, 'hiera')])
    fresh = nodes_by_id(db)
    assert fresh[10]['status'] == 'deploying'
    assert fresh[10]['reservation'] == new['id']

    db.apply_reports(final)      # redelivered
    after = nodes_by_id(db)
    for nid in (5, 10):
        for key in ('status', 'progress', 'error_msg', 'reservation'):
            assert after[nid][key] == fresh[nid][key], (nid, key)


# -- the final report ---------------------------------------------------------

@pytest.mark.parametrize('outcomes,status,expected', [
    (('ready', 'ready'), 'ready', 'success'),
    (('ready', 'error'), 'error', 'partial_success'),
    (('error', 'ready'), 'ready', 'partial_success'),
    (('error', 'error'), 'error', 'failure'),
    # The executor says error although every node is fine.
    (('ready', 'ready'), 'error', 'failure'),
])
def test_final_report_votes_and_releases_nodes(db, outcomes, status,
                                               expected):
    task = start(db, [(A, 'hiera'), (B, 'hiera')])
    db.apply_reports([rep(task, status='running', progress=0)])
    db.apply_reports([rep(task, status=status, progress=100, nodes=[
        entry(A, 'hiera', outcomes[0], T(2), T(1)),
        entry(B, 'hiera', outcomes[1], T(2), T(1)),
        node(A, outcomes[0], 100), node(B, outcomes[1], 100)])])
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
    db.apply_reports([rep(task, status='running', nodes=[
        entry(A, 'hiera', 'running', T(1)),
        entry(B, 'hiera', 'ready', T(2), T(1))])])
    db.apply_reports([rep(task, status='error', progress=10,
                          error='executor lost the graph')])
    done = db.get_task(task['id'])
    assert (done['status'], done['result_status']) == ('complete',
                                                       'failure')
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
def test_astute_final_report_votes_from_rows(db, row_status, expected):
    """No per-node outcome in the final report: the rows decide."""
    task = start(db, [(A, 'hiera'), (B, 'hiera')])
    db.apply_reports([rep(task, nodes=[
        entry(A, 'hiera', row_status[0], T(2), T(1)),
        entry(B, 'hiera', row_status[1], T(2), T(1))])])
    db.apply_reports([rep(task, status='ready', progress=100)])
    done = db.get_task(task['id'])
    assert (done['status'], done['result_status']) == ('complete', expected)
    assert all(n['reservation'] is None for n in db.list_nodes())


def test_stopped_task_is_terminated_and_releases_nodes(db):
    task = start(db, [(A, 'hiera'), (B, 'hiera')])
    db.apply_reports([rep(task, status='running')])
    db.apply_reports([rep(task, status='stopped', progress=50, nodes=[
        entry(A, 'hiera', 'ready', T(2), T(1)),
        entry(B, 'hiera', 'skipped', T(2), T(2)),
        node(A, 'stopped'), node(B, 'stopped')])])
    done = db.get_task(task['id'])
    assert done['status'] == 'terminated'
    assert done['terminated'] is not None
    assert all(n['reservation'] is None for n in db.list_nodes())


# -- unknown tasks and rows ---------------------------------------------------

def test_unknown_task_is_counted_not_raised(db):
    task = start(db, [(A, 'hiera')])
    ghost = {'uuid': str(uuid.uuid4())}
    counts = db.apply_reports([
        rep(ghost, status='running', nodes=[
            entry(A, 'hiera', 'running', T(1))]),
        rep(task, nodes=[entry(A, 'hiera', 'running', T(1))]),
        rep(ghost, status='ready', progress=100)])
    assert counts == {'applied': 1, 'rejected': 0, 'unknown_task': 2}
    assert history(db, task['id'])[(A, 'hiera')]['status'] == 'running'
    assert db.apply_reports([rep(ghost, status='ready')])[
        'unknown_task'] == 1


def test_unknown_row_is_counted_and_changes_nothing(db):
    task = start(db, [(A, 'hiera'), ('master', 'hiera')])
    before = history(db, task['id'])
    counts = db.apply_reports([rep(task, nodes=[
        entry(A, 'nope', 'running', T(1)),
        entry(B, 'hiera', 'running', T(1)),
        entry(None, 'hiera', 'running', T(1))])])
    assert counts['rejected'] == 3 and counts['applied'] == 0
    assert history(db, task['id']) == before


# -- the sync node ------------------------------------------------------------

def test_sync_node_row(db):
    task = start(db, [(None, 'stage'), ('master', 'stage'), (A, 'stage')])
    db.apply_reports([rep(task, nodes=[entry(None, 'stage', 'running',
                                             T(1))])])
    db.apply_reports([rep(task, nodes=[entry(None, 'stage', 'ready', T(2),
                                             T(1), summary={'ok': True})])])
    rows = history(db, task['id'])
    assert statuses(rows) == {
        (None, 'stage'): ('ready', T(1), T(2)),
        ('master', 'stage'): ('pending', None, None),
        (A, 'stage'): ('pending', None, None)}
    assert rows[(None, 'stage')]['summary'] == {'ok': True}
    # A duplicate for the sync node is rejected like any other.
    counts = db.apply_reports([rep(task, nodes=[
        entry(None, 'stage', 'ready', T(3), T(1))])])
    assert counts['rejected'] == 1
    assert statuses(history(db, task['id'])) == statuses(rows)
