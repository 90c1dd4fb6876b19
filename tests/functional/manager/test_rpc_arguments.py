"""Every RPC method checks its arguments; every failure is one typed line.

A real oslo.messaging client talks to the real endpoint over the
in-process ``kombu+memory`` transport, against a migrated SQLite
database. What comes back is what another daemon would get: the
exception class re-created on the caller's side, ``args[0]`` one line,
and nothing of the server's stack or SQL anywhere in it.
"""

import logging
import uuid

import pytest
import sqlalchemy as sa

from drydock_client import client as client_lib
from drydock_client import exceptions
from drydockd.common import exception
import rpc_site
from rpc_site import CTXT
from rpc_site import DESIGN
from rpc_site import ONE


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    yield from rpc_site.served(tmp_path_factory)


@pytest.fixture(autouse=True)
def fresh_publisher(request):
    if 'site' in request.fixturenames:
        request.getfixturevalue('site').publisher.reset_mock()


def refused(site, method, exc_class, context=CTXT, **kwargs):
    """Call ``method`` raw (no client-side checks); return the message."""
    with pytest.raises(exc_class) as caught:
        site.raw.call(context, method, **kwargs)
    text = caught.value.args[0]
    assert isinstance(text, str) and len(text.splitlines()) == 1, text
    # Nothing of the server's stack or SQL travels to the caller.
    everything = str(caught.value)
    for leak in ('Traceback', 'File "', 'SELECT', 'INSERT', 'sqlalchemy',
                 'psycopg2', 'sqlite3'):
        assert leak not in everything, everything
    return text


BAD_CALLS = [
    # create_task: types, lengths, NUL, flags given as strings.
    ('create_task', {'action': 'deploy_nodes', 'design_ref': 123},
     exception.InvalidInput, 'design_ref must be a string, not an integer'),
    ('create_task', {'action': 'deploy_nodes',
                     'design_ref': 'file:///' + 'x' * 2041},
     exception.InvalidInput, 'design_ref is longer than 2048 characters'),
    ('create_task', {'action': 'deploy_nodes',
                     'design_ref': 'file:///srv/\x00site.yaml'},
     exception.InvalidInput, 'design_ref contains a NUL character'),
    ('create_task', {'action': 'deploy_nodes', 'design_ref': ''},
     exception.InvalidInput, 'design_ref must not be empty'),
    ('create_task', {'action': ['deploy_nodes'], 'design_ref': DESIGN},
     exception.UnsupportedAction, "Action ['deploy_nodes'] is not supported"),
    ('create_task', {'action': 'deploy_nodes', 'design_ref': DESIGN,
                     'node_filter': {'filter_set_type': 'union',
                                     'filter_set': [{'node_names': 5}]}},
     exception.InvalidInput,
     'node_filter.filter_set[0].node_names: must be a list, not a number'),
    ('create_task', {'action': 'deploy_nodes', 'design_ref': DESIGN,
                     'dry_run': 'false'},
     exception.InvalidInput, 'dry_run must be true or false, not a string'),
    ('create_task', {'action': 'destroy_nodes', 'design_ref': DESIGN,
                     'all_nodes': 'yes'},
     exception.InvalidInput, 'all_nodes must be true or false'),
    ('create_task', {'action': 'deploy_nodes', 'design_ref': DESIGN,
                     'nodes': ['5']},
     exception.InvalidInput, "unexpected keyword argument 'nodes'"),
    ('create_task', {'action': 'deploy_nodes'},
     exception.InvalidInput, "missing a required argument: 'design_ref'"),
    # get_task / delete_task / stop_task: ids.
    ('get_task', {'task_id': '\u00b2'}, exception.TaskNotFound,
     'Task \u00b2 not found'),
    ('get_task', {'task_id': 10 ** 12}, exception.TaskNotFound,
     'Task 1000000000000 not found'),
    ('get_task', {'task_id': -3}, exception.TaskNotFound, 'Task -3 not found'),
    ('get_task', {'task_id': None}, exception.InvalidInput,
     'task_id must be an integer id or a string, not null'),
    ('get_task', {'task_id': [1]}, exception.InvalidInput,
     'task_id must be an integer id or a string, not a list'),
    ('get_task', {'task_id': True}, exception.InvalidInput,
     'task_id must be an integer id or a string, not a boolean'),
    ('get_task', {'task_id': '7\x00'}, exception.InvalidInput,
     'task_id contains a NUL character'),
    ('get_task', {'task_id': 'x' * 5000}, exception.InvalidInput,
     'task_id is longer than 2550 characters'),
    ('delete_task', {'task_id': '\u0663'}, exception.TaskNotFound,
     'Task \u0663 not found'),
    ('stop_task', {'task_id': 1.5}, exception.InvalidInput,
     'task_id must be an integer id or a string, not a number'),
    # list_tasks.
    ('list_tasks', {'statuses': 5}, exception.InvalidInput,
     'statuses must be a list, not an integer'),
    ('list_tasks', {'statuses': 'running'}, exception.InvalidInput,
     'statuses must be a list, not a string'),
    ('list_tasks', {'statuses': ['bogus']}, exception.InvalidInput,
     'statuses[0] must be one of requested, queued'),
    ('list_tasks', {'statuses': []}, exception.InvalidInput,
     'statuses is empty'),
    ('list_tasks', {'limit': '10'}, exception.InvalidInput,
     'limit must be an integer from 1 to 1000'),
    ('list_tasks', {'marker': True}, exception.InvalidInput,
     'marker must be a positive integer id'),
    ('list_tasks', {'include_deleted': 'no'}, exception.InvalidInput,
     'include_deleted must be true or false'),
    # get_deployment_history.
    ('get_deployment_history', {'task_id': '\u00b2'}, exception.TaskNotFound,
     'Task \u00b2 not found'),
    ('get_deployment_history', {'task_id': str(uuid.uuid4())},
     exception.InvalidInput, 'task_id must be an integer task id'),
    ('get_deployment_history', {'task_id': 1, 'statuses': 5},
     exception.InvalidInput, 'statuses must be a list, not an integer'),
    ('get_deployment_history', {'task_id': 1, 'nodes': 5},
     exception.InvalidInput, 'nodes must be a list, not an integer'),
    ('get_deployment_history', {'task_id': 1, 'nodes': [5.5]},
     exception.InvalidInput, 'nodes[0] must be a string, not a number'),
    ('get_deployment_history', {'task_id': 1, 'nodes': ['5\x00']},
     exception.InvalidInput, 'nodes[0] contains a NUL character'),
    ('get_deployment_history', {'task_id': 1, 'tasks_names': [None]},
     exception.InvalidInput, 'tasks_names[0] must be a string, not null'),
    ('get_deployment_history', {'task_id': 1, 'limit': 0},
     exception.InvalidInput, 'limit must be an integer from 1 to 10000'),
    ('get_deployment_history', {'task_id': 1, 'page_format': 'xml'},
     exception.InvalidInput,
     'page_format must be one of rows, json, columns, not xml'),
    ('get_deployment_history', {'task_id': 1, 'marker': 'row-7'},
     exception.InvalidInput, 'marker must be the last row of the previous '
                             'page'),
    ('get_deployment_history', {'task_id': 1, 'marker': {
        'time_start': 'yesterday', 'node_id': '5', 'task_name': 'x'}},
     exception.InvalidInput, 'marker.time_start is not an ISO 8601 time'),
    # Nodes.
    ('get_node', {'node_id': '\u00b2'}, exception.NodeNotFound,
     'Node \u00b2 not found'),
    ('get_node', {'node_id': {'name': 'node05'}}, exception.InvalidInput,
     'node_id must be an integer id or a string, not an object'),
    ('get_node', {'node_id': 'n' * 300}, exception.NodeNotFound,
     'Node nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn... not found'),
    ('set_node_power', {'node_id': 'node05', 'power': 5},
     exception.InvalidInput, 'power must be one of on, off, cycle, status'),
    ('set_node_power', {'node_id': 'node05', 'power': 'off',
                        'dry_run': 1},
     exception.InvalidInput, 'dry_run must be true or false, not an integer'),
]


@pytest.mark.parametrize('method, kwargs, exc_class, message', BAD_CALLS,
                         ids=['%s-%d' % (c[0], i)
                              for i, c in enumerate(BAD_CALLS)])
def test_bad_arguments_are_refused_in_one_typed_line(site, method, kwargs,
                                                     exc_class, message):
    text = refused(site, method, exc_class, **kwargs)
    assert message in text, text
    site.publisher.to_executor.assert_not_called()


def test_nothing_is_recorded_for_a_refused_create(site):
    before = site.api.list_tasks(include_deleted=True)
    for kwargs in ({'design_ref': 'file:///' + 'x' * 2041},
                   {'design_ref': DESIGN, 'node_filter': {
                       'filter_set_type': 'union',
                       'filter_set': [{'node_lables': {'zone': 'a'}}]}},
                   {'design_ref': DESIGN, 'node_filter': {
                       'filter_set_type': 'union', 'filter_set': []}}):
        refused(site, 'create_task', exception.InvalidInput,
                action='deploy_nodes', **kwargs)
    assert site.api.list_tasks(include_deleted=True) == before


@pytest.mark.parametrize('context, message', [
    ({'user': 'u' * 300}, 'context user is longer than 255 characters'),
    ({'user': 'a\x00b'}, 'context user contains a NUL character'),
    ({'user': 5}, 'context user must be a string, not an integer'),
])
def test_the_callers_name_is_checked_too(site, context, message):
    assert message in refused(site, 'create_task', exception.InvalidInput,
                              context=context, action='validate_design',
                              design_ref=DESIGN)


def test_integer_node_ids_are_accepted_for_history(site):
    task = site.api.create_task('deploy_nodes', DESIGN,
                                node_filter=ONE, dry_run=True)
    rows = site.raw.call(CTXT, 'get_deployment_history', task_id=task['id'],
                         nodes=[5])
    assert rows and {r['node_id'] for r in rows} == {'5'}


def test_unexpected_errors_are_one_line_and_logged_on_the_manager(
        site, caplog):
    """A broken database is not the caller's fault: InternalError with a
    reference; the traceback, SQL included, stays in the manager log."""
    task = site.api.create_task('validate_design', DESIGN)
    with site.db.engine.begin() as conn:
        conn.execute(sa.text('ALTER TABLE result_message RENAME TO moved'))
    try:
        with caplog.at_level(logging.ERROR, logger='drydockd.manager'):
            text = refused(site, 'get_task', exception.InternalError,
                           task_id=task['id'])
    finally:
        with site.db.engine.begin() as conn:
            conn.execute(sa.text('ALTER TABLE moved RENAME TO '
                                 'result_message'))
    assert text.startswith('Internal error in get_task (reference ')
    reference = text.split('reference ')[1].split(')')[0]
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].exc_info
    assert 'result_message' in caplog.text     # the SQL stayed here
    assert site.api.get_task(task['id'])['id'] == task['id']


def test_whole_site_needs_all_nodes_for_actions_that_power_off(site):
    for action in ('prepare_nodes', 'provision_nodes', 'destroy_nodes'):
        text = refused(site, 'create_task', exception.InvalidInput,
                       action=action, design_ref=DESIGN)
        assert text == ('Invalid input: %s needs a node filter, or '
                        'all_nodes=true for every node of the design '
                        '(drydock2 task create %s --all-nodes)'
                        % (action, action))
    assert 'exclude each other' in refused(
        site, 'create_task', exception.InvalidInput, action='destroy_nodes',
        design_ref=DESIGN, node_filter=ONE, all_nodes=True)
    assert 'give verify_nodes a node filter' in refused(
        site, 'create_task', exception.InvalidInput, action='verify_site',
        design_ref=DESIGN, node_filter=ONE)
    site.publisher.to_executor.assert_not_called()


def test_a_1_0_client_still_creates_other_tasks_without_all_nodes(site):
    old = client_lib.Client(site.transport, topic=site.topic, user='tester',
                            version_cap='1.0', timeout=30)
    task = old.create_task('verify_site', DESIGN, dry_run=True)
    assert task['action'] == 'verify_nodes' and task['dry_run'] is True
    with pytest.raises(exceptions.UnsupportedVersion,
                       match='needs RPC API 1.4'):
        old.create_task('destroy_nodes', DESIGN, all_nodes=True)
    site.publisher.to_executor.assert_not_called()
