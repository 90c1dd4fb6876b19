"""Extra RabbitMQ nodes of a test's own, on their own ports and names.

Tests that stop, kill or reconfigure a broker do it to nodes started
here, never to the shared ``rabbit@localhost`` that every other suite
uses (see LIBRARY-NOTES, "A RabbitMQ cluster of extra nodes"):

- each node gets its own config file (the shared
  ``/etc/rabbitmq/rabbitmq.conf`` pins port 5672), node name,
  distribution port and directories, owned by the ``rabbitmq`` user the
  Debian wrapper drops to;
- ``cluster(n)`` joins nodes into one :class:`Cluster` (the Erlang cookie
  is the ``rabbitmq`` user's, shared by every node on the machine);
- nodes are stopped with ``rabbitmqctl -n NODE stop``, and killed by the
  PID they wrote, never by a pattern.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

START_TIMEOUT = 90


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class RabbitNode:
    """One extra node; ``url(vhost)`` for kombu, ``rabbit_url`` for
    oslo.messaging."""

    def __init__(self, base=None, name=None, extra_config=''):
        tag = uuid.uuid4().hex[:8]
        self.name = name or 'drydock-%s@localhost' % tag
        self.port = free_port()
        self.dist_port = free_port()
        self.dir = base or tempfile.mkdtemp(prefix='drydock-rmq-%s-' % tag)
        self.extra_config = extra_config
        self.pid = None

    # -- lifecycle ----------------------------------------------------------

    def env(self):
        """The environment that names this node to ``rabbitmq-server`` and
        ``rabbitmqctl`` (its name, ports, config and directories)."""
        d = self.dir
        return dict(RABBITMQ_NODENAME=self.name,
                    RABBITMQ_DIST_PORT=str(self.dist_port),
                    RABBITMQ_CONFIG_FILE=os.path.join(d, 'rabbitmq'),
                    RABBITMQ_MNESIA_BASE=os.path.join(d, 'mnesia'),
                    RABBITMQ_LOG_BASE=os.path.join(d, 'log'),
                    RABBITMQ_PID_FILE=os.path.join(d, 'node.pid'),
                    RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(
                        d, 'enabled_plugins'),
                    RABBITMQ_FEATURE_FLAGS_FILE=os.path.join(
                        d, 'feature_flags'))

    def _full_env(self):
        return dict(os.environ, **self.env())

    def prepare(self):
        """Write the node's config and directories (not started)."""
        for sub in ('mnesia', 'log'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(os.path.join(self.dir, 'rabbitmq.conf'), 'w') as f:
            f.write('listeners.tcp.local = 127.0.0.1:%d\n' % self.port)
            f.write('loopback_users = none\n')
            f.write(self.extra_config)
        with open(os.path.join(self.dir, 'enabled_plugins'), 'w') as f:
            f.write('[].\n')
        owner = pwd.getpwnam('rabbitmq')
        for root, dirs, files in os.walk(self.dir):
            for name in [''] + dirs + files:
                os.chown(os.path.join(root, name), owner.pw_uid,
                         owner.pw_gid)

    def start(self):
        self.prepare()
        try:
            self._boot()
        except Exception:
            self.stop()
            raise
        return self

    def _boot(self):
        """``-detached`` returns before the node exists: wait for its PID
        file, then for the broker application."""
        subprocess.run(['rabbitmq-server', '-detached'], env=self._full_env(),
                       check=True, capture_output=True, timeout=60)
        pid_file = os.path.join(self.dir, 'node.pid')
        self.ctl('wait', pid_file, '--timeout', str(START_TIMEOUT),
                 timeout=START_TIMEOUT + 30)
        with open(pid_file) as f:
            self.pid = int(f.read().strip())

    def ctl(self, *args, timeout=60, check=True):
        result = subprocess.run(
            ['rabbitmqctl', '-q', '-n', self.name] + list(args),
            env=self._full_env(), capture_output=True, text=True,
            timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError('rabbitmqctl -n %s %s: %s' % (
                self.name, ' '.join(args), result.stderr.strip()))
        return result.stdout

    def kill(self):
        """kill -9 of the node's Erlang VM (no goodbye to its peers)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            self._wait_gone()

    def restart(self):
        """Start again after :meth:`kill`, same name, ports and data."""
        os.unlink(os.path.join(self.dir, 'node.pid'))
        self._boot()

    def stop(self):
        self.ctl('stop', check=False, timeout=60)
        pid_file = os.path.join(self.dir, 'node.pid')
        if self.pid is None and os.path.exists(pid_file):
            with open(pid_file) as f:
                self.pid = int(f.read().strip() or 0) or None
        if self.pid is not None:
            self._wait_gone(10)       # stopped cleanly: nothing to kill
        self.kill()
        self.pid = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def _wait_gone(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    # -- what clients use ---------------------------------------------------

    def add_vhost(self, vhost, user='guest'):
        self.ctl('add_vhost', vhost)
        self.ctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*')
        return vhost

    def url(self, vhost, scheme='amqp'):
        return '%s://guest:guest@127.0.0.1:%d/%s' % (scheme, self.port, vhost)

    def rabbit_url(self, vhost):
        return self.url(vhost, 'rabbit')


class Cluster:
    """Started nodes joined into one cluster; clients get every node in
    their URLs (kombu's ``;`` alternates, oslo.messaging's host list)."""

    def __init__(self, nodes):
        self.nodes = nodes

    def url(self, vhost, scheme='amqp'):
        return ';'.join(node.url(vhost, scheme) for node in self.nodes)

    def rabbit_url(self, vhost):
        return 'rabbit://%s/%s' % (','.join(
            'guest:guest@127.0.0.1:%d' % node.port for node in self.nodes),
            vhost)

    def ctl(self, *args, **kwargs):
        """``rabbitmqctl`` on the first node that answers."""
        error = None
        for node in self.nodes:
            try:
                return node.ctl(*args, **kwargs)
            except AssertionError as exc:
                error = exc
        raise error

    def add_vhost(self, vhost, user='guest'):
        self.ctl('add_vhost', vhost)
        self.ctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*')
        return vhost

    def leader(self, vhost, queue):
        """The node that leads a quorum queue."""
        out = self.ctl('list_queues', '-p', vhost, '--no-table-headers',
                       'name', 'leader')
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == queue:
                return next(n for n in self.nodes if n.name == parts[1])
        raise AssertionError('no leader for %s: %s' % (queue, out))

    def stop(self):
        for node in reversed(self.nodes):
            node.stop()


def cluster(count):
    """``count`` started nodes joined into one :class:`Cluster` (the
    first is the seed). Stop it with ``Cluster.stop``."""
    nodes = []
    try:
        for _ in range(count):
            nodes.append(RabbitNode().start())
        for node in nodes[1:]:
            node.ctl('stop_app')
            node.ctl('join_cluster', nodes[0].name, timeout=120)
            node.ctl('start_app', timeout=120)
    except Exception:
        Cluster(nodes).stop()
        raise
    return Cluster(nodes)
