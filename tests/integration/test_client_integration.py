"""Other daemons against a real deployment: RabbitMQ and PostgreSQL, with
manager, executor and receiver as separate ``drydockd`` processes.

- examples/other_daemon.py (the program docs/integration.md shows) runs
  unchanged and deploys through plain oslo.messaging;
- a client pinned to RPC API 1.0 (``version_cap='1.0'``, what a daemon
  built against an older drydock sends) uses every 1.0 method against the
  current server, and is refused 1.1's stop_task before anything is sent.
"""

import os
import subprocess
import sys
import time

import oslo_messaging as messaging
import pytest
from oslo_config import cfg

import conftest
from drydock_client import client as client_lib
from drydock_client import rpcapi
from drydockd.api import rpc
from drydockd.common import exception

EXAMPLE = os.path.join(conftest.ROOT, 'examples', 'other_daemon.py')
DESIGN = 'file://' + conftest.DEMO_SITE
CTXT = {'user': 'compat-test'}


@pytest.fixture
def deployment(tmp_path, pg_url, rabbit_vhost, daemons):
    config = conftest.production_config(tmp_path / 'drydock.conf', pg_url,
                                        rabbit_vhost)
    migrated = subprocess.run(
        [os.path.join(conftest.BIN, 'drydock-manage'), '--config-file',
         config, 'db', 'upgrade'], capture_output=True, text=True,
        timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    for role in ('manager', 'executor', 'receiver'):
        daemons(role, config, tmp_path / (role + '.log')).wait_ready()
    yield conftest.RABBIT_URL % rabbit_vhost
    for role in ('manager', 'executor', 'receiver'):
        log = (tmp_path / (role + '.log')).read_text()
        assert 'Traceback' not in log, log[-3000:]


@pytest.fixture
def transport(deployment):
    rpc.register_opts(cfg.CONF)
    transport = messaging.get_rpc_transport(
        cfg.CONF, url=deployment, allowed_remote_exmods=rpc.ALLOWED_EXMODS)
    yield transport
    transport.cleanup()


def _until_final(api, task_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = api.get_task(CTXT, task_id)
        if doc['status'] in client_lib.FINAL_STATUSES:
            return doc
        time.sleep(0.2)
    raise AssertionError('task %s did not end: %s' % (task_id, doc))


def test_other_daemon_example_deploys(deployment, transport):
    result = subprocess.run(
        [sys.executable, EXAMPLE, deployment, DESIGN,
         'node05', 'node06'], capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items()
             if not k.startswith('DRYDOCK_')})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == 'cast create_task deploy_nodes %s' % DESIGN
    task_id = int(lines[-2].split()[1])
    assert lines[-2] == 'task %d complete: success' % task_id
    assert lines[-1] == 'unknown task: TaskNotFound'

    api = rpcapi.DrydockAPI(transport, version_cap='1.0')
    doc = api.get_task(CTXT, task_id)
    assert doc['created_by'] == 'other-daemon'
    assert doc['node_filter']['filter_set'][0]['node_names'] == [
        'node05', 'node06']
    rows = api.get_deployment_history(CTXT, task_id)
    assert {r['node_id'] for r in rows} >= {'5', '6'}
    assert not {r['node_id'] for r in rows} & {'1', '2', '3', '4'}


def test_client_pinned_to_1_0_against_current_server(transport):
    api = rpcapi.DrydockAPI(transport, version_cap='1.0', timeout=30)
    assert api.client.can_send_version('1.0')
    assert not api.client.can_send_version('1.1')

    # create_task (call), get_task by id and uuid, get_deployment_history
    created = api.create_task(CTXT, 'deploy_nodes', DESIGN,
                              node_filter={'filter_set_type': 'union',
                                           'filter_set': [{
                                               'filter_type': 'union',
                                               'node_names': ['node01',
                                                              'node04']}]})
    done = _until_final(api, created['id'])
    assert done['result']['status'] == 'success'
    assert api.get_task(CTXT, created['task_id']) == done
    rows = api.get_deployment_history(CTXT, created['id'], nodes=['4'],
                                      statuses=['ready'])
    assert rows and {r['node_id'] for r in rows} == {'4'}

    # stop_task is 1.1: refused here, before anything is sent.
    with pytest.raises(exception.InvalidInput) as refused:
        api.stop_task(CTXT, created['id'])
    assert refused.value.args[0] == ('Invalid input: stop_task needs RPC '
                                     'API 1.1; version_cap is lower')

    # create_task (cast): fire and forget, then found through list_tasks.
    api.create_task(CTXT, 'validate_design', DESIGN, cast=True)
    deadline = time.monotonic() + 30
    listed = []
    while time.monotonic() < deadline and (
            len(listed) < 2 or listed[0]['status'] != 'complete'):
        listed = api.list_tasks(CTXT)
        time.sleep(0.2)
    assert [t['action'] for t in listed] == ['validate_design',
                                             'deploy_nodes']
    assert listed[0]['result'] == 'success'
    assert [t['id'] for t in api.list_tasks(
        CTXT, statuses=['complete'])] == [t['id'] for t in listed]

    # delete_task, then the deleted task is only listed on request.
    api.delete_task(CTXT, created['id'])
    assert created['id'] not in [t['id'] for t in api.list_tasks(CTXT)]
    assert created['id'] in [t['id'] for t in
                             api.list_tasks(CTXT, include_deleted=True)]

    # Typed errors cross the wire for 1.0 callers too.
    with pytest.raises(exception.TaskNotFound):
        api.get_task(CTXT, 987654)
    with pytest.raises(exception.InvalidInput):
        api.get_deployment_history(CTXT, created['id'], statuses=['bogus'])


def test_friendly_client_reports_unreachable_broker():
    with pytest.raises(client_lib.BrokerUnreachable) as unreachable:
        client_lib.Client.from_url('rabbit://guest:guest@127.0.0.1:1/x',
                                   connect_timeout=2)
    assert unreachable.value.args[0].startswith(
        'Cannot reach the message broker at 127.0.0.1:1 (')
