"""get_deployment_history pages over real RPC (1.4, 1.5, 1.6), on both
databases.

The pages a caller walks, each after the last row of the one before, and
the pages the client fetches for the user must add up to exactly the
unpaged 1.0 answer, in order, whatever the page size and filters.
"""

import base64
import json
import zlib
from unittest import mock

import pytest

import rpc_site
from drydock_client import client as client_lib
from drydock_client import exceptions
from drydockd.messaging import schemas
from drydockd.receiver import translate

NAMES = ['hiera', 'netconfig', 'apply', 'stage', 'never_ran']


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def site(request, tmp_path_factory):
    yield from rpc_site.served(tmp_path_factory, request.param)


@pytest.fixture(scope='module')
def task_id(site):
    """12 nodes, master and the sync node; some rows started, in three
    different seconds, some still pending; one graph task never ran."""
    uids = [str(n) for n in range(1, 13)] + ['master', None]
    rows = [(uid, name) for uid in uids for name in NAMES[:3]]
    rows.append((None, 'stage'))
    task = site.db.start_task({'action': 'deploy_nodes', 'graph': {
        'tasks_graph': {}, 'task_names': NAMES}}, [], rows)
    started = [(uid, name) for uid, name in rows if uid not in ('3', '11')]
    reports = []
    for i, (uid, name) in enumerate(started):
        when = '2026-11-22T10:00:0%d.000000Z' % (i % 3)
        reports.append(schemas.report('deploy_resp', task['uuid'], nodes=[
            schemas.node_entry(uid, schemas.parse_time(when), name,
                               'running')]))
    site.db.apply_events([event for report in reports for event in
                          translate.translate(report, schemas.utcnow())])
    return task['id']


def unpaged(site, task_id, **filters):
    old = client_lib.Client(site.transport, topic=site.topic, user='tester',
                            version_cap='1.3', timeout=30)
    return old.get_deployment_history(task_id, **filters)


FILTERS = [{}, {'nodes': ['3', '11', 'null', 'master']},
           {'statuses': ['pending', 'skipped']},
           {'tasks_names': ['hiera', 'never_ran'], 'include_summary': True}]


def rows_of(page):
    return [dict(zip(page['columns'], row)) for row in page['rows']]


@pytest.mark.parametrize('filters', FILTERS)
@pytest.mark.parametrize('limit', [1, 5, 16, 1000])
def test_walking_pages_gives_the_unpaged_answer(site, task_id, filters,
                                                limit):
    everything = unpaged(site, task_id, **filters)
    walked, marker = [], None
    while True:
        page = site.api.get_deployment_history(
            task_id, limit=limit, marker=marker, **filters)
        assert len(page['rows']) <= limit
        walked.extend(rows_of(page))
        if page['next'] is None:
            break
        marker = page['next']
    assert walked == everything
    assert len({(r['node_id'], r['task_name']) for r in walked}) == \
        len(walked)


def test_the_last_row_of_a_page_is_a_marker_too(site, task_id):
    rows = unpaged(site, task_id)
    first = site.api.get_deployment_history(task_id, limit=10)
    rest = site.api.get_deployment_history(task_id, limit=1000,
                                           marker=rows_of(first)[-1])
    assert rows_of(first) + rows_of(rest) == rows
    assert rest['next'] is None


@pytest.mark.parametrize('filters', FILTERS)
@pytest.mark.parametrize('cap', ['1.4', '1.5', '1.6'])
def test_the_client_fetches_every_page_for_the_user(site, task_id, filters,
                                                    cap):
    """1.4 pages carry rows; 1.5 pages carry them as the JSON text the
    database wrote; 1.6 pages as its columns, compressed. All add up to
    the unpaged answer."""
    everything = unpaged(site, task_id, **filters)
    assert len(everything) > 7 or filters
    capped = client_lib.Client(site.transport, topic=site.topic,
                               user='tester', version_cap=cap, timeout=30)
    with mock.patch.object(client_lib, 'HISTORY_PAGE', 7):
        assert capped.get_deployment_history(
            task_id, **filters) == everything


@pytest.mark.parametrize('filters', FILTERS)
@pytest.mark.parametrize('limit', [1, 5, 16, 1000])
def test_columns_pages_are_the_row_pages_turned(site, task_id, filters,
                                                limit):
    """A 1.6 ``columns`` page holds, compressed, exactly the values of
    the 1.4 page of the same rows, one list per column, with the same
    ``next``; nothing else travels."""
    marker = None
    while True:
        rows = site.api.get_deployment_history(task_id, limit=limit,
                                               marker=marker, **filters)
        page = site.raw.prepare(version='1.6').call(
            {'user': 'tester'}, 'get_deployment_history', task_id=task_id,
            limit=limit, marker=marker, page_format='columns',
            **filters)
        assert set(page) == {'columns', 'columns_z', 'next'}
        assert page['columns'] == rows['columns']
        assert page['next'] == rows['next']
        assert client_lib.page_rows(page) == rows_of(rows)
        assert json.loads(zlib.decompress(base64.b64decode(
            page['columns_z']))) == [[row[i] for row in rows['rows']]
                                     for i in range(len(rows['columns']))]
        if page['next'] is None:
            break
        marker = page['next']


def test_surrogates_and_sync_rows_are_markers_too(site, task_id):
    rows = unpaged(site, task_id)
    assert rows[-1]['node_id'] == '-' and rows[-1]['task_name'] == \
        'never_ran'
    sync = [r for r in rows if r['node_id'] == 'null']
    after_sync = site.api.get_deployment_history(
        task_id, limit=1000, marker=sync[-1])
    assert rows_of(after_sync) == rows[rows.index(sync[-1]) + 1:]
    assert site.api.get_deployment_history(
        task_id, limit=5, marker=rows[-1]) == {
        'columns': ['task_name', 'node_id', 'status', 'time_start',
                    'time_end', 'custom'], 'rows': [], 'next': None}


def test_unknown_task_is_not_found_on_every_page(site):
    with pytest.raises(exceptions.TaskNotFound):
        site.api.get_deployment_history(987654)
    with pytest.raises(exceptions.TaskNotFound):
        site.api.get_deployment_history(987654, limit=5)
