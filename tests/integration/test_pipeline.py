"""The whole pipeline on RabbitMQ and PostgreSQL, one OS process per part.

manager, executor and receiver run as three ``drydockd`` processes; the
CLI is a fourth. Nothing is skipped: these run in CI against the machine's
broker and database.
"""

import json
import subprocess

import conftest

COLUMNS = ['task_name', 'node_id', 'status', 'time_start', 'time_end']


def _migrate(config):
    result = subprocess.run(
        [conftest.BIN + '/drydock-manage', '--config-file', config, 'db',
         'upgrade'], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_three_processes_deploy_and_history(tmp_path, pg_url, rabbit_vhost,
                                            daemons):
    config = conftest.production_config(tmp_path / 'drydock.conf', pg_url,
                                        rabbit_vhost)
    _migrate(config)
    for role in ('manager', 'executor', 'receiver'):
        daemons(role, config, tmp_path / (role + '.log')).wait_ready()

    created = conftest.drydock2(
        config, 'task', 'create', 'deploy_nodes', '--design-ref',
        conftest.DEMO_SITE, '--wait', '-f', 'json')
    assert created.returncode == 0, created.stderr
    task = json.loads(created.stdout)
    assert task['status'] == 'complete'
    assert task['result']['status'] == 'success'

    shown = conftest.drydock2(config, 'task', 'history', 'show',
                              str(task['id']), '--nodes', '5,6', '-f', 'json')
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert rows and all(list(r) == COLUMNS for r in rows)
    assert {r['node_id'] for r in rows} == {'5', '6'}
    for row in rows:
        assert row['status'] in ('ready', 'skipped')
        assert row['time_start'] <= row['time_end']

    spaced = conftest.drydock2(config, 'task', 'history', 'show',
                               str(task['id']), '--nodes', '5', '6', '-f',
                               'json')
    assert json.loads(spaced.stdout) == rows

    for daemon_log in ('manager', 'executor', 'receiver'):
        text = (tmp_path / (daemon_log + '.log')).read_text()
        assert 'Traceback' not in text, text[-2000:]


def test_daemon_refuses_an_unmigrated_database(tmp_path, pg_url,
                                               rabbit_vhost):
    config = conftest.production_config(tmp_path / 'drydock.conf', pg_url,
                                        rabbit_vhost)
    result = subprocess.run(
        [conftest.BIN + '/drydockd', 'manager', '--config-file', config],
        capture_output=True, text=True, timeout=120,
        env=conftest.daemon_env())
    assert result.returncode == 1
    assert 'run "drydock-manage db upgrade"' in result.stderr
    assert 'Traceback' not in result.stderr
