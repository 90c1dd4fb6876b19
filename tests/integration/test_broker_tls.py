"""TLS on both planes, against a RabbitMQ node of the test's own.

The test makes a CA, a server certificate for 127.0.0.1 signed by it,
and an unrelated CA with ``openssl``, and starts an extra RabbitMQ node
(``tests/rabbit_nodes.py``: its own name, ports, directories and config)
with a TLS listener whose ``ssl_options`` name them; the node is stopped
by name and by its PID. The shared broker is never touched.
"""

import json
import os
import subprocess
import tempfile
import uuid

import conftest
import pytest
import rabbit_nodes

from drydockd.common import exception
from drydockd.conf import config as drydock_config
from drydockd.messaging import entities
from drydockd.messaging import publisher as publisher_mod


def _openssl(*args, cwd):
    subprocess.run(['openssl'] + list(args), cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def make_certificates(where):
    """ca.pem (signs server.pem for 127.0.0.1) and other-ca.pem."""
    for name in ('ca', 'other-ca'):
        _openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                 '-keyout', name + '.key', '-out', name + '.pem', '-days',
                 '2', '-subj', '/CN=drydock test %s' % name, cwd=where)
    _openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout',
             'server.key', '-out', 'server.csr', '-subj', '/CN=localhost',
             cwd=where)
    with open(os.path.join(where, 'san.ext'), 'w') as f:
        f.write('subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    _openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem',
             '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem',
             '-days', '2', '-extfile', 'san.ext', cwd=where)


class TLSNode(rabbit_nodes.RabbitNode):
    """An extra node with a TLS listener on ``tls_port`` (its plain-text
    listener, ``port``, is never used by these tests). Its certificates
    sit in its directory, which ``prepare`` gives to the rabbitmq user."""

    def __init__(self):
        base = tempfile.mkdtemp(prefix='drydock-tls-%s-'
                                % uuid.uuid4().hex[:8])
        make_certificates(base)
        self.tls_port = rabbit_nodes.free_port()
        super().__init__(base=base, extra_config='\n'.join([
            'listeners.ssl.default = 127.0.0.1:%d' % self.tls_port,
            'ssl_options.cacertfile = %s/ca.pem' % base,
            'ssl_options.certfile = %s/server.pem' % base,
            'ssl_options.keyfile = %s/server.key' % base,
            'ssl_options.verify = verify_none',
            'ssl_options.fail_if_no_peer_cert = false', '']))

    def path(self, name):
        return os.path.join(self.dir, name)


@pytest.fixture(autouse=True)
def _forget_tls_settings():
    """These tests parse TLS configs into drydock's global CONF; later
    tests in this process (clients built on it) must not inherit a CA
    file that is gone."""
    yield
    drydock_config.CONF.reset()


@pytest.fixture(scope='module')
def tls_node():
    node = TLSNode()
    node.start()
    try:
        yield node
    finally:
        node.stop()


def tls_config(path, node, ca=None, plain=False, **extra):
    """Both planes on the TLS node as guest (loopback); ``plain``: no TLS
    at all; else verified against ``ca``."""
    where = 'guest:guest@127.0.0.1:%d/' % node.tls_port
    groups = {'DEFAULT': {
        'work_transport_url': 'amqp://%s/' % where,
        'transport_url': 'rabbit://%s' % where,
        'state_path': os.path.dirname(str(path)), 'publish_timeout': 3},
        'database': {'connection': 'sqlite:///%s' % (
            path.parent / 'drydock.sqlite')}}
    if not plain:
        groups['work_plane'] = {'ssl': 'true', 'ssl_ca_file': ca}
        groups['oslo_messaging_rabbit'] = {'ssl': 'true', 'ssl_ca_file': ca}
    for group, opts in extra.items():
        groups.setdefault(group, {}).update(opts)
    return conftest.write_config(path, **groups)


def check(config):
    return subprocess.run(
        [os.path.join(conftest.BIN, 'drydock-manage'), '--config-file',
         config, 'broker', 'check'], capture_output=True, text=True,
        timeout=120, env=dict(os.environ, DRYDOCK_CONFIG=''))


def _publish_error(config):
    conf = drydock_config.parse_args(['--config-file', config])
    publisher = publisher_mod.Publisher(conf)
    try:
        with pytest.raises(exception.WorkPlaneUnavailable) as caught:
            publisher.to_executor({'method': 'echo'})
    finally:
        publisher.close()
    return caught.value.message


def test_plain_text_to_the_tls_port_fails_clearly(tmp_path, tls_node):
    config = tls_config(tmp_path / 'drydock.conf', tls_node, plain=True)
    result = check(config)
    assert result.returncode == 1
    work, api = result.stdout.splitlines()
    assert work.startswith('work plane: the broker closed the connection '
                           'during the AMQP handshake')
    assert work.endswith('a TLS port? Set [work_plane] ssl = true')
    assert api.startswith('API plane: Cannot reach the message broker at '
                          '127.0.0.1:%d' % tls_node.tls_port)
    assert api.endswith('a TLS port? Set [oslo_messaging_rabbit] ssl = true')
    assert 'Set [work_plane] ssl = true' in _publish_error(config)


def test_a_wrong_ca_fails_clearly(tmp_path, tls_node):
    config = tls_config(tmp_path / 'drydock.conf', tls_node,
                        ca=tls_node.path('other-ca.pem'))
    result = check(config)
    assert result.returncode == 1
    work, api = result.stdout.splitlines()
    assert work.startswith("work plane: TLS: the broker's certificate is "
                           "not trusted ([SSL: CERTIFICATE_VERIFY_FAILED]")
    assert work.endswith('check [work_plane] ssl_ca_file')
    assert 'CERTIFICATE_VERIFY_FAILED' in api
    assert api.endswith('check [oslo_messaging_rabbit] ssl_ca_file')
    assert 'check [work_plane] ssl_ca_file' in _publish_error(config)


def test_the_right_ca_works_on_both_planes(tmp_path, tls_node, daemons):
    config = tls_config(tmp_path / 'drydock.conf', tls_node,
                        ca=tls_node.path('ca.pem'))
    result = check(config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'over TLS' in result.stdout
    # Work plane: a confirmed publish and its consumption on the TLS port
    # (a plain-text client there fails: the first test).
    conf = drydock_config.parse_args(['--config-file', config])
    publisher = publisher_mod.Publisher(conf)
    body = {'method': 'echo', 'args': {'task_uuid': str(uuid.uuid4())}}
    try:
        publisher.to_executor(body)
    finally:
        publisher.close()
    with entities.connection(conf) as conn:
        assert conn.ssl['ca_certs'] == tls_node.path('ca.pem')
        channel = conn.channel()
        message = entities.executor_queue(conf)(channel).get(no_ack=True)
        channel.close()
    assert json.loads(message.body) == body
    assert message.properties['user_id'] == 'guest'
    # API plane: a manager and the CLI, both over TLS.
    conftest.migrate(config)
    daemons('manager', config, tmp_path / 'manager.log').wait_ready()
    listed = conftest.drydock2(config, 'task', 'list', '-f', 'json')
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    assert 'API plane: connected to rabbit://guest:****@127.0.0.1:%d/' % (
        tls_node.tls_port) in result.stdout
