"""The embedded CLI's SQLite reads answer exactly as the SQLAlchemy backend.

``db.sqlite_reads`` writes SQLAlchemy's SQL out by hand so that
``drydock2 task show`` and ``task history show`` need not import
SQLAlchemy. Every read here runs through both on the same migrated file
and must give the same answer: every task column with its type, subtasks,
parent, messages, and every history page (all filters, page sizes,
markers, layouts, surrogates).
"""

import datetime

import conftest
import pytest
from test_history_query import T
from test_history_query import make_task

from drydockd.common import events as ev
from drydockd.common import exception
from drydockd.db import migration
from drydockd.db import sqlite_reads
from drydockd.messaging import schemas

FILTERS = [{}, {'nodes': ['5', 'null', 'master']}, {'nodes': ['sync']},
           {'statuses': ['skipped']}, {'statuses': ['pending', 'running']},
           {'names': ['hiera', 'never_ran']}, {'include_summary': True},
           {'nodes': ['2'], 'statuses': ['error'], 'include_summary': True}]


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """A migrated SQLite file with a deployment's history and a node
    action (parent, two subtasks, messages); the backend and the reader
    on it."""
    with conftest.migrated_connection(
            'sqlite', tmp_path_factory.mktemp('sqlite-reads')) as db:
        deploy = make_task(db)
        db.sync_nodes([{'id': i, 'name': 'node%02d' % i} for i in (5, 6)])
        action = db.start_task({'action': 'verify_nodes', 'dry_run': True,
                                'node_filter': {'filter_set': []}},
                               [5, 6], subtasks=True)
        subs = {s['node_id']: s['uuid'] for s in
                db.get_task(action['id'])['subtasks']}
        db.apply_events([
            ev.SubtaskSettled(action['uuid'], subs[5], T(1), True, 'ok'),
            ev.SubtaskSettled(action['uuid'], subs[6], T(2), False,
                              'BMC of node06 did not answer')])
        db.add_result_messages(action['id'], [
            {'message': 'checked', 'context_type': 'node', 'context': '5',
             'extra': {'took': 1.5}}])
        path = db.engine.url.database
        reader = sqlite_reads.Reader(path)
        yield db, reader, path, deploy, action, subs
        reader.close()


def test_the_file_is_current(site):
    _, _, path, *_ = site
    assert sqlite_reads.is_current(path, migration.HEAD)
    assert not sqlite_reads.is_current(path, 'older')
    assert not sqlite_reads.is_current(path + '.missing', migration.HEAD)


@pytest.mark.parametrize('which', ['deploy', 'action', 'subtask'])
@pytest.mark.parametrize('by', ['id', 'uuid', 'id text'])
@pytest.mark.parametrize('with_messages', [False, True])
def test_get_task_is_the_backends(site, which, by, with_messages):
    db, reader, _, deploy, action, subs = site
    task = {'deploy': lambda: db.get_task(deploy),
            'action': lambda: db.get_task(action['id']),
            'subtask': lambda: db.get_task(subs[6])}[which]()
    ident = {'id': task['id'], 'uuid': task['uuid'],
             'id text': str(task['id'])}[by]
    mine = reader.get_task(ident, with_messages=with_messages)
    theirs = db.get_task(ident, with_messages=with_messages)
    assert mine == theirs
    assert [type(mine[k]) for k in sorted(mine)] == \
        [type(theirs[k]) for k in sorted(theirs)]
    if which == 'action':
        assert len(mine['subtasks']) == 2 and mine['dry_run'] is True
        assert isinstance(mine['time_end'], datetime.datetime)
        assert not with_messages or mine['messages'][-1]['extra'] == {
            'took': 1.5}
    if which == 'subtask':
        assert mine['parent_uuid'] == action['uuid']


@pytest.mark.parametrize('ident', [987654, 'no-such-uuid', '²'])
def test_unknown_task_is_not_found(site, ident):
    reader = site[1]
    with pytest.raises(exception.TaskNotFound):
        reader.get_task(ident)
    if isinstance(ident, int):
        with pytest.raises(exception.TaskNotFound):
            reader.get_history_page(ident, 5)


def marker_of(page):
    """A page's ``next`` as the manager hands it to the DB API."""
    nxt = page['next']
    return (schemas.parse_time(nxt['time_start'])
            if nxt['time_start'] else None, nxt['node_id'], nxt['task_name'])


def walk(read, task_id, limit, layout, **filters):
    pages, marker = [], None
    while True:
        page = read(task_id, limit, marker=marker, layout=layout, **filters)
        pages.append(page)
        if page['next'] is None:
            return pages
        marker = marker_of(page)


@pytest.mark.parametrize('filters', FILTERS)
@pytest.mark.parametrize('limit', [1, 2, 3, 100])
@pytest.mark.parametrize('layout', ['rows', 'json', 'columns'])
def test_history_pages_are_the_backends(site, filters, limit, layout):
    db, reader, _, deploy, *_ = site
    mine = walk(reader.get_history_page, deploy, limit, layout, **filters)
    assert mine == walk(db.get_history_page, deploy, limit, layout,
                        **filters)
    assert mine[0]['columns'][:2] == ['task_name', 'node_id']
    assert mine[0] != {'columns': mine[0]['columns'], 'rows': [],
                       'next': None}, 'every filter matches some row'


def test_a_page_is_one_range_scan_of_the_order_index(site):
    """The hand-written order is the index's: SQLite walks
    ix_deployment_history_order and sorts nothing."""
    _, reader, _, deploy, *_ = site
    seen = []
    reader.conn.set_trace_callback(seen.append)
    try:
        reader.get_history_page(deploy, 2, marker=marker_of(
            reader.get_history_page(deploy, 2)))
    finally:
        reader.conn.set_trace_callback(None)
    scans = [s for s in seen if 'FROM deployment_history' in s
             and 'ORDER BY' in s]
    plan = ' / '.join(str(row[-1]) for row in reader.conn.execute(
        'EXPLAIN QUERY PLAN ' + scans[-1]))
    assert 'USING INDEX ix_deployment_history_order' in plan, plan
    assert 'TEMP B-TREE' not in plan, plan


def test_other_calls_load_the_backend_once(site):
    db, _, path, deploy, *_ = site
    loads = []

    def load():
        loads.append(1)
        return db
    read_first = sqlite_reads.ReadFirst(path, load)
    try:
        assert read_first.get_task(deploy) == db.get_task(deploy)
        assert read_first.get_history_page(deploy, 3) == \
            db.get_history_page(deploy, 3)
        assert loads == []
        assert read_first.list_tasks() == db.list_tasks()
        assert read_first.get_history(deploy) == db.get_history(deploy)
        assert loads == [1]
    finally:
        read_first.close()
