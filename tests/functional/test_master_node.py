"""The master node is not a shell for callers: drydock2 as an outsider.

The embedded default with no [site] options: the demo design's
master_shell task is refused when the task is created, a design outside
the design roots is refused before it is read, and an executor whose own
config does not allow a master command refuses it even when the manager
let it through.
"""

import json
import os
import sqlite3

import conftest

REFUSED = ('deployment_task upload_repos.type: runs a command on the master '
           'node, and master-node commands are off ([site] '
           'allow_master_shell)')


def _plain_config(tmp_path, name='drydock.conf', **groups):
    """The embedded default in ``tmp_path``, with no [site] options."""
    groups.setdefault('DEFAULT', {}).update(state_path=tmp_path)
    return conftest.write_config(tmp_path / name, **groups)


def _tasks(config):
    listed = conftest.drydock2(config, 'task', 'list', '-f', 'json')
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def test_a_master_shell_design_is_refused_naming_the_task(tmp_path):
    config = _plain_config(tmp_path)
    for action in ('deploy_nodes', 'prepare_site'):
        result = conftest.drydock2(config, 'task', 'create', action,
                                   '--design-ref', conftest.DEMO_SITE)
        assert result.returncode == 1
        assert result.stderr.count('\n') == 1, result.stderr
        assert REFUSED in result.stderr
        assert 'Traceback' not in result.stderr
    assert _tasks(config) == []
    validated = conftest.drydock2(config, 'design', 'validate',
                                  conftest.DEMO_SITE, '-f', 'json')
    assert validated.returncode == 1
    assert json.loads(validated.stdout) == [
        {'context': 'deployment_task upload_repos.type',
         'problem': REFUSED.partition('.type: ')[2]}]


def test_a_design_outside_the_roots_is_refused_before_it_is_read(tmp_path):
    state = tmp_path / 'state'
    state.mkdir()
    config = _plain_config(state)
    outside = tmp_path / 'site.yaml'
    os.mkfifo(outside)          # reading it would block: it is never read
    for args in (('task', 'create', 'deploy_nodes', '--design-ref',
                  str(outside)),
                 ('design', 'validate', str(outside))):
        result = conftest.drydock2(config, *args, timeout=60)
        assert result.returncode == 1
        assert result.stderr.startswith(
            'Invalid input: design_ref file://%s is outside the directories '
            'designs may be read from ([site] design_file_roots: '
            '/etc/drydock, /srv/drydock, %s' % (outside, state)), \
            result.stderr
        assert result.stderr.count('\n') == 1
    assert _tasks(config) == []
    http = conftest.drydock2(config, 'design', 'validate',
                             'http://127.0.0.1:15672/api/users')
    assert http.returncode == 1
    assert '([site] design_http_hosts: none)' in http.stderr


def test_the_executor_refuses_what_its_own_config_does_not_allow(
        tmp_path, daemons):
    """The manager (the CLI's embedded API) allows sync-repos; the
    all-in-one daemon, whose executor runs it, does not."""
    daemon_config = _plain_config(tmp_path, 'daemon.conf',
                                  executor={'report_interval': 0.05},
                                  receiver={'batch_window_ms': 20})
    daemons('all-in-one', daemon_config,
            tmp_path / 'aio.log').wait_ready()
    cli_config = _plain_config(tmp_path, 'cli.conf',
                               site=dict(conftest.TEST_SITE))
    result = conftest.drydock2(cli_config, 'task', 'create', 'deploy_nodes',
                               '--design-ref', conftest.DEMO_SITE,
                               '--nodes', 'node05', '--wait', '-f', 'json')
    assert result.returncode == 1, result.stderr
    task = json.loads(result.stdout)
    assert task['result']['status'] == 'failure'
    rows = json.loads(conftest.drydock2(
        cli_config, 'task', 'history', 'show', str(task['id']), '--nodes',
        'master', '-f', 'json').stdout)
    assert [(r['task_name'], r['status']) for r in rows] == [
        ('upload_repos', 'error')]
    with sqlite3.connect(tmp_path / 'drydock.sqlite') as db:
        (custom,), = db.execute(
            "SELECT custom FROM deployment_history WHERE node_id = 'master'")
    assert json.loads(custom)['error_msg'] == (
        'refused on this executor: task upload_repos '
        + REFUSED.partition('.type: ')[2])
