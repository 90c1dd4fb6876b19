"""The history query behind ``drydock2 task history show`` (get_history).

Runs on a migrated SQLite file and on PostgreSQL; rows are brought to
their states through ``apply_events`` like the receiver does.
"""

import datetime
import json

import conftest
import pytest
from sqlalchemy import event

from drydockd.common import events
from drydockd.common import exception
from drydockd.db import history_pages
from drydockd.manager import views
from drydockd.messaging import schemas

BASE = datetime.datetime(2026, 11, 22, 10, 0, 0)
NAMES = ['upload', 'hiera', 'apply', 'netconfig', 'stage', 'never_ran']


def T(seconds):
    return BASE + datetime.timedelta(seconds=seconds)


# (node, name, reports as (task_status, time, time_start))
ROWS = [
    ('master', 'upload', [('ready', T(1), T(0))]),
    ('10', 'hiera', [('running', T(1), None)]),
    ('5', 'hiera', [('running', T(1), None), ('ready', T(2), T(1))]),
    ('5', 'apply', [('running', T(1), None)]),
    ('2', 'hiera', [('skipped', T(2), T(2))]),
    ('2', 'netconfig', [('error', T(3), T(3))]),
    (None, 'stage', [('ready', T(4), T(4))]),
    ('10', 'netconfig', []),
    ('5', 'netconfig', []),
]
# time_start, then node as a number, then task name; never-started last.
ORDER = [
    ('master', 'upload'),
    ('5', 'apply'), ('5', 'hiera'), ('10', 'hiera'),
    ('2', 'hiera'),
    ('2', 'netconfig'),
    (None, 'stage'),
    ('5', 'netconfig'), ('10', 'netconfig'),
]
SURROGATE = {'task_name': 'never_ran', 'node_id': '-', 'status': 'skipped',
             'time_start': None, 'time_end': None, 'custom': {}}


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def db(request, tmp_path_factory):
    """One database per backend for the module: tests only add tasks."""
    with conftest.migrated_connection(
            request.param, tmp_path_factory.mktemp('history')) as connection:
        yield connection


def make_task(db, rows=ROWS, names=NAMES):
    task = db.start_task({'action': 'deploy_nodes',
                          'graph': {'tasks_graph': {}, 'task_names': names}},
                         [], [(uid, name) for uid, name, _ in rows])
    for uid, name, reports in rows:
        for status, when, time_start in reports:
            db.apply_events([events.GraphTaskChanged(
                task['uuid'], uid, name, status, when, time_start,
                summary={'where': '%s/%s' % (uid, name)})])
    return task['id']


def keys(rows):
    return [(r['node_id'], r['task_name']) for r in rows]


@pytest.fixture
def task_id(db):
    return make_task(db)


@pytest.fixture
def statements(db):
    """SQL text of every statement the connection runs."""
    seen = []

    def record(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    event.listen(db.engine, 'before_cursor_execute', record)
    yield seen
    event.remove(db.engine, 'before_cursor_execute', record)


def test_all_rows_ordered_then_surrogates(db, task_id):
    rows = db.get_history(task_id)
    assert keys(rows) == ORDER + [('-', 'never_ran')]
    assert rows[-1] == SURROGATE
    by_key = {(r['node_id'], r['task_name']): r for r in rows}
    assert by_key[('5', 'hiera')] == {
        'task_name': 'hiera', 'node_id': '5', 'status': 'ready',
        'time_start': T(1), 'time_end': T(2), 'custom': {}}
    assert by_key[('5', 'netconfig')]['status'] == 'pending'
    assert by_key[('2', 'hiera')]['status'] == 'skipped'


def test_numeric_node_order(db):
    # Same start time everywhere: only the node decides (5 before 10).
    nodes = ['10', '5', '100', '1', '20', '9']
    tid = make_task(db, [(n, 'x', [('running', T(1), None)])
                         for n in nodes], ['x'])
    assert [r['node_id'] for r in db.get_history(tid)] == [
        '1', '5', '9', '10', '20', '100']


def test_sync_and_master_order_is_the_same_on_both_databases(db):
    # BUG: drydockd/db/sqlalchemy/history.py query(): ORDER BY
    # length(node_id), node_id leaves the sync node (NULL) to the
    # database's NULL ordering: first on SQLite, last on PostgreSQL, so
    # the same history reads differently on the embedded default and in
    # production. With equal time_start, SQLite returns
    # [None, '5', '10', 'master'] and PostgreSQL ['5', '10', 'master',
    # None]. Expected: one order on both (sync node last, as PostgreSQL
    # and Fuel do; sa.nulls_last() on both node keys would do it).
    tid = make_task(db, [(n, 'x', [('running', T(1), None)])
                         for n in ('10', None, 'master', '5')], ['x'])
    assert [r['node_id'] for r in db.get_history(tid)] == [
        '5', '10', 'master', None]


def test_same_start_and_node_orders_by_name(db):
    tid = make_task(db, [('7', n, [('running', T(1), None)])
                         for n in ('zeta', 'alpha', 'mid')], ['alpha'])
    assert [r['task_name'] for r in db.get_history(tid)] == [
        'alpha', 'mid', 'zeta']


def test_summary_only_on_request(db, task_id):
    assert all('summary' not in r for r in db.get_history(task_id))
    rows = db.get_history(task_id, include_summary=True)
    by_key = {(r['node_id'], r['task_name']): r for r in rows}
    assert by_key[('5', 'hiera')]['summary'] == {'where': '5/hiera'}
    assert by_key[('5', 'netconfig')]['summary'] == {}
    assert by_key[('-', 'never_ran')]['summary'] == {}


@pytest.mark.parametrize('nodes,expected', [
    (['5'], [('5', 'apply'), ('5', 'hiera'), ('5', 'netconfig')]),
    (['10', '5'], [('5', 'apply'), ('5', 'hiera'), ('10', 'hiera'),
                   ('5', 'netconfig'), ('10', 'netconfig')]),
    (['master'], [('master', 'upload')]),
    (['null'], [(None, 'stage')]),
    (['2', 'master', 'null'], [('master', 'upload'), ('2', 'hiera'),
                               ('2', 'netconfig'), (None, 'stage')]),
    (['42'], []),
])
def test_node_filter_has_no_surrogates(db, task_id, nodes, expected):
    assert keys(db.get_history(task_id, nodes=nodes)) == expected


@pytest.mark.parametrize('statuses,expected', [
    (['pending'], [('5', 'netconfig'), ('10', 'netconfig')]),
    (['ready', 'error'], [('master', 'upload'), ('5', 'hiera'),
                          ('2', 'netconfig'), (None, 'stage')]),
    (['running'], [('5', 'apply'), ('10', 'hiera')]),
    (['skipped'], [('2', 'hiera'), ('-', 'never_ran')]),
])
def test_status_filter(db, task_id, statuses, expected):
    assert keys(db.get_history(task_id, statuses=statuses)) == expected


@pytest.mark.parametrize('names,expected', [
    (['hiera'], [('5', 'hiera'), ('10', 'hiera'), ('2', 'hiera')]),
    (['stage', 'upload'], [('master', 'upload'), (None, 'stage')]),
    (['never_ran'], [('-', 'never_ran')]),
    (['no_such_task'], []),
])
def test_name_filter(db, task_id, names, expected):
    assert keys(db.get_history(task_id, names=names)) == expected


def test_filters_combine(db, task_id):
    rows = db.get_history(task_id, nodes=['5', '10', 'null'],
                          statuses=['running', 'ready'],
                          names=['hiera', 'stage'])
    assert keys(rows) == [('5', 'hiera'), ('10', 'hiera'), (None, 'stage')]


def test_filters_are_done_in_sql(db, task_id, statements):
    db.get_history(task_id, nodes=['5', 'null'], statuses=['ready'],
                   names=['hiera'])
    history = [s for s in statements if 'FROM deployment_history' in s]
    assert history, statements
    where = history[0].split('WHERE', 1)[1]
    for clause in ('deployment_history.node_id IN',
                   'deployment_history.node_id IS NULL',
                   'deployment_history.status IN',
                   'deployment_history.deployment_graph_task_name IN',
                   'ORDER BY'):
        assert clause in where, (clause, history[0])


def test_history_of_a_soft_deleted_task_stays(db, task_id):
    before = db.get_history(task_id)
    db.soft_delete_task(task_id)
    assert db.get_history(task_id) == before


def test_task_without_graph_or_rows(db):
    task = db.start_task({'action': 'verify_nodes'}, [])
    assert db.get_history(task['id']) == []


@pytest.mark.parametrize('ident', [987654, 0])
def test_unknown_task(db, task_id, ident):
    with pytest.raises(exception.TaskNotFound):
        db.get_history(ident)


def _marker(page):
    """What a caller sends back: the page's ``next``, time parsed."""
    nxt = page['next']
    start = nxt['time_start']
    return (schemas.parse_time(start) if start else None, nxt['node_id'],
            nxt['task_name'])


def _pages(db, task_id, limit, layout='rows', **filters):
    pages, marker = [], None
    while True:
        page = db.get_history_page(task_id, limit, marker=marker,
                                   layout=layout, **filters)
        if layout == 'json':
            page['rows'] = json.loads(page.pop('rows_json'))
        elif layout == 'columns':
            columns = json.loads(page.pop('columns_json'))
            assert [len(values) for values in columns] == \
                [len(columns[0])] * len(page['columns'])
            page['rows'] = [list(row) for row in zip(*columns)]
        pages.append(page)
        if page['next'] is None:
            return pages
        marker = _marker(page)


def _as_api_rows(page):
    return [dict(zip(page['columns'], row)) for row in page['rows']]


@pytest.mark.parametrize('filters', [
    {}, {'nodes': ['5', 'null', 'master']}, {'statuses': ['skipped']},
    {'statuses': ['pending', 'running']}, {'names': ['hiera', 'never_ran']},
    {'include_summary': True},
])
@pytest.mark.parametrize('limit', [1, 2, 3, 4, 100])
@pytest.mark.parametrize('layout', ['rows', 'json', 'columns'])
def test_pages_add_up_to_the_whole_history(db, task_id, filters, limit,
                                           layout):
    """Keyset pages, each after the previous page's last row, give every
    row once, in order, surrogates included, for every page size and
    every form (rows, one JSON text of rows, one of columns); the
    database writes times and the sync node exactly as the API does."""
    pages = _pages(db, task_id, limit, layout, **filters)
    assert all(len(p['rows']) == limit for p in pages[:-1])
    assert len(pages[-1]['rows']) <= limit
    walked = [r for p in pages for r in _as_api_rows(p)]
    assert walked == [views.history_row(r, 10 ** 6)
                      for r in db.get_history(task_id, **filters)]


def test_next_is_none_exactly_on_the_last_page(db, task_id):
    count = len(db.get_history(task_id))
    full = db.get_history_page(task_id, count)
    assert len(full['rows']) == count and full['next'] is None
    short = db.get_history_page(task_id, count - 1)
    assert short['next'] == {'time_start': None, 'node_id': '10',
                             'task_name': 'netconfig'}
    assert db.get_history_page(task_id, 5, marker=_marker(short)) == {
        'columns': list(history_pages.PAGE_COLUMNS), 'next': None,
        'widest': 0, 'rows': [['never_ran', '-', 'skipped', None, None, {}]]}
    assert db.get_history_page(task_id, 5, marker=(None, '-', 'never_ran')
                               )['rows'] == []


def test_a_page_is_one_range_scan_of_the_order_index(db, task_id):
    """Page 50 costs what page 1 does: the rows come in index order (no
    sort) and on PostgreSQL the marker is an index condition, not a
    filter; a full page reads nothing of the task's graph."""
    seen = []

    def record(conn, cursor, statement, params, context, executemany):
        seen.append((statement, params))

    first = db.get_history_page(task_id, 3)
    event.listen(db.engine, 'before_cursor_execute', record)
    try:
        db.get_history_page(task_id, 3, marker=_marker(first))
    finally:
        event.remove(db.engine, 'before_cursor_execute', record)
    statement, params = [s for s in seen
                         if 'FROM deployment_history' in s[0]][0]
    assert not [s for s, _ in seen if 'tasks.graph' in s]
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.engine.dialect.name == 'sqlite':
            cursor.execute('EXPLAIN QUERY PLAN ' + statement, params)
            plan = ' / '.join(str(row[-1]) for row in cursor.fetchall())
            assert 'USING INDEX ix_deployment_history_order' in plan, plan
            assert 'TEMP B-TREE' not in plan, plan
        else:
            cursor.execute('SET enable_seqscan = off')
            cursor.execute('EXPLAIN ' + statement, params)
            plan = ' / '.join(row[0] for row in cursor.fetchall())
            assert 'ix_deployment_history_order' in plan, plan
            assert 'Index Cond: ((task_id = ' in plan and 'ROW(' in plan, \
                plan
            assert 'Sort' not in plan, plan
    finally:
        raw.close()
