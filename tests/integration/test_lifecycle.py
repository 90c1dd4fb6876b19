"""Nothing stays stuck: leader failover and the reaper, on RabbitMQ + PG."""

import json
import signal
import subprocess
import time

import sqlalchemy as sa
import yaml

import conftest
from drydockd.db.sqlalchemy import api as db_api

FAST = {'manager': {'lease_interval': 0.2, 'lease_grace': 1.5,
                    'executor_timeout': 3},
        'executor': {'heartbeat_interval': 0.5, 'drain_timeout': 2}}


def _config(tmp_path, pg_url, vhost, host):
    extra = {group: dict(opts) for group, opts in FAST.items()}
    extra['DEFAULT'] = {'host': host}
    return conftest.production_config(tmp_path / ('%s.conf' % host), pg_url,
                                      vhost, **extra)


def _migrate(config):
    done = subprocess.run([conftest.BIN + '/drydock-manage', '--config-file',
                           config, 'db', 'upgrade'], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _wait(predicate, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def test_leader_failover_after_kill(tmp_path, pg_url, rabbit_vhost, daemons):
    first = _config(tmp_path, pg_url, rabbit_vhost, 'manager-a')
    second = _config(tmp_path, pg_url, rabbit_vhost, 'manager-b')
    _migrate(first)
    db = db_api.Connection(sa.create_engine(pg_url))
    leader = daemons('manager', first, tmp_path / 'a.log')
    leader.wait_ready()
    assert _wait(lambda: (db.lease_holder() or ('',))[0]
                 .startswith('manager-a'), 10)
    daemons('manager', second, tmp_path / 'b.log').wait_ready()
    time.sleep(1)
    assert db.lease_holder()[0].startswith('manager-a')

    leader.proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    assert _wait(lambda: db.lease_holder()[0].startswith('manager-b'), 10)
    took = time.monotonic() - killed
    grace = FAST['manager']['lease_grace']
    # Takeover waits for the grace period, then at most one renewal tick.
    assert took <= grace + FAST['manager']['lease_interval'] + 1.0, took


def _slow_design(tmp_path):
    design = yaml.safe_load(open(conftest.DEMO_SITE))
    for task in design['deployment_tasks']:
        if 'parameters' in task:
            task['parameters']['duration'] = 1.5
    path = tmp_path / 'slow-site.yaml'
    path.write_text(yaml.safe_dump(design))
    return str(path)


def test_reaper_fails_task_of_killed_executor(tmp_path, pg_url, rabbit_vhost,
                                              daemons):
    config = _config(tmp_path, pg_url, rabbit_vhost, 'exec-host-1')
    _migrate(config)
    for role in ('manager', 'receiver'):
        daemons(role, config, tmp_path / (role + '.log')).wait_ready()
    executor = daemons('executor', config, tmp_path / 'executor.log')
    executor.wait_ready()

    created = conftest.drydock2(config, 'task', 'create', 'deploy_nodes',
                                '--design-ref', _slow_design(tmp_path),
                                '-f', 'json')
    assert created.returncode == 0, created.stderr
    task_id = json.loads(created.stdout)['id']
    db = db_api.Connection(sa.create_engine(pg_url))
    assert _wait(lambda: db.get_task(task_id)['status'] == 'running', 20)
    time.sleep(1)
    executor.proc.send_signal(signal.SIGKILL)

    timeout = FAST['manager']['executor_timeout'] + 5
    assert _wait(lambda: db.get_task(task_id)['status'] == 'complete',
                 timeout, step=0.2)
    task = db.get_task(task_id)
    assert task['result_status'] == 'failure'
    assert task['result_reason'] == 'executor exec-host-1 stopped reporting'
    rows = db.get_history(task_id)
    assert not [r for r in rows if r['status'] in ('pending', 'running')]
    reasons = {r['custom'].get('error_msg') for r in rows
               if r['status'] == 'error'}
    assert 'executor exec-host-1 stopped reporting' in reasons
    nodes = {n['status'] for n in db.list_nodes()}
    assert nodes == {'error'}

    daemons('executor', config, tmp_path / 'executor2.log').wait_ready()
    again = conftest.drydock2(config, 'task', 'create', 'deploy_nodes',
                              '--design-ref', conftest.DEMO_SITE, '--wait',
                              '-f', 'json')
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)['result']['status'] == 'success'


def test_clean_stop_releases_the_lease_at_once(tmp_path, pg_url,
                                               rabbit_vhost, daemons):
    """With a 90 s grace period, a takeover within 20 s (the stop
    included, slow on a loaded machine) can only come from the leader
    releasing its lease on SIGTERM."""
    long_grace = {'lease_interval': 0.2, 'lease_grace': 90}
    configs = []
    for host in ('manager-c', 'manager-d'):
        configs.append(conftest.production_config(
            tmp_path / ('%s.conf' % host), pg_url, rabbit_vhost,
            DEFAULT={'host': host}, manager=long_grace))
    _migrate(configs[0])
    db = db_api.Connection(sa.create_engine(pg_url))
    leader = daemons('manager', configs[0], tmp_path / 'c.log')
    leader.wait_ready()
    assert _wait(lambda: (db.lease_holder() or ('',))[0]
                 .startswith('manager-c'), 10)
    daemons('manager', configs[1], tmp_path / 'd.log').wait_ready()

    stopped = time.monotonic()
    assert leader.stop() == 0
    assert _wait(lambda: db.lease_holder()[0].startswith('manager-d'), 20)
    assert time.monotonic() - stopped < 20
