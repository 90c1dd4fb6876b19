"""Bad arguments against a real manager on RabbitMQ and PostgreSQL.

What the issue found as raw TypeError / ValueError / ProgrammingError with
the server's traceback and SQL text comes back, over a real broker from a
real ``drydockd manager`` process, as one typed line; a database failure
is ``InternalError`` with a reference, and only the manager's log holds
the traceback.
"""


import oslo_messaging as messaging
import psycopg2
import pytest
from oslo_config import cfg

import conftest
from drydock_client import client as client_lib
from drydockd.api import rpc
from drydockd.common import exception

DESIGN = 'file://' + conftest.DEMO_SITE
CTXT = {'user': 'hostile'}


@pytest.fixture
def manager(tmp_path, pg_url, rabbit_vhost, daemons):
    # Any file may be named (a long one must reach the fetch).
    config = conftest.production_config(tmp_path / 'drydock.conf', pg_url,
                                        rabbit_vhost,
                                        site={'design_file_roots': '/'})
    conftest.migrate(config)
    daemons('manager', config, tmp_path / 'manager.log').wait_ready()
    rpc.register_opts(cfg.CONF)
    transport = messaging.get_rpc_transport(
        cfg.CONF, url=conftest.RABBIT_URL % rabbit_vhost,
        allowed_remote_exmods=rpc.ALLOWED_EXMODS)
    raw = messaging.get_rpc_client(
        transport, messaging.Target(topic='drydock', version='1.5'),
        timeout=60)
    yield raw, client_lib.Client(transport, timeout=60, user='hostile'), \
        tmp_path / 'manager.log', pg_url
    transport.cleanup()


def one_line(raw, exc_class, method, **kwargs):
    with pytest.raises(exc_class) as caught:
        raw.call(CTXT, method, **kwargs)
    text = caught.value.args[0]
    assert len(text.splitlines()) == 1, text
    for leak in ('Traceback', 'File "', 'INSERT', 'SELECT', 'psycopg2',
                 'sqlalchemy'):
        assert leak not in str(caught.value), str(caught.value)
    return text


def test_bad_arguments_are_typed_lines_over_rabbitmq(manager):
    raw, api, log, _ = manager
    long_ref = 'file:///' + 'x' * 2041         # 2,049 characters
    for kwargs, exc_class, says in [
            ({'action': 'deploy_nodes', 'design_ref': 123},
             exception.InvalidInput, 'design_ref must be a string'),
            ({'action': 'validate_design', 'design_ref': long_ref},
             exception.InvalidInput, 'design_ref is longer than 2048'),
            ({'action': 'deploy_nodes', 'design_ref': DESIGN + '\x00'},
             exception.InvalidInput, 'design_ref contains a NUL'),
            ({'action': 'deploy_nodes', 'design_ref': DESIGN,
              'node_filter': {'filter_set_type': 'union', 'filter_set': [
                  {'node_names': 5}]}},
             exception.InvalidInput, 'node_names: must be a list'),
            ({'action': 'destroy_nodes', 'design_ref': DESIGN},
             exception.InvalidInput, 'needs a node filter, or all_nodes')]:
        assert says in one_line(raw, exc_class, 'create_task', **kwargs)
    assert 'Task \u00b2 not found' in one_line(
        raw, exception.TaskNotFound, 'get_task', task_id='\u00b2')
    assert 'statuses must be a list' in one_line(
        raw, exception.InvalidInput, 'list_tasks', statuses=5)
    # A 2,048-character reference (the longest accepted) is a task that
    # ends with the problem, not a database error.
    doc = api.create_task('validate_design', 'file:///' + 'y' * 2040)
    assert doc['status'] == 'complete'
    assert doc['result']['status'] == 'failure'
    # Nothing refused was recorded: this is the only task.
    assert [t['id'] for t in api.list_tasks()] == [doc['id']]
    assert api.get_deployment_history(doc['id'], nodes=[5]) == []
    assert 'Traceback' not in log.read_text()


def test_a_database_failure_is_an_internal_error_with_a_reference(manager):
    raw, api, log, pg_url = manager
    task = api.create_task('validate_design', DESIGN)
    dsn = pg_url.replace('postgresql+psycopg2://', 'postgresql://')
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute('ALTER TABLE result_message RENAME TO moved')
        text = one_line(raw, exception.InternalError, 'get_task',
                        task_id=task['id'])
    finally:
        with conn.cursor() as cur:
            cur.execute('ALTER TABLE moved RENAME TO result_message')
        conn.close()
    assert text.startswith('Internal error in get_task (reference ')
    reference = text.split('reference ')[1].split(')')[0]
    logged = log.read_text()
    assert 'RPC get_task failed (reference %s)' % reference in logged
    assert 'Traceback' in logged and 'result_message' in logged
    assert api.get_task(task['id'])['id'] == task['id']
