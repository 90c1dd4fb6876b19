"""Two managers, two executors and two receivers; kill -9 any one of them
in the middle of a deployment (issue 15).

On RabbitMQ and PostgreSQL, the 200-node design of the fault tests:

1. kill -9 a receiver and the manager holding the leader lease: the other
   receiver takes the reports the dead one held unacknowledged, the other
   manager takes the lease; the deployment completes with its designed
   outcome.
2. kill -9 the executor running the next deployment: its work is gone
   with it, so the leader fails the task after ``executor_timeout`` with
   the reason and frees its nodes.
3. the survivors carry on: a third deployment completes.
"""

import json
import signal
import time

import pytest
import sqlalchemy as sa

import conftest
import faults_support as fs

DURATION = 1.8
EXECUTOR_TIMEOUT = 15


class Fleet:
    """Two of each daemon, each with its own ``[DEFAULT] host``."""

    def __init__(self, tmp_path, pg_url, vhost, daemons):
        self.tmp_path, self.pg_url, self.vhost = tmp_path, pg_url, vhost
        self._daemons = daemons
        self.engine = sa.create_engine(pg_url)
        self.procs = {}
        self.config = self._config('cli')
        conftest.migrate(self.config)
        for role in ('manager', 'executor', 'receiver'):
            for i in (1, 2):
                host = '%s-%d' % (role, i)
                daemon = daemons(role, self._config(host),
                                 tmp_path / (host + '.log'))
                self.procs[host] = daemon
        for daemon in self.procs.values():
            daemon.wait_ready()

    def _config(self, host):
        return conftest.production_config(
            self.tmp_path / ('%s.conf' % host), self.pg_url, self.vhost,
            DEFAULT={'host': host},
            graph={'max_busy_nodes': 250},
            manager={'executor_timeout': EXECUTOR_TIMEOUT,
                     'lease_interval': 1, 'lease_grace': 5})

    def kill(self, host):
        daemon = self.procs[host]
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(30)

    def alive(self):
        return sorted(h for h, d in self.procs.items()
                      if d.proc.poll() is None)

    def leader(self):
        """The host of the manager holding the leader lease."""
        with self.engine.connect() as conn:
            identity = conn.execute(sa.text(
                'SELECT identity FROM active_instance')).scalar()
        return identity.split(':')[0]

    def create(self, design):
        created = conftest.drydock2(
            self.config, 'task', 'create', 'deploy_nodes', '--design-ref',
            design, '-f', 'json')
        assert created.returncode == 0, created.stderr
        return json.loads(created.stdout)['id']

    def wait_rows(self, task_id, ready, timeout=90):
        deadline = time.monotonic() + timeout
        while fs.deployment_state(self.engine, task_id)['rows'].get(
                'ready', 0) < ready:
            assert time.monotonic() < deadline, 'the deployment stalled'
            time.sleep(0.2)

    def wait_final(self, task_id, timeout=240):
        deadline = time.monotonic() + timeout
        while True:
            state = fs.deployment_state(self.engine, task_id)
            if state['task'] in ('complete', 'terminated') and \
                    not state['open_rows']:
                return fs.snapshot(self.engine, task_id)
            assert time.monotonic() < deadline, state
            time.sleep(0.5)

    def held_nodes(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(
                'SELECT count(*) FROM nodes WHERE reservation IS NOT NULL'
            )).scalar()

    def executor_of(self, task_id):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(
                'SELECT executor_host FROM tasks WHERE id = :i'),
                {'i': task_id}).scalar()


@pytest.fixture
def fleet(tmp_path, pg_url, rabbit_vhost, daemons):
    return Fleet(tmp_path, pg_url, rabbit_vhost, daemons)


def test_kill_any_one_daemon_mid_deployment(tmp_path, fleet):
    design = fs.write_design(tmp_path / 'site.yaml', duration=DURATION)

    # 1. A receiver and the leader go; the deployment completes.
    first = fleet.create(design)
    fleet.wait_rows(first, 200)
    leader = fleet.leader()
    fleet.kill('receiver-1')
    fleet.kill(leader)
    done = fleet.wait_final(first)
    fs.check_outcome(done)
    assert fleet.held_nodes() == 0
    # The other manager took the lease.
    deadline = time.monotonic() + 30
    while fleet.leader() == leader:
        assert time.monotonic() < deadline, 'nobody took the lease'
        time.sleep(0.5)

    # 2. The executor running the next one goes: the task ends, with the
    # reason, and frees every node.
    second = fleet.create(design)
    fleet.wait_rows(second, 200)
    executor = fleet.executor_of(second)
    assert executor in ('executor-1', 'executor-2'), executor
    fleet.kill(executor)
    ended = fleet.wait_final(second, timeout=EXECUTOR_TIMEOUT * 4 + 60)
    assert ended['task']['status'] == 'complete'
    assert ended['task']['result_status'] == 'failure', ended['task']
    assert 'executor' in ended['task']['result_message'], ended['task']
    assert fleet.held_nodes() == 0

    # 3. The survivors carry on.
    third = fleet.create(design)
    fs.check_outcome(fleet.wait_final(third))
    assert fleet.held_nodes() == 0
    assert fleet.alive() == sorted(
        {'manager-1', 'manager-2', 'executor-1', 'executor-2', 'receiver-2'}
        - {leader, executor})
