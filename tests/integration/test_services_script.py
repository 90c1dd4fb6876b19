"""The README's test command starts the services it needs when they are down.

The shared RabbitMQ and PostgreSQL must never be stopped, so the test gives
``tools/run-tests`` a RabbitMQ node and a PostgreSQL cluster of its own, on
free ports and both down, and checks that they answer once the command has
run (collecting one unit test module is enough: services come first).
"""

import os
import shutil
import socket
import subprocess
import tempfile
import uuid

import pytest

import conftest

PG_VERSION = sorted(os.listdir('/etc/postgresql'))[-1]


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _answers(port):
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(('127.0.0.1', port)) == 0


@pytest.fixture
def rabbit_node():
    """Environment naming a RabbitMQ node that is not running."""
    base = tempfile.mkdtemp(prefix='drydock-rabbit-')
    port, dist = _free_port(), _free_port()
    name = 'drydock-svc-%s@localhost' % uuid.uuid4().hex[:6]
    with open(os.path.join(base, 'rabbitmq.conf'), 'w') as f:
        f.write('listeners.tcp.local = 127.0.0.1:%d\n' % port)
    env = {'RABBITMQ_NODENAME': name,
           'RABBITMQ_CONFIG_FILE': os.path.join(base, 'rabbitmq'),
           'RABBITMQ_DIST_PORT': str(dist),
           'RABBITMQ_MNESIA_BASE': os.path.join(base, 'mnesia'),
           'RABBITMQ_LOG_BASE': os.path.join(base, 'log'),
           'RABBITMQ_PID_FILE': os.path.join(base, 'node.pid'),
           'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(base, 'plugins'),
           'RABBITMQ_FEATURE_FLAGS_FILE': os.path.join(base, 'flags'),
           'DRYDOCK_RABBIT_PORT': str(port)}
    for sub in ('mnesia', 'log'):
        os.mkdir(os.path.join(base, sub))
    subprocess.run(['chown', '-R', 'rabbitmq:rabbitmq', base], check=True)
    assert not _answers(port)
    yield env, port
    subprocess.run(['rabbitmqctl', '-n', name, 'stop'], capture_output=True,
                   timeout=120)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_cluster():
    """A PostgreSQL cluster of this test's own, created stopped."""
    name = 'drydock_svc_%s' % uuid.uuid4().hex[:6]
    port = _free_port()
    subprocess.run(['pg_createcluster', '-p', str(port), PG_VERSION, name],
                   check=True, capture_output=True, timeout=120)
    assert not _answers(port)
    yield {'DRYDOCK_PG_CLUSTER': '%s/%s' % (PG_VERSION, name),
           'DRYDOCK_PG_PORT': str(port)}, port
    subprocess.run(['pg_dropcluster', '--stop', PG_VERSION, name],
                   capture_output=True, timeout=120)


def test_run_tests_starts_the_services_that_are_down(rabbit_node,
                                                     pg_cluster):
    rabbit_env, rabbit_port = rabbit_node
    pg_env, pg_port = pg_cluster
    env = dict(os.environ, **rabbit_env, **pg_env)
    env.pop('DRYDOCK_START_SERVICES', None)
    done = subprocess.run(
        ['bash', os.path.join(conftest.ROOT, 'tools', 'run-tests'),
         '--collect-only', '-q', 'tests/unit/common/test_states.py'],
        cwd=conftest.ROOT, env=env, capture_output=True, text=True,
        timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'starting RabbitMQ (port %d)' % rabbit_port in done.stdout
    assert 'starting PostgreSQL cluster %s' % pg_env['DRYDOCK_PG_CLUSTER'] \
        in done.stdout
    assert _answers(rabbit_port)
    ready = subprocess.run(['pg_isready', '-h', '127.0.0.1', '-p',
                            str(pg_port)], capture_output=True, timeout=30)
    assert ready.returncode == 0

    # Once up, they are left alone: a second run starts nothing.
    again = subprocess.run(
        ['bash', os.path.join(conftest.ROOT, 'tools', 'services')],
        env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert again.stdout == ''
