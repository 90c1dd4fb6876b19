"""The embedded default end to end: all-in-one daemon plus the CLI.

SQLite and the broker-less work plane only; the CLI hosts the API
endpoints in its own process.
"""

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
import yaml

import conftest
from drydockd.db.sqlalchemy import api as db_api


@pytest.fixture
def aio(embedded_config, tmp_path, daemons):
    daemons('all-in-one', embedded_config, tmp_path / 'aio.log').wait_ready()
    return embedded_config


def _cli(config, *args):
    return conftest.drydock2(config, *args)


def _deploy(config, design):
    result = _cli(config, 'task', 'create', 'deploy_nodes', '--design-ref',
                  str(design), '--wait', '-f', 'json')
    return result, json.loads(result.stdout) if result.stdout else None


def test_deploy_and_history_filters(aio):
    result, task = _deploy(aio, conftest.DEMO_SITE)
    assert result.returncode == 0, result.stderr
    assert task['id'] == 1 and task['result']['status'] == 'success'

    rows = json.loads(_cli(aio, 'task', 'history', 'show', '1', '--nodes',
                           '5,6', '-f', 'json').stdout)
    assert {r['node_id'] for r in rows} == {'5', '6'}
    assert all(r['status'] in ('ready', 'skipped') for r in rows)
    assert all(r['time_start'] <= r['time_end'] for r in rows)
    spaced = json.loads(_cli(aio, 'task', 'history', 'show', '1', '--nodes',
                             '5', '6', '-f', 'json').stdout)
    assert spaced == rows
    # The id may follow the list options (argparse hands it to them).
    for args in (('--nodes', '5,6', '1'), ('--nodes', '5', '6', '1'),
                 ('--nodes', '5,6', '--statuses', 'ready', 'skipped', '1')):
        after = _cli(aio, 'task', 'history', 'show', *args, '-f', 'json')
        assert after.returncode == 0, after.stderr
        assert json.loads(after.stdout) == rows
    missing = _cli(aio, 'task', 'history', 'show', '--nodes', '5,6')
    assert missing.returncode == 2
    assert 'the following arguments are required: id' in missing.stderr

    named = json.loads(_cli(aio, 'task', 'history', 'show', '1',
                            '--tasks-names', 'hiera,netconfig', '--statuses',
                            'ready', '-f', 'json').stdout)
    assert {r['task_name'] for r in named} == {'hiera', 'netconfig'}
    assert len(named) == 16

    everything = json.loads(_cli(aio, 'task', 'history', 'show', '1', '-f',
                                 'json').stdout)
    nodes = {r['node_id'] for r in everything}
    assert nodes == {str(i) for i in range(1, 9)} | {'master', 'null'}


# Runs drydock2 in-process, then says whether SQLAlchemy got imported.
PROBE = """
import sys
from drydock_client.cli import shell
code = shell.main(sys.argv[1:])
print('sqlalchemy imported: %s' % ('sqlalchemy' in sys.modules))
sys.exit(code)
"""


def _imports_sqlalchemy(config, *args):
    env = dict(os.environ)
    env.pop('DRYDOCK_CONFIG', None)
    env.pop('DRYDOCK_TRANSPORT_URL', None)
    probe = subprocess.run([sys.executable, '-c', PROBE, '--config-file',
                            config] + list(args), capture_output=True,
                           text=True, timeout=120, env=env)
    assert probe.returncode == 0, probe.stderr
    return probe.stdout.splitlines()[-1] == 'sqlalchemy imported: True'


def test_the_commonest_reads_import_no_sqlalchemy(aio):
    """``task show`` and ``task history show`` read the SQLite file with
    sqlite3 (db.sqlite_reads): importing SQLAlchemy would cost more than
    the read (issue 11). Other commands load the backend."""
    result, _ = _deploy(aio, conftest.DEMO_SITE)
    assert result.returncode == 0, result.stderr
    assert not _imports_sqlalchemy(aio, 'task', 'show', '1')
    assert not _imports_sqlalchemy(aio, 'task', 'history', 'show', '1',
                                   '--nodes', '5,6', '-f', 'json')
    assert _imports_sqlalchemy(aio, 'task', 'list')


def test_history_errors(aio):
    missing = _cli(aio, 'task', 'history', 'show', '99')
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Task 99 not found'

    bad = _cli(aio, 'task', 'history', 'show', '1', '--statuses', 'bogus')
    assert bad.returncode == 2
    assert 'bogus' in bad.stderr
    for status in ('pending', 'running', 'ready', 'error', 'skipped'):
        assert status in bad.stderr


def test_failed_graph_task(aio, tmp_path):
    design = yaml.safe_load(open(conftest.DEMO_SITE))
    for task in design['deployment_tasks']:
        if task['id'] == 'netconfig':
            task['parameters']['fail_on'] = ['5']
    path = tmp_path / 'failing-site.yaml'
    path.write_text(yaml.safe_dump(design))

    result, task = _deploy(aio, path)
    assert result.returncode == 1
    assert task['status'] == 'complete'
    assert task['result']['status'] in ('partial_success', 'failure')

    # A table shows the result readably: its status, message and error
    # count, each message on its own line; -f json keeps the document.
    def shown(column):
        return _cli(aio, 'task', 'show', str(task['id']), '-f', 'value',
                    '-c', column).stdout.splitlines()
    assert shown('result') == [task['result']['status']]
    assert shown('error_count') == [
        str(task['result']['details']['errorCount'])]
    assert shown('messages') == [
        ('ERROR ' if m['error'] else '') + m['message']
        for m in task['result']['details']['messageList']]
    table = _cli(aio, 'task', 'show', str(task['id'])).stdout
    assert "{'Kind'" not in table and "'status':" not in table
    assert max(len(line) for line in table.splitlines()) < 120

    rows = json.loads(_cli(aio, 'task', 'history', 'show', str(task['id']),
                           '--nodes', '5', '-f', 'json').stdout)
    by_name = {r['task_name']: r['status'] for r in rows}
    assert by_name['netconfig'] == 'error'
    assert by_name['hiera'] == 'ready'
    assert 'pending' not in by_name.values()
    assert 'running' not in by_name.values()

    url = 'sqlite:///%s/drydock.sqlite' % tmp_path
    conn = db_api.Connection(sa.create_engine(url))
    history = conn.get_history(task['id'], nodes=['5'])
    reasons = {r['task_name']: r['custom'].get('error_msg') for r in history
               if r['status'] == 'error'}
    assert 'simulated failure' in reasons['netconfig']
    dependants = set(reasons) - {'netconfig'}
    assert dependants, 'tasks after netconfig on node 5 must fail too'
    for name in dependants:
        assert reasons[name].startswith('dependency '), reasons[name]
        assert 'failed' in reasons[name]


def _site(tmp_path, name, change):
    design = yaml.safe_load(open(conftest.DEMO_SITE))
    change(design)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(design))
    return str(path)


def _fail_netconfig_on_node5(design):
    for task in design['deployment_tasks']:
        if task['id'] == 'netconfig':
            task['parameters']['fail_on'] = ['5']


def _add_failing_master_task(design):
    # Nothing depends on it: every node still succeeds.
    design['deployment_tasks'].append({
        'id': 'notify_monitoring', 'type': 'master_shell',
        'roles': ['master'], 'parameters': {'command': 'notify',
                                            'duration': 0.1, 'fail': True}})


def test_one_node_deployment_counts_one_node(aio, tmp_path):
    """Only nodes vote and are counted: the master and the sync node,
    which run graph tasks of every deployment, are not "nodes". A failure
    on them still fails the deployment, and the message says where."""
    cases = [
        (conftest.DEMO_SITE, 0, 'success',
         '1 of 1 nodes succeeded, 0 failed'),
        (_site(tmp_path, 'fails.yaml', _fail_netconfig_on_node5), 1,
         'failure', '0 of 1 nodes succeeded, 1 failed'),
        (_site(tmp_path, 'master.yaml', _add_failing_master_task), 1,
         'failure', '1 of 1 nodes succeeded, 0 failed; graph tasks failed '
                    'on master'),
    ]
    for design, code, status, message in cases:
        result = _cli(aio, 'task', 'create', 'deploy_nodes', '--design-ref',
                      design, '--nodes', 'node05', '--wait', '-f', 'json')
        assert result.returncode == code, result.stderr
        got = json.loads(result.stdout)['result']
        assert got['status'] == status, (design, got)
        assert got['message'].startswith(message), (design, got)
        errors = [m for m in got['details']['messageList'] if m['error']]
        assert got['details']['errorCount'] == len(errors), got
