"""The README's test command starts the services it needs when they are down.

The shared RabbitMQ and PostgreSQL must never be stopped, so the test gives
``tools/run-tests`` a RabbitMQ node and a PostgreSQL cluster of its own, on
free ports and both down, and checks that they answer once the command has
run (collecting one unit test module is enough: services come first).
"""

import os
import socket
import subprocess

import pytest

import conftest
import pg_cluster as pg_cluster_mod
import rabbit_nodes

def _answers(port):
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(('127.0.0.1', port)) == 0


@pytest.fixture
def rabbit_node():
    """Environment naming a RabbitMQ node that is not running."""
    node = rabbit_nodes.RabbitNode()
    node.prepare()
    assert not _answers(node.port)
    yield dict(node.env(), DRYDOCK_RABBIT_PORT=str(node.port)), node.port
    node.stop()


@pytest.fixture
def pg_cluster():
    """A PostgreSQL cluster of this test's own, created stopped."""
    cluster = pg_cluster_mod.PgCluster().create(start=False)
    assert not _answers(cluster.port)
    yield {'DRYDOCK_PG_CLUSTER': cluster.id,
           'DRYDOCK_PG_PORT': str(cluster.port)}, cluster.port
    cluster.drop()


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
