"""History outputs over real RPC are cut, whichever page form (1.0 rows,
1.4 pages, 1.5 JSON text, 1.6 compressed columns) and database
answers."""

import pytest

import rpc_site
from drydock_client import client as client_lib
from drydockd.messaging import schemas
from drydockd.receiver import translate

LIMIT = rpc_site.MAX_OUTPUT


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def site(request, tmp_path_factory):
    yield from rpc_site.served(tmp_path_factory, request.param)


def _reported_task(site, entries):
    """A finished task whose rows are ``(node, name, status, node_entry
    keywords)``, reported through the receiver's translation."""
    task = site.db.start_task({'action': 'deploy_nodes', 'graph': {
        'tasks_graph': {}, 'task_names': [e[1] for e in entries]}}, [],
        [e[:2] for e in entries])
    when = schemas.parse_time('2026-11-22T10:00:01.000000Z')
    report = schemas.report('deploy_resp', task['uuid'], nodes=[
        schemas.node_entry(node, when, name, status, **extra)
        for node, name, status, extra in entries])
    site.db.apply_events(translate.translate(report, schemas.utcnow()))
    return task['id']


def _client(site, cap):
    return client_lib.Client(site.transport, topic=site.topic,
                             user='tester', version_cap=cap, timeout=30)


@pytest.fixture(scope='module')
def task_id(site):
    return _reported_task(site, [
        ('master', 'chatty', 'error', {
            'error_msg': 'e' * 50000,
            'summary': {'exit_code': 1, 'stdout_tail': 'x' * 50000}}),
        ('5', 'quiet', 'ready', {'summary': {'stdout_tail': 'ok'}})])


@pytest.mark.parametrize('cap', ['1.0', '1.4', '1.5', '1.6'])
def test_every_form_is_cut_and_marked(site, task_id, cap):
    rows = {r['task_name']: r for r in _client(
        site, cap).get_deployment_history(task_id, include_summary=True)}
    chatty, quiet = rows['chatty'], rows['quiet']
    assert chatty['summary']['truncated'] is True
    assert chatty['summary']['exit_code'] == 1
    assert chatty['summary']['stdout_tail'].endswith(' [truncated]')
    assert len(chatty['summary']['stdout_tail']) <= LIMIT
    assert chatty['custom']['truncated'] is True
    assert len(chatty['custom']['error_msg']) <= LIMIT
    assert quiet['summary'] == {'stdout_tail': 'ok'}
    # The database keeps what was reported.
    [whole] = [r for r in site.db.get_history(task_id, names=['chatty'],
                                              include_summary=True)]
    assert len(whole['summary']['stdout_tail']) == 50000


@pytest.fixture(scope='module')
def numerous_task_id(site):
    """A task whose one output is many tiny values, over the limit only
    together: no long string anywhere on its page."""
    return _reported_task(site, [
        ('6', 'numerous', 'ready', {'summary': {'lines': ['ok'] * LIMIT}})])


@pytest.mark.parametrize('cap', ['1.0', '1.4', '1.5', '1.6'])
def test_many_small_values_are_cut_too(site, numerous_task_id, cap):
    [row] = _client(site, cap).get_deployment_history(
        numerous_task_id, include_summary=True)
    assert row['summary']['truncated'] is True
    assert 0 < len(row['summary']['lines']) < LIMIT
