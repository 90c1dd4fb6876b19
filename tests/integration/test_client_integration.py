"""Other daemons against a real deployment: RabbitMQ and PostgreSQL, with
manager, executor and receiver as separate ``drydockd`` processes.

- examples/other_daemon.py (the program docs/integration.md shows) runs
  unchanged and deploys through plain oslo.messaging;
- the ``drydock_client`` example of docs/integration.md runs, as shown, in
  a fresh process that imports nothing but ``drydock_client``;
- a client pinned to RPC API 1.0 (``version_cap='1.0'``, what a daemon
  built against an older drydock sends) uses every 1.0 method against the
  current server, and is refused 1.1's stop_task before anything is sent.
"""

import os
import subprocess
import sys
import time

import re

import pytest

import conftest
from drydock_client import client as client_lib
from drydock_client import exceptions

EXAMPLE = os.path.join(conftest.ROOT, 'examples', 'other_daemon.py')
DESIGN = 'file://' + conftest.DEMO_SITE


@pytest.fixture
def deployment(tmp_path, pg_url, rabbit_vhost, daemons):
    config = conftest.production_config(tmp_path / 'drydock.conf', pg_url,
                                        rabbit_vhost)
    conftest.migrate(config)
    for role in ('manager', 'executor', 'receiver'):
        daemons(role, config, tmp_path / (role + '.log')).wait_ready()
    yield conftest.RABBIT_URL % rabbit_vhost
    for role in ('manager', 'executor', 'receiver'):
        log = (tmp_path / (role + '.log')).read_text()
        assert 'Traceback' not in log, log[-3000:]


@pytest.fixture
def pinned(deployment):
    """A client pinned to 1.0, as a daemon built against 1.0 has it."""
    api = client_lib.Client.from_url(deployment, version_cap='1.0',
                                     timeout=30, user='compat-test')
    yield api
    api.close()


def test_other_daemon_example_deploys(deployment, pinned):
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

    doc = pinned.get_task(task_id)
    assert doc['created_by'] == 'other-daemon'
    assert doc['node_filter']['filter_set'][0]['node_names'] == [
        'node05', 'node06']
    rows = pinned.get_deployment_history(task_id)
    assert {r['node_id'] for r in rows} >= {'5', '6'}
    assert not {r['node_id'] for r in rows} & {'1', '2', '3', '4'}


def test_docs_client_example_in_a_fresh_process(deployment):
    """The example of docs/integration.md, run as a new daemon would: a
    fresh interpreter that imports drydock_client and nothing of
    drydockd (whose option registration used to hide that requests went
    to oslo.messaging's default ``openstack`` exchange)."""
    with open(os.path.join(conftest.ROOT, 'docs', 'integration.md')) as f:
        docs = f.read()
    section = docs[docs.index('## `drydock_client.client`'):]
    example = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    assert 'rabbit://drydock:SECRET@127.0.0.1:5672/drydock' in example
    example = example.replace(
        'rabbit://drydock:SECRET@127.0.0.1:5672/drydock', deployment
    ).replace('file:///srv/drydock/site.yaml', DESIGN).replace(
        'timeout=3600', 'timeout=120')
    example += ('\nimport sys\n'
                'assert not [m for m in sys.modules '
                'if m.startswith("drydockd")], "imported drydockd"\n')
    result = subprocess.run(
        [sys.executable, '-c', example], capture_output=True, text=True,
        timeout=180, cwd=str(conftest.ROOT), env={
            k: v for k, v in os.environ.items()
            if not k.startswith('DRYDOCK_')})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == 'complete success'


def test_client_pinned_to_1_0_against_current_server(pinned):
    api = pinned
    assert api.can_send_version('1.0')
    assert not api.can_send_version('1.1')

    # create_task (call), get_task by id and uuid, get_deployment_history
    created = api.create_task('deploy_nodes', DESIGN,
                              node_filter={'filter_set_type': 'union',
                                           'filter_set': [{
                                               'filter_type': 'union',
                                               'node_names': ['node01',
                                                              'node04']}]})
    done = api.wait(created['id'], timeout=60, interval=0.2)
    assert done['result']['status'] == 'success'
    assert api.get_task(created['task_id']) == done
    rows = api.get_deployment_history(created['id'], nodes=['4'],
                                      statuses=['ready'])
    assert rows and {r['node_id'] for r in rows} == {'4'}

    # stop_task is 1.1: refused here, before anything is sent.
    with pytest.raises(exceptions.UnsupportedVersion) as refused:
        api.stop_task(created['id'])
    assert refused.value.message == ('stop_task needs RPC API 1.1; the '
                                     'version cap is 1.0')

    # create_task (cast): fire and forget, then found through list_tasks.
    api.create_task_async('validate_design', DESIGN)
    deadline = time.monotonic() + 30
    listed = []
    while time.monotonic() < deadline and (
            len(listed) < 2 or listed[0]['status'] != 'complete'):
        listed = api.list_tasks()
        time.sleep(0.2)
    assert [t['action'] for t in listed] == ['validate_design',
                                             'deploy_nodes']
    assert listed[0]['result'] == 'success'
    assert [t['id'] for t in api.list_tasks(
        statuses=['complete'])] == [t['id'] for t in listed]

    # delete_task, then the deleted task is only listed on request.
    api.delete_task(created['id'])
    assert created['id'] not in [t['id'] for t in api.list_tasks()]
    assert created['id'] in [t['id'] for t in
                             api.list_tasks(include_deleted=True)]

    # Typed errors cross the wire for 1.0 callers too.
    with pytest.raises(exceptions.TaskNotFound):
        api.get_task(987654)
    with pytest.raises(exceptions.InvalidInput):
        api.get_deployment_history(created['id'], statuses=['bogus'])


def test_friendly_client_reports_unreachable_broker():
    with pytest.raises(exceptions.BrokerUnreachable) as unreachable:
        client_lib.Client.from_url('rabbit://guest:guest@127.0.0.1:1/x',
                                   connect_timeout=2)
    assert unreachable.value.args[0].startswith(
        'Cannot reach the message broker at 127.0.0.1:1 (')
