"""Deployments of thousands of nodes run; what cannot run is refused
when it is created, naming the limit, and never holds nodes.

Embedded default (SQLite, broker-less work plane), fake node transport.
The work message carries the graph's compact spec; with the graph inline
a 1,100-node x 50-task design made an 8.7 MB message that the executor
dead-lettered while the task sat ``queued`` holding every node.
"""

import json
import sqlite3

import pytest

import conftest

TASKS = 50


def _site(path, nodes, tasks=TASKS):
    """``nodes`` nodes, each running a chain of ``tasks`` graph tasks
    (two of them stages on the sync node), instant on the fake
    transport. At 1,100 nodes its graph inline is 9.6 MB, over the
    default 8 MiB ``max_message_bytes``."""
    deployment, previous = [], None
    for i in range(1, tasks + 1):
        if i in (17, 34):
            task = {'id': 'stage%02d' % i, 'type': 'stage'}
        else:
            task = {'id': 't%02d' % i, 'type': 'shell', 'roles': ['*'],
                    'parameters': {
                        'command': '/usr/local/bin/deploy-step %d' % i,
                        'timeout': 600}}
        if previous:
            task['requires'] = [previous]
        deployment.append(task)
        previous = task['id']
    design = {'nodes': [{'id': i, 'name': 'node%05d' % i,
                         'roles': ['compute']}
                        for i in range(1, nodes + 1)],
              'deployment_tasks': deployment}
    path.write_text(json.dumps(design))
    return 'file://%s' % path


def _config(tmp_path, name, **groups):
    groups.setdefault('DEFAULT', {}).update(state_path=tmp_path,
                                            host='big-test')
    groups.setdefault('executor', {}).setdefault('report_interval', 0.05)
    groups.setdefault('receiver', {}).setdefault('batch_window_ms', 20)
    return conftest.write_config(tmp_path / name, **groups)


def _rows(tmp_path, sql, *args):
    with sqlite3.connect(tmp_path / 'drydock.sqlite') as db:
        return db.execute(sql, args).fetchall()


@pytest.mark.timeout(900)
def test_1100_nodes_by_50_tasks_run_end_to_end(tmp_path, daemons):
    config = _config(tmp_path, 'drydock.conf')
    daemons('all-in-one', config, tmp_path / 'aio.log').wait_ready()
    design = _site(tmp_path / 'big.json', 1100)
    done = conftest.drydock2(config, 'task', 'create', 'deploy_nodes',
                             '--design-ref', design, '--wait',
                             '--max-wait', '800', '-f', 'json', timeout=850)
    assert done.returncode == 0, done.stderr
    task = json.loads(done.stdout)
    assert (task['status'], task['result']['status']) == (
        'complete', 'success')
    counts = dict(_rows(tmp_path, 'SELECT status, count(*) FROM '
                        'deployment_history WHERE task_id = ? GROUP BY '
                        'status', task['id']))
    assert counts == {'ready': 1100 * (TASKS - 2) + 2}
    assert _rows(tmp_path, 'SELECT count(*) FROM nodes WHERE reservation '
                 'IS NOT NULL') == [(0,)]


def _refused(config, design, message):
    result = conftest.drydock2(config, 'task', 'create', 'deploy_nodes',
                               '--design-ref', design)
    assert result.returncode == 1
    assert result.stderr.strip() == message


def test_over_the_limits_is_refused_before_anything_is_held(tmp_path):
    design = _site(tmp_path / 'site.json', 40, tasks=10)
    few_tasks = _config(tmp_path, 'tasks.conf',
                        graph={'max_deployment_tasks': 300})
    _refused(few_tasks, design,
             'Invalid input: this deployment has 400 node tasks (nodes x '
             'graph tasks), over [graph] max_deployment_tasks (300); select '
             'fewer nodes, or raise the limit on every drydock host')
    small_messages = _config(tmp_path, 'bytes.conf',
                             DEFAULT={'max_message_bytes': 2048})
    result = conftest.drydock2(small_messages, 'task', 'create',
                               'deploy_nodes', '--design-ref', design)
    assert result.returncode == 1
    assert result.stderr.startswith('Invalid input: the work message of '
                                    'this task would be ')
    assert 'over [DEFAULT] max_message_bytes (2048)' in result.stderr
    assert _rows(tmp_path, 'SELECT count(*) FROM tasks') == [(0,)]


def test_an_executor_with_a_lower_limit_ends_the_task(tmp_path, daemons):
    """The manager allows more than this executor: the executor refuses
    the message (dead-lettered) and tells the task why, which ends it
    and frees its nodes instead of leaving it queued."""
    executor = _config(tmp_path, 'executor.conf',
                       DEFAULT={'max_message_bytes': 4096})
    daemons('all-in-one', executor, tmp_path / 'aio.log').wait_ready()
    manager = _config(tmp_path, 'manager.conf')
    design = _site(tmp_path / 'site.json', 60, tasks=4)
    done = conftest.drydock2(manager, 'task', 'create', 'deploy_nodes',
                             '--design-ref', design, '--wait', '-f', 'json')
    assert done.returncode == 1
    task = json.loads(done.stdout)
    assert task['status'] == 'complete'
    assert task['result']['status'] == 'failure'
    assert 'exceeds the limit of 4096' in task['result']['reason']
    assert _rows(tmp_path, 'SELECT count(*) FROM nodes WHERE reservation '
                 'IS NOT NULL') == [(0,)]
