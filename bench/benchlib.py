"""What the benchmarks share: the local services and drydock's processes.

Each benchmark runs as a script (``python bench/<name>/bench_<x>.py``)
and puts this directory on ``sys.path`` to import this module. The
services are the ones the integration tests use: RabbitMQ at
127.0.0.1:5672 (guest/guest, ``rabbitmqctl`` on PATH) and PostgreSQL at
127.0.0.1:5432 (user postgres, trust).
"""

import os
import re
import subprocess
import sys
import time
import uuid
import warnings

import psycopg2

# oslo.messaging imports eventlet, whose deprecation banner is noise in a
# benchmark's output (its processes, spawned ones included, import this).
warnings.filterwarnings('ignore', message=r'(?s).*Eventlet is deprecated')

ADMIN_DSN = os.environ.get('DRYDOCK_TEST_PG',
                           'host=127.0.0.1 port=5432 user=postgres '
                           'dbname=postgres')
PG_URL = 'postgresql+psycopg2://postgres@127.0.0.1:5432/%s'
PG_DSN = 'host=127.0.0.1 port=5432 user=postgres dbname=%s'
AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672/%s'
RABBIT_URL = 'rabbit://guest:guest@127.0.0.1:5672/%s'
# The virtualenv's bin, where drydockd, drydock2 and drydock-manage are.
BIN = os.path.dirname(sys.executable)


def admin(sql):
    """One statement on the ``postgres`` database, outside a transaction
    (CREATE/DROP DATABASE)."""
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def rabbitmqctl(*args):
    """Run ``rabbitmqctl``; stop the benchmark with its error if it fails."""
    result = subprocess.run(['rabbitmqctl', '-q'] + list(args),
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SystemExit('rabbitmqctl %s failed: %s'
                         % (' '.join(args), result.stderr.strip()))
    return result.stdout


def create_site(dbname, vhost):
    """A fresh PostgreSQL database and RabbitMQ vhost (guest may use it)."""
    admin('CREATE DATABASE %s' % dbname)
    rabbitmqctl('add_vhost', vhost)
    rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*')


def drop_site(dbname, vhost):
    """Drop what :func:`create_site` made."""
    admin('DROP DATABASE IF EXISTS %s WITH (FORCE)' % dbname)
    rabbitmqctl('delete_vhost', vhost)


def production_config(path, dbname, vhost, **groups):
    """A config file for RabbitMQ (both planes in ``vhost``) and the
    PostgreSQL database ``dbname``; ``groups`` adds ``{group: {opt:
    value}}`` sections. Returns ``path``."""
    sections = {'DEFAULT': {'transport_url': RABBIT_URL % vhost,
                            'work_transport_url': AMQP_URL % vhost,
                            'state_path': os.path.dirname(path)},
                'database': {'connection': PG_URL % dbname}}
    for group, options in groups.items():
        sections.setdefault(group, {}).update(options)
    with open(path, 'w') as f:
        for group, options in sections.items():
            f.write('[%s]\n' % group)
            f.writelines('%s = %s\n' % item for item in options.items())
            f.write('\n')
    return path


def unit_nice(role):
    """The ``Nice=`` of ``systemd/drydock-<role>.service`` (0 without
    one), so a benchmark runs each daemon at the priority production
    gives it."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))), 'systemd', 'drydock-%s.service' % role)
    with open(path) as f:
        found = re.findall(r'^Nice=(-?\d+)\s*$', f.read(), re.M)
    return int(found[-1]) if found else 0


def start_daemon(role, config, log_path, timeout=60, argv=None,
                 unit_priority=True):
    """``drydockd <role>`` (or ``argv`` for it), once its log says it is
    ready, at the unit's ``Nice=`` (``unit_priority=False``: at this
    process's).

    Benchmarks run as root on CI machines, so the daemon is told that is
    meant (drydockd refuses root otherwise).
    """
    log = open(log_path, 'w')
    argv = argv or [os.path.join(BIN, 'drydockd'), role]
    nice = unit_nice(role) if unit_priority else 0
    if nice:
        argv = ['nice', '-n', str(nice)] + argv
    proc = subprocess.Popen(argv + ['--config-file', config],
                            stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ, DRYDOCK_ALLOW_ROOT='1'))
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path) as f:
            if 'Ready:' in f.read():
                return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop(proc)
    with open(log_path) as f:
        raise SystemExit('drydockd %s did not start:\n%s'
                         % (role, f.read()[-2000:]))


class Site:
    """A fresh vhost and database, migrated, and ``drydockd manager``,
    ``executor`` and ``receiver`` as separate processes on them.

    :param groups: config sections added to :func:`production_config`'s.
    :param argv: ``{role: argv}`` to start a role some other way.
    :param unit_priority: run each daemon at its unit's ``Nice=``.
    """

    ROLES = ('manager', 'executor', 'receiver')

    def __init__(self, workdir, groups=None, argv=None, unit_priority=True):
        import sqlalchemy as sa
        tag = uuid.uuid4().hex[:8]
        self.vhost = 'drydock-bench-%s' % tag
        self.db = 'drydock_bench_%s' % tag
        create_site(self.db, self.vhost)
        self.config = production_config(
            os.path.join(workdir, 'drydock-%s.conf' % tag), self.db,
            self.vhost, **(groups or {}))
        subprocess.run([os.path.join(BIN, 'drydock-manage'), '--config-file',
                        self.config, 'db', 'upgrade'], check=True,
                       capture_output=True, timeout=120)
        self.engine = sa.create_engine(PG_URL % self.db)
        self.procs = {}
        self.transports = []
        try:
            for role in self.ROLES:
                self.procs[role] = start_daemon(
                    role, self.config,
                    os.path.join(workdir, '%s-%s.log' % (role, tag)),
                    argv=(argv or {}).get(role),
                    unit_priority=unit_priority)
        except BaseException:
            self.close()
            raise

    def client(self, timeout=600):
        """A drydock_client on its own transport (:meth:`close` ends
        it)."""
        import oslo_messaging as messaging
        from oslo_config import cfg

        from drydock_client import client as client_lib
        from drydockd.api import rpc
        rpc.register_opts(cfg.CONF)
        transport = messaging.get_rpc_transport(
            cfg.CONF, url=RABBIT_URL % self.vhost,
            allowed_remote_exmods=rpc.ALLOWED_EXMODS)
        self.transports.append(transport)
        return client_lib.Client(transport, timeout=timeout, user='bench')

    def wait_task(self, task_id, interval=0.2):
        """Poll the database until the task ends; its result status."""
        import sqlalchemy as sa
        query = sa.text('SELECT status, result_status FROM tasks '
                        'WHERE id = :id')
        while True:
            with self.engine.connect() as conn:
                status, result = conn.execute(query, {'id': task_id}).one()
            if status in ('complete', 'terminated'):
                return result
            time.sleep(interval)

    def peak_rss_mb(self):
        return {role: rss_mb(proc.pid, 'VmHWM')
                for role, proc in self.procs.items()}

    def close(self):
        for transport in self.transports:
            transport.cleanup()
        for proc in self.procs.values():
            stop(proc)
        self.engine.dispose()
        drop_site(self.db, self.vhost)


def chain_graph(tasks, stages=(), duration=None):
    """Deployment tasks: shell tasks ``t01``.. on every node, each
    requiring the one before, with the numbers in ``stages`` stage
    tasks (sync points on the sync node) instead; ``duration`` seconds
    each on the fake node transport (default: instant)."""
    deployment, previous = [], None
    for i in range(1, tasks + 1):
        if i in stages:
            task = {'id': 'stage%02d' % i, 'type': 'stage'}
        else:
            task = {'id': 't%02d' % i, 'type': 'shell', 'roles': ['*'],
                    'parameters': {'command': 'step %d' % i}}
            if duration:
                task['parameters']['duration'] = duration
        if previous:
            task['requires'] = [previous]
        deployment.append(task)
        previous = task['id']
    return deployment


def stop(proc):
    """SIGTERM, then SIGKILL after 30 s."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_s(pid):
    """User plus system CPU seconds a process has used."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def service_cpu(dbname):
    """CPU seconds so far of RabbitMQ and of the PostgreSQL backends
    serving ``dbname`` (their command line names it), by ``(pid,
    name)``; see :func:`service_cpu_since`."""
    found = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/comm' % pid) as f:
                name = f.read().strip()
            if name == 'postgres':
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    if (' %s ' % dbname).encode() not in f.read():
                        continue
            elif name != 'beam.smp':
                continue
            found[(int(pid), name)] = cpu_s(int(pid))
        except OSError:
            continue        # gone meanwhile
    return found


def service_cpu_since(before, dbname):
    """``{'postgres': s, 'rabbitmq': s}``: CPU the services used since
    ``before`` (a :func:`service_cpu` reading), counting backends that
    started meanwhile from zero. RabbitMQ's figure includes other work on
    the same broker, so read it on an otherwise idle machine."""
    used = {'postgres': 0.0, 'rabbitmq': 0.0}
    for key, seconds in service_cpu(dbname).items():
        name = 'rabbitmq' if key[1] == 'beam.smp' else 'postgres'
        used[name] += seconds - before.get(key, 0.0)
    return {name: round(s, 2) for name, s in used.items()}


def rss_mb(pid, field='VmRSS'):
    """A process's resident memory (``VmHWM``: its peak) in MB."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024.0
    return 0.0


def copy_time(value):
    """A datetime as PostgreSQL's COPY text reads it."""
    return value.strftime('%Y-%m-%d %H:%M:%S.%f')
