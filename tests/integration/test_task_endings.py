"""Every task ends and frees its nodes, whatever breaks around it.

Real ``drydockd`` processes on RabbitMQ (a vhost of the test's own) and
PostgreSQL. An outage is shown to one process only: its work plane goes
through a proxy the test freezes or cuts, so the shared broker is never
disturbed.
"""

import json
import os
import signal
import subprocess
import time
import uuid

import psycopg2
import sqlalchemy as sa
import yaml

import conftest
import faults_support as fs
from drydockd.db.sqlalchemy import api as db_api
from tcp_proxy import FreezableProxy

FAST = {'manager': {'lease_interval': 0.2, 'lease_grace': 1.5,
                    'executor_timeout': 3},
        'executor': {'heartbeat_interval': 0.3, 'drain_timeout': 3}}
NODES = ['node05', 'node06']


def _config(tmp_path, pg_url, vhost, name, **extra):
    groups = {group: dict(opts) for group, opts in FAST.items()}
    groups.setdefault('DEFAULT', {})['host'] = name
    for group, opts in extra.items():
        groups.setdefault(group, {}).update(opts)
    return conftest.production_config(tmp_path / ('%s.conf' % name), pg_url,
                                      vhost, **groups)


def _through(proxy, vhost):
    return 'amqp://guest:guest@127.0.0.1:%d/%s' % (proxy.port, vhost)


def _wait(predicate, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def _design(tmp_path, duration, chain=0):
    """The demo site with every task ``duration`` s long, and ``chain``
    more shell tasks after the last one, so a deployment lasts."""
    design = yaml.safe_load(open(conftest.DEMO_SITE))
    for task in design['deployment_tasks']:
        if 'parameters' in task:
            task['parameters']['duration'] = duration
    previous = 'deployment_end'
    for i in range(chain):
        name = 'after_%02d' % i
        design['deployment_tasks'].append({
            'id': name, 'type': 'shell', 'roles': ['*'],
            'requires': [previous],
            'parameters': {'command': name, 'duration': duration}})
        previous = name
    path = tmp_path / ('site-%s.yaml' % uuid.uuid4().hex[:6])
    path.write_text(yaml.safe_dump(design))
    return str(path)


class Db:
    """The deployment's database, read as an operator's tools would."""

    def __init__(self, pg_url):
        self.engine = sa.create_engine(pg_url)
        self.api = db_api.Connection(self.engine)

    def tasks(self):
        return self.api.list_tasks()

    def task(self, task_id):
        return self.api.get_task(task_id)

    def holders(self, names=NODES):
        return {n['name']: n['reservation'] for n in self.api.list_nodes()
                if n['name'] in names}

    def ended(self, task_id, timeout):
        return _wait(lambda: self.task(task_id)['status'] in (
            'complete', 'terminated'), timeout)

    def close(self):
        self.engine.dispose()


def _deploy(config, design, *extra, wait=True):
    args = ['task', 'create', 'deploy_nodes', '--design-ref', design,
            '--nodes', ','.join(NODES), '-f', 'json'] + list(extra)
    if wait:
        args.append('--wait')
    return conftest.drydock2(config, *args)


class Capture:
    """A copy of every report the receiver gets, kept in order."""

    def __init__(self, vhost, name):
        self.vhost = vhost
        self.queue = fs.bind_capture_queue(vhost, name)
        self.reports = []

    def of(self, task_uuid):
        self.reports += [json.loads(m.body) for m in fs.drain(
            self.vhost, self.queue.name, idle=0.5)]
        return [r for r in self.reports
                if r['args'].get('task_uuid') == task_uuid]

    def ended(self, task_uuid):
        """The reports of the task up to its executor's final one."""
        reports = self.of(task_uuid)
        if any(r['args'].get('status') not in (None, 'running')
               for r in reports):
            return reports
        return None


def _entries(reports):
    return [e for r in reports for e in r['args'].get('nodes', [])
            if 'deployment_graph_task_name' in e]


def test_manager_killed_between_commit_and_cast(tmp_path, pg_url,
                                                rabbit_vhost, daemons):
    """The manager's work plane hangs (a frozen proxy), so it is held
    between its commit and its cast; kill -9 it there. Another manager's
    reaper ends the task and frees its nodes."""
    proxy = FreezableProxy(5672)
    proxy.freeze()
    db = Db(pg_url)
    try:
        stuck = _config(tmp_path, pg_url, rabbit_vhost, 'manager-a',
                        DEFAULT={'work_transport_url':
                                 _through(proxy, rabbit_vhost),
                                 'publish_timeout': 300})
        good = _config(tmp_path, pg_url, rabbit_vhost, 'manager-b')
        conftest.migrate(good)
        manager = daemons('manager', stuck, tmp_path / 'a.log')
        manager.wait_ready()
        cli = subprocess.Popen(
            [os.path.join(conftest.BIN, 'drydock2'), '--config-file', good,
             'task', 'create', 'deploy_nodes', '--design-ref',
             conftest.DEMO_SITE, '--nodes', ','.join(NODES)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            tasks = _wait(db.tasks, 60)
            assert [t['status'] for t in tasks] == ['requested']
            manager.proc.send_signal(signal.SIGKILL)
            manager.proc.wait(10)
        finally:
            cli.kill()
            cli.wait()
        task = tasks[0]
        assert set(db.holders().values()) == {task['id']}

        for role in ('manager', 'executor', 'receiver'):
            daemons(role, good, tmp_path / ('%s.log' % role)).wait_ready()
        assert db.ended(task['id'], 30), db.task(task['id'])
        ended = db.task(task['id'])
        assert (ended['result_status'], ended['result_reason']) == (
            'failure', 'task was never handed to an executor: the manager '
                       'creating it stopped before its cast')
        assert set(db.holders().values()) == {None}
        rows = db.api.get_history(task['id'])
        assert rows and {r['status'] for r in rows} <= {'error', 'skipped'}

        again = _deploy(good, conftest.DEMO_SITE)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)['result']['status'] == 'success'
    finally:
        db.close()
        proxy.close()


_REFUSE_QUEUED = """
CREATE FUNCTION refuse_queued() RETURNS trigger AS $$
BEGIN
  IF NEW.status = 'queued' THEN
    RAISE EXCEPTION 'simulated failure of the database';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER refuse_queued BEFORE UPDATE ON tasks
  FOR EACH ROW EXECUTE FUNCTION refuse_queued();
"""


def _psql(pg_url, sql):
    conn = psycopg2.connect(dbname=pg_url.rsplit('/', 1)[1],
                            host='127.0.0.1', user='postgres')
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def test_database_error_after_the_row_exists(tmp_path, pg_url, rabbit_vhost,
                                             daemons):
    """The database fails the manager after the task row and its cast
    (a trigger refuses "queued"): the task ends at once, its nodes are
    freed, the caller hears one line. The executor that later takes the
    work message is told to stop it: the task had ended."""
    config = _config(tmp_path, pg_url, rabbit_vhost, 'endings')
    conftest.migrate(config)
    _psql(pg_url, _REFUSE_QUEUED)
    capture = Capture(rabbit_vhost, 'capture.endings')
    db = Db(pg_url)
    try:
        for role in ('manager', 'receiver'):
            daemons(role, config, tmp_path / ('%s.log' % role)).wait_ready()
        slow = _design(tmp_path, duration=1.0, chain=6)
        failed = _deploy(config, slow, wait=False)
        assert failed.returncode != 0
        [line] = failed.stderr.strip().splitlines()
        [task] = db.tasks()
        assert line == ('Task %d could not be created (task creation '
                        'failed: InternalError); it was ended and its nodes '
                        'released' % task['id'])
        assert (task['status'], task['result_status']) == (
            'complete', 'failure')
        assert set(db.holders().values()) == {None}

        _psql(pg_url, 'DROP TRIGGER refuse_queued ON tasks')
        daemons('executor', config, tmp_path / 'executor.log').wait_ready()
        # It takes the copy of the work that was cast, and is stopped.
        reports = _wait(lambda: capture.ended(task['uuid']), 60)
        assert reports and reports[-1]['args']['status'] == 'stopped'
        assert [e for e in _entries(reports)
                if e.get('error_msg') == 'deployment stopped']
        again = _deploy(config, conftest.DEMO_SITE)
        assert again.returncode == 0, again.stderr
    finally:
        db.close()


def test_validation_of_a_long_design_ref_ends(tmp_path, pg_url,
                                              rabbit_vhost, daemons):
    """A 273-character design_ref once failed the write of its problem
    ("value too long for character varying(255)") after the task row
    existed, which left it ``requested`` for ever."""
    # Any file may be named: the fetch, not the design roots, refuses it.
    config = _config(tmp_path, pg_url, rabbit_vhost, 'long-ref',
                     site={'design_file_roots': '/'})
    conftest.migrate(config)
    daemons('manager', config, tmp_path / 'manager.log').wait_ready()
    ref = 'file:///' + 'd' * 255 + '/site.yaml'
    assert len(ref) == 273
    result = conftest.drydock2(config, 'design', 'validate', ref)
    assert result.returncode == 1
    assert 'No such file or directory' in result.stdout + result.stderr
    db = Db(pg_url)
    try:
        [task] = db.tasks()
        assert (task['status'], task['result_status']) == (
            'complete', 'failure')
    finally:
        db.close()


def test_executor_cut_off_starts_nothing_after_the_task_ended(
        tmp_path, pg_url, rabbit_vhost, daemons):
    """RabbitMQ goes away for the executor only (its proxy drops and
    refuses connections) for longer than executor_timeout: the reaper
    fails the task and frees its nodes. The executor, which heard nothing
    of that, fences itself; back on the broker it delivers what it held
    and starts no graph task after the task ended."""
    proxy = FreezableProxy(5672)
    db = Db(pg_url)
    try:
        config = _config(tmp_path, pg_url, rabbit_vhost, 'manager-x')
        cut = _config(tmp_path, pg_url, rabbit_vhost, 'exec-cut',
                      DEFAULT={'work_transport_url':
                               _through(proxy, rabbit_vhost)})
        conftest.migrate(config)
        capture = Capture(rabbit_vhost, 'capture.cut')
        for role in ('manager', 'receiver'):
            daemons(role, config, tmp_path / ('%s.log' % role)).wait_ready()
        daemons('executor', cut, tmp_path / 'executor.log').wait_ready()
        created = _deploy(config, _design(tmp_path, 1.0, chain=8),
                          wait=False)
        assert created.returncode == 0, created.stderr
        task = json.loads(created.stdout)
        assert _wait(lambda: [r for r in db.api.get_history(task['id'])
                              if r['status'] == 'running'], 30)

        proxy.sever()
        assert db.ended(task['id'], 30)
        ended = db.task(task['id'])
        assert ended['result_reason'] == 'executor exec-cut stopped reporting'
        assert set(db.holders().values()) == {None}
        # The outage goes on until the executor has fenced the task.
        log = tmp_path / 'executor.log'
        assert _wait(lambda: 'Halting the deployment: executor exec-cut '
                     'could not deliver reports' in log.read_text(), 30)
        proxy.restore()

        reports = _wait(lambda: capture.ended(task['task_id']), 60)
        assert reports, 'the executor never sent its final report'
        end = ended['time_end']
        late = [e for e in _entries(reports)
                if e['task_status'] == 'running'
                and e['time'] > end.strftime('%Y-%m-%dT%H:%M:%S.%fZ')]
        assert not late, late
        final = reports[-1]['args']
        assert final['status'] == 'error'
        assert 'could not deliver reports' in final['error']
    finally:
        db.close()
        proxy.close()


def test_sigterm_ends_running_work_within_drain_timeout(
        tmp_path, pg_url, rabbit_vhost, daemons):
    """A graph task of a minute runs when the executor gets SIGTERM: the
    executor exits within drain_timeout (plus the launcher's margin) and
    the task ends with the reason, its nodes free; systemd would not
    have to kill it."""
    config = _config(tmp_path, pg_url, rabbit_vhost, 'drain-host')
    conftest.migrate(config)
    for role in ('manager', 'receiver'):
        daemons(role, config, tmp_path / ('%s.log' % role)).wait_ready()
    executor = daemons('executor', config, tmp_path / 'executor.log')
    executor.wait_ready()
    db = Db(pg_url)
    try:
        created = _deploy(config, _design(tmp_path, 60.0), wait=False)
        task = json.loads(created.stdout)
        assert _wait(lambda: [r for r in db.api.get_history(task['id'])
                              if r['status'] == 'running'], 30)
        started = time.monotonic()
        executor.proc.send_signal(signal.SIGTERM)
        assert executor.proc.wait(30) == 0
        took = time.monotonic() - started
        assert took < FAST['executor']['drain_timeout'] + 5, took
        assert db.ended(task['id'], 10)
        ended = db.task(task['id'])
        reason = 'executor drain-host shut down before the task finished'
        assert (ended['status'], ended['result_status'],
                ended['result_reason']) == ('complete', 'failure', reason)
        # (node "-": a graph task no selected node runs, listed skipped)
        rows = [r for r in db.api.get_history(task['id'])
                if r['node_id'] != '-']
        assert {r['status'] for r in rows} == {'error', 'skipped'}
        assert not [(r['task_name'], r['node_id'], r['status'], r['custom'])
                    for r in rows if r['custom'].get('error_msg') != reason]
        assert set(db.holders().values()) == {None}
    finally:
        db.close()
