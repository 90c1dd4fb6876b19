"""Shared fixtures: real PostgreSQL databases, RabbitMQ vhosts, configs.

Nothing is skipped: when a service is down the fixture fails with a
message saying how to start it (``tools/run-tests`` starts both first,
through ``tools/services``).
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid

import psycopg2
import pytest

PG_ADMIN_DSN = os.environ.get('DRYDOCK_TEST_PG',
                              'host=127.0.0.1 port=5432 user=postgres '
                              'dbname=postgres')
PG_URL = 'postgresql+psycopg2://postgres@127.0.0.1:5432/%s'
AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672/%s'
RABBIT_URL = 'rabbit://guest:guest@127.0.0.1:5672/%s'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_SITE = os.path.join(ROOT, 'etc', 'drydock', 'demo-site.yaml')
BIN = os.path.dirname(sys.executable)


UNIT = os.path.join(ROOT, 'tests', 'unit') + os.sep



def daemon_env(**extra):
    """The environment of a drydockd a test starts: the suite runs as
    root (CI, containers), and drydockd refuses root unless told that is
    meant. Only the daemons get it, so nothing they run inherits it from
    the test process."""
    return dict(os.environ, DRYDOCK_ALLOW_ROOT='1', **extra)
SERVER_PORTS = (5432, 5672)


@pytest.fixture(autouse=True)
def unit_tests_use_no_server(request, monkeypatch):
    """tests/unit needs no server: SQLite files and kombu's memory
    transport. There, a connection to PostgreSQL or RabbitMQ fails at once
    saying where such a test belongs (psycopg2 connects through libpq, so
    it is stopped at ``psycopg2.connect``; py-amqp uses Python sockets)."""
    if not str(request.node.path).startswith(UNIT):
        return
    where = ('tests/unit must not use PostgreSQL or RabbitMQ; move this '
             'test to tests/functional or tests/integration')
    real_connect = socket.socket.connect

    def connect(sock, address):
        if isinstance(address, tuple) and len(address) >= 2 \
                and address[1] in SERVER_PORTS:
            raise ConnectionRefusedError(where)
        return real_connect(sock, address)

    def pg_connect(*args, **kwargs):
        raise psycopg2.OperationalError(where)

    monkeypatch.setattr(socket.socket, 'connect', connect)
    monkeypatch.setattr(psycopg2, 'connect', pg_connect)


def _admin():
    try:
        conn = psycopg2.connect(PG_ADMIN_DSN, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail('PostgreSQL is not reachable (%s); start it with '
                    'pg_ctlcluster --skip-systemctl-redirect <ver> main '
                    'start' % str(exc).strip())
    conn.autocommit = True
    return conn


def create_pg_database():
    name = 'drydock_test_%s' % uuid.uuid4().hex[:10]
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute('CREATE DATABASE %s' % name)
    conn.close()
    return name


def drop_pg_database(name):
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS %s WITH (FORCE)' % name)
    conn.close()


@contextlib.contextmanager
def migrated_connection(kind, tmp_dir):
    """A DB API connection on a fresh, migrated database: a SQLite file
    in ``tmp_dir`` or a new PostgreSQL database (dropped afterwards)."""
    from drydockd.db import migration
    from drydockd.db.sqlalchemy import api as sqla_api
    from drydockd.db.sqlalchemy import engine as engine_mod
    pg_name = None
    if kind == 'sqlite':
        url = 'sqlite:///%s' % (tmp_dir / 'drydock.sqlite')
    else:
        pg_name = create_pg_database()
        url = PG_URL % pg_name
    try:
        migration.upgrade(url)
        engine = engine_mod.get_engine(url)
        yield sqla_api.Connection(engine)
        engine.dispose()
    finally:
        if pg_name:
            drop_pg_database(pg_name)


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = create_pg_database()
    yield PG_URL % name
    from drydockd.db.sqlalchemy import engine
    engine.dispose_all()
    drop_pg_database(name)


def _rabbitmqctl(*args):
    return subprocess.run(['rabbitmqctl', '-q'] + list(args),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def rabbit_vhost():
    """A fresh RabbitMQ vhost for guest, deleted afterwards."""
    name = 'drydock-test-%s' % uuid.uuid4().hex[:10]
    result = _rabbitmqctl('add_vhost', name)
    if result.returncode != 0:
        pytest.fail('RabbitMQ is not usable (%s); start it with '
                    'rabbitmq-server -detached' % result.stderr.strip())
    _rabbitmqctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*')
    yield name
    _rabbitmqctl('delete_vhost', name)


def write_config(path, **groups):
    """Write an oslo.config file: ``groups`` maps group -> {opt: value}
    (a list value is one line per item, for multi-valued options)."""
    lines = []
    for group, opts in groups.items():
        lines.append('[%s]' % group)
        for key, value in opts.items():
            values = value if isinstance(value, list) else [value]
            lines.extend('%s = %s' % (key, v) for v in values)
        lines.append('')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))
    return str(path)


def add_options(config, group, **opts):
    """Append ``[group]`` options to a config file written before (a
    repeated section adds to the first; a later value wins)."""
    with open(config, 'a') as f:
        f.write('\n[%s]\n' % group)
        for key, value in opts.items():
            values = value if isinstance(value, list) else [value]
            f.writelines('%s = %s\n' % (key, v) for v in values)
    return config


# The master-node commands the tests' designs run (the demo site's
# upload_repos, and others' notify), allowed as a site would allow them.
TEST_SITE = {'allow_master_shell': 'true',
             'master_shell_commands': ['sync-repos', 'notify']}


@pytest.fixture
def embedded_config(tmp_path):
    """Config of the embedded default rooted in a temporary directory
    (designs are read from it, the default design roots)."""
    return write_config(tmp_path / 'drydock.conf',
                        DEFAULT={'state_path': tmp_path,
                                 'host': 'test-%s' % uuid.uuid4().hex[:6]},
                        executor={'report_interval': 0.05},
                        receiver={'batch_window_ms': 20},
                        site=dict(TEST_SITE))


def production_config(path, pg, vhost, broker=None, **extra):
    """Config for RabbitMQ (both planes) and PostgreSQL; ``broker``: an
    extra node of the test's own (``rabbit_nodes.RabbitNode``) instead of
    the shared one."""
    groups = {'DEFAULT': {'transport_url': (broker.rabbit_url(vhost) if broker
                                            else RABBIT_URL % vhost),
                          'work_transport_url': (broker.url(vhost) if broker
                                                 else AMQP_URL % vhost),
                          'state_path': os.path.dirname(str(path))},
              'database': {'connection': pg},
              'executor': {'report_interval': 0.05},
              'receiver': {'batch_window_ms': 20},
              'site': dict(TEST_SITE)}
    for group, opts in extra.items():
        groups.setdefault(group, {}).update(opts)
    return write_config(path, **groups)


class Daemon:
    """A drydockd process whose log is a file; waits for readiness."""

    def __init__(self, role, config, log_path):
        self.log_path = str(log_path)
        self.log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(
            [os.path.join(BIN, 'drydockd'), role, '--config-file', config],
            env=daemon_env(),
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path) as f:
                if 'Ready:' in f.read():
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        with open(self.log_path) as f:
            pytest.fail('drydockd did not become ready:\n' + f.read()[-3000:])

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def daemons():
    started = []

    def start(role, config, log_path):
        daemon = Daemon(role, config, log_path)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


def migrate(config):
    """``drydock-manage db upgrade`` for ``config``, as an operator runs it."""
    result = subprocess.run(
        [os.path.join(BIN, 'drydock-manage'), '--config-file', config, 'db',
         'upgrade'], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def drydock2(config, *args, env=None, timeout=120):
    """Run the CLI as a separate process; returns CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    full_env.pop('DRYDOCK_CONFIG', None)
    full_env.pop('DRYDOCK_TRANSPORT_URL', None)
    return subprocess.run(
        [os.path.join(BIN, 'drydock2'), '--config-file', config] + list(args),
        capture_output=True, text=True, timeout=timeout, env=full_env)


def wait_task(config, task_id, timeout=300):
    """The task's JSON document once it has ended, through one
    ``drydock2 task wait`` process (a ``task show`` process per poll
    costs a CLI start-up each time)."""
    done = drydock2(config, 'task', 'wait', str(task_id), '-f', 'json',
                    '--poll-interval', '0.2', '--max-wait', str(timeout),
                    timeout=timeout + 60)
    # Exit 1 is a task that ended without success: still a document.
    assert done.returncode in (0, 1) and done.stdout, done.stderr
    return json.loads(done.stdout)
