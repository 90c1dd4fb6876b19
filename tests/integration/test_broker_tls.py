"""TLS on both planes, against a RabbitMQ node of the test's own.

The test makes a CA, a server certificate for 127.0.0.1 signed by it,
and an unrelated CA with ``openssl``; starts an extra RabbitMQ node (its
own name, ports, directories, config with ``ssl_options`` and no
plain-text listener) and stops it by name and by the PID it started.
The shared broker is never touched.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import conftest
import pytest

from drydockd.common import exception
from drydockd.conf import config as drydock_config
from drydockd.messaging import entities
from drydockd.messaging import publisher as publisher_mod

SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server'


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


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


class TLSNode:
    """A RabbitMQ node with only a TLS listener on a free port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='drydock-tls-')
        os.chmod(self.dir, 0o755)
        self.name = 'ddtls%s@localhost' % uuid.uuid4().hex[:8]
        self.port = _free_port()
        self.proc = None
        make_certificates(self.dir)
        node = os.path.join(self.dir, 'node')
        os.mkdir(node)
        with open(os.path.join(node, 'rabbitmq.conf'), 'w') as f:
            f.write('\n'.join([
                'listeners.tcp = none',
                'listeners.ssl.default = 127.0.0.1:%d' % self.port,
                'ssl_options.cacertfile = %s/ca.pem' % self.dir,
                'ssl_options.certfile = %s/server.pem' % self.dir,
                'ssl_options.keyfile = %s/server.key' % self.dir,
                'ssl_options.verify = verify_none',
                'ssl_options.fail_if_no_peer_cert = false', '']))
        with open(os.path.join(node, 'enabled_plugins'), 'w') as f:
            f.write('[].\n')
        shutil.chown(node, 'rabbitmq', 'rabbitmq')
        for entry in os.listdir(self.dir):
            path = os.path.join(self.dir, entry)
            shutil.chown(path, 'rabbitmq', 'rabbitmq')
            os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)
        self.env = {
            'HOME': '/var/lib/rabbitmq', 'RABBITMQ_NODENAME': self.name,
            'RABBITMQ_DIST_PORT': str(_free_port()),
            'RABBITMQ_CONFIG_FILE': node + '/rabbitmq',
            'RABBITMQ_MNESIA_BASE': node + '/mnesia',
            'RABBITMQ_LOG_BASE': node + '/log',
            'RABBITMQ_PID_FILE': node + '/pid',
            'RABBITMQ_ENABLED_PLUGINS_FILE': node + '/enabled_plugins',
            'RABBITMQ_FEATURE_FLAGS_FILE': node + '/feature_flags'}

    def path(self, name):
        return os.path.join(self.dir, name)

    def ctl(self, *args, timeout=60):
        return subprocess.run(['rabbitmqctl', '-n', self.name, '-q']
                              + list(args), capture_output=True, text=True,
                              timeout=timeout)

    def start(self, timeout=90):
        self.log = open(self.path('server.out'), 'w')
        self.proc = subprocess.Popen(
            ['runuser', '-u', 'rabbitmq', '--', 'env']
            + ['%s=%s' % kv for kv in self.env.items()] + [SERVER],
            cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.ctl('await_startup', '--timeout', '5').returncode == 0:
                return
            time.sleep(1)
        with open(self.path('server.out')) as f:
            pytest.fail('the TLS node did not start:\n' + f.read()[-3000:])

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.ctl('stop', timeout=60)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope='module')
def tls_node():
    node = TLSNode()
    try:
        node.start()
        yield node
    finally:
        node.stop()


def tls_config(path, node, ca=None, plain=False, **extra):
    """Both planes on the TLS node as guest (loopback); ``plain``: no TLS
    at all; else verified against ``ca``."""
    groups = {'DEFAULT': {
        'work_transport_url': 'amqp://guest:guest@127.0.0.1:%d//' % node.port,
        'transport_url': 'rabbit://guest:guest@127.0.0.1:%d/' % node.port,
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
                          '127.0.0.1:%d' % tls_node.port)
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
    # Work plane: a confirmed publish and its consumption, over TLS (the
    # node has no other listener).
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
        tls_node.port) in result.stdout
