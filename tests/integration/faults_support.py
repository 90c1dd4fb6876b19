"""Helpers of the receiver fault tests (test_receiver_faults.py).

A large generated site design, one deployment driven through the real
processes (``drydockd manager|executor|receiver`` and the ``drydock2``
CLI), completion polled in PostgreSQL, row snapshots and a field-by-field
comparison that names every difference, and small RabbitMQ helpers
(queue depth, draining a queue, raw publishes). Everything talks to
127.0.0.1 only.
"""

import codecs
import json
import zlib
import os
import signal
import subprocess
import time

import kombu
import pytest
import sqlalchemy as sa
from sqlalchemy import pool as sa_pool

import conftest
from drydockd.messaging import entities

RECEIVER_QUEUE = 'drydock.receiver'
DEAD_QUEUE = RECEIVER_QUEUE + entities.DEAD_SUFFIX
NODE_COUNT = 200
CHAIN = ['t%02d' % i for i in range(1, 11)]     # ten shell tasks per node

# Outcomes built into the design, so the comparison covers every row
# status and message path, not only "ready": every node has a task of
# type "skipped" (legacy_hook, pending -> skipped); node 13 fails t03,
# which has fail_on_error false (-> skipped with the reason, its
# dependants go on); node 7 fails t08
# (-> error, its t09 and t10 fail as dep_failed); node 77 fails t10 (the
# last task, nothing depends on it). Each failure is on one node only so
# the reason a dependant records never depends on which failure the
# engine saw first.
SKIP_NODE, FAIL_NODE, LAST_FAIL_NODE = 13, 7, 77


# -- the site design ----------------------------------------------------------

def site_design(nodes=NODE_COUNT, duration=1.6):
    """A design of ``nodes`` nodes x ten chained shell tasks.

    Also one master task every node's t02 waits for (uid "master"), a
    stage after t05 on the sync pseudo-node (uid null), so the three kinds
    of uid in the protocol all appear, and a task of type "skipped" after
    t03. With ``duration`` seconds per task the deployment takes about
    10 x duration.
    """
    node_docs = [{
        'id': i, 'name': 'node%03d' % i,
        'roles': ['controller'] if i <= 3 else ['compute'],
        'rack': 'rack%d' % (1 + (i - 1) // 40),
        'labels': {'zone': 'ab'[i % 2]}, 'tags': ['t%d' % (i % 3)],
        'oob': {'type': 'ipmi', 'address': '127.0.0.1', 'port': 20000 + i,
                'account': 'admin', 'credential': 'fault-test-%d' % i}}
        for i in range(1, nodes + 1)]
    tasks = [{'id': 'upload_repos', 'type': 'master_shell',
              'roles': ['master'],
              'parameters': {'command': 'sync-repos',
                             'duration': duration}}]
    for i, name in enumerate(CHAIN):
        task = {'id': name, 'type': 'shell', 'roles': ['*'],
                'parameters': {'command': 'step-%s' % name,
                               'duration': duration, 'timeout': 120}}
        if i:
            task['requires'] = ['mid_stage' if name == 't06'
                                else CHAIN[i - 1]]
        if name == 't02':
            task['cross_depends'] = [{'name': 'upload_repos',
                                      'role': 'master'}]
        if name == 't08':
            task['parameters']['fail_on'] = [FAIL_NODE]
        if name == 't10':
            task['parameters']['fail_on'] = [LAST_FAIL_NODE]
        tasks.append(task)
        if name == 't03':
            task['fail_on_error'] = False
            task['parameters']['fail_on'] = [SKIP_NODE]
            tasks.append({'id': 'legacy_hook', 'type': 'skipped',
                          'roles': ['*'], 'requires': ['t03']})
        if name == 't05':
            tasks.append({'id': 'mid_stage', 'type': 'stage',
                          'requires': ['t05']})
    return {'nodes': node_docs, 'deployment_tasks': tasks}


def write_design(path, **kw):
    """Write the design (JSON is YAML) and return its file:// reference."""
    with open(path, 'w') as f:
        json.dump(site_design(**kw), f)
    return 'file://%s' % path


# -- one deployment through the real processes --------------------------------

def migrate(config):
    result = subprocess.run(
        [os.path.join(conftest.BIN, 'drydock-manage'), '--config-file',
         config, 'db', 'upgrade'], capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 0, result.stderr


class Site:
    """One deployment's config, database, vhost and daemons."""

    def __init__(self, workdir, pg_url, vhost, daemons, receiver_extra=None,
                 broker=None):
        os.makedirs(str(workdir), exist_ok=True)
        self.workdir = workdir
        self.pg_url = pg_url
        self.vhost = vhost
        self._daemons = daemons
        # 200 nodes and the master may be busy at once; the default cap
        # (200) would serialise one node behind the others.
        # Designs are written next to the workdir.
        roots = {'design_file_roots': str(workdir.parent)}
        self.config = conftest.production_config(
            workdir / 'drydock.conf', pg_url, vhost, broker=broker,
            graph={'max_busy_nodes': 250}, site=roots)
        self.receiver_config = self.config
        if receiver_extra:
            self.receiver_config = conftest.production_config(
                workdir / 'receiver.conf', pg_url, vhost,
                **dict(receiver_extra, site=roots))
        self.engine = sa.create_engine(pg_url, poolclass=sa_pool.NullPool)
        self.broker = broker
        self.started = []
        self.receiver = None
        self.receiver_starts = 0
        self.task = None
        migrate(self.config)

    def _start(self, role, config, log):
        daemon = self._daemons(role, config, self.workdir / log)
        self.started.append((role, daemon))
        daemon.wait_ready()
        return daemon

    def start(self, receiver=True):
        for role in ('manager', 'executor'):
            self._start(role, self.config, role + '.log')
        if receiver:
            self.start_receiver()

    def stop(self, roles=('manager', 'executor', 'receiver')):
        """SIGTERM (drain) the site's daemons of these roles."""
        for role, daemon in self.started:
            if role in roles:
                daemon.stop()

    def start_receiver(self):
        self.receiver_starts += 1
        self.receiver = self._start('receiver', self.receiver_config,
                                    'receiver-%d.log' % self.receiver_starts)
        return self.receiver

    def kill_receiver(self):
        """kill -9: no drain, no ack, whatever is in hand is lost."""
        self.receiver.proc.send_signal(signal.SIGKILL)
        self.receiver.proc.wait(30)

    def receiver_logs(self):
        text = []
        for i in range(1, self.receiver_starts + 1):
            path = self.workdir / ('receiver-%d.log' % i)
            text.append(path.read_text())
        return '\n'.join(text)

    def create(self, design_ref):
        """``drydock2 task create deploy_nodes`` (no --wait)."""
        created = conftest.drydock2(
            self.config, 'task', 'create', 'deploy_nodes', '--design-ref',
            design_ref, '-f', 'json')
        assert created.returncode == 0, created.stderr
        self.task = json.loads(created.stdout)
        with self.engine.connect() as conn:
            # The CLI shows the uuid as task_id; read it where it lives.
            self.task['uuid'] = conn.execute(sa.text(
                'SELECT uuid FROM tasks WHERE id = :i'),
                {'i': self.task['id']}).scalar()
        return self.task

    def wait_running(self, ready_rows, timeout=60):
        """Until the deployment has ``ready_rows`` rows ready: reports are
        flowing and much is still open."""
        deadline = time.monotonic() + timeout
        while deployment_state(self.engine, self.task['id'])['rows'].get(
                'ready', 0) < ready_rows:
            assert time.monotonic() < deadline, 'the deployment stalled'
            time.sleep(0.2)

    def wait_done(self, timeout=120):
        """Poll the DB: the task is final and no row is pending/running,
        and the receiver queue holds nothing (ready or unacked)."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = deployment_state(self.engine, self.task['id'])
            if state['task'] in ('complete', 'terminated') \
                    and not state['open_rows'] \
                    and queue_depth(self.vhost, RECEIVER_QUEUE,
                                    self.broker) == 0:
                return time.monotonic()
            if self.receiver is not None \
                    and self.receiver.proc.poll() is not None:
                pytest.fail('the receiver exited (%s):\n%s' % (
                    self.receiver.proc.returncode,
                    self.receiver_logs()[-3000:]))
            time.sleep(0.5)
        pytest.fail('deployment %s not done after %ss: %r; receiver log '
                    'tail:\n%s' % (self.task['id'], timeout, state,
                                   self.receiver_logs()[-3000:]))


def deployment_state(engine, task_id):
    with engine.connect() as conn:
        status = conn.execute(sa.text('SELECT status FROM tasks WHERE id=:i'),
                              {'i': task_id}).scalar()
        rows = dict(conn.execute(sa.text(
            'SELECT status, count(*) FROM deployment_history '
            'WHERE task_id=:i GROUP BY status'), {'i': task_id}).all())
    return {'task': status, 'rows': rows,
            'open_rows': rows.get('pending', 0) + rows.get('running', 0)}


# -- snapshots and comparison -------------------------------------------------

def snapshot(engine, task_id):
    """Every row the receiver may touch, as plain dicts."""
    with engine.connect() as conn:
        def rows(sql):
            return [dict(r) for r in
                    conn.execute(sa.text(sql), {'i': task_id}).mappings()]
        task = rows('SELECT * FROM tasks WHERE id=:i')[0]
        return {
            'task': task,
            'nodes': {r['id']: r for r in rows(
                'SELECT * FROM nodes ORDER BY id')},
            'history': {(r['node_id'], r['deployment_graph_task_name']): r
                        for r in rows('SELECT * FROM deployment_history '
                                      'WHERE task_id=:i')},
            'messages': {r['sequence']: r for r in rows(
                'SELECT * FROM result_message WHERE task_id=:i')},
        }


def compare(actual, expected, ignore, limit=25):
    """Differences between two snapshots, field by field.

    ``ignore`` maps 'task' / 'nodes' / 'history' / 'messages' to the
    column names left out; the callers say why for each one. A message's
    ``context`` is the task uuid: it is compared as "is this snapshot's
    own task uuid".
    """
    diffs = []

    def fields(table, a, e, where):
        for col in sorted(set(a) | set(e)):
            if col in ignore.get(table, ()):
                continue
            va, ve = a.get(col), e.get(col)
            if table == 'messages' and col == 'context':
                va = '<own uuid>' if va == actual['task']['uuid'] else va
                ve = '<own uuid>' if ve == expected['task']['uuid'] else ve
            if va != ve:
                diffs.append('%s %s.%s: got %r, expected %r'
                             % (table, where, col, va, ve))

    fields('task', actual['task'], expected['task'], '')
    for table in ('nodes', 'history', 'messages'):
        a, e = actual[table], expected[table]
        for key in sorted(set(a) ^ set(e), key=repr):
            diffs.append('%s %r: only in %s' % (
                table, key, 'actual' if key in a else 'expected'))
        for key in sorted(set(a) & set(e), key=repr):
            fields(table, a[key], e[key], repr(key))
    if len(diffs) > limit:
        diffs = diffs[:limit] + ['... %d more' % (len(diffs) - limit)]
    return diffs


def check_outcome(snap):
    """The designed outcome is there (so equality is not vacuous)."""
    hist = snap['history']
    statuses = {}
    for (node, name), row in hist.items():
        statuses[row['status']] = statuses.get(row['status'], 0) + 1
    assert snap['task']['status'] == 'complete', snap['task']
    assert snap['task']['result_status'] == 'partial_success', snap['task']
    assert hist[('5', 'legacy_hook')]['status'] == 'skipped'
    assert hist[(str(FAIL_NODE), 't08')]['status'] == 'error'
    assert hist[(str(SKIP_NODE), 't03')]['status'] == 'skipped'
    assert hist[(str(SKIP_NODE), 't04')]['status'] == 'ready'
    for name in ('t09', 't10'):
        assert hist[(str(FAIL_NODE), name)]['status'] == 'error'
    assert 't08' in hist[(str(FAIL_NODE), 't09')]['custom']['error_msg']
    assert hist[(str(LAST_FAIL_NODE), 't10')]['status'] == 'error'
    assert hist[('master', 'upload_repos')]['status'] == 'ready'
    assert hist[(None, 'mid_stage')]['status'] == 'ready'
    # 200 x 11 node rows + master + stage; 201 skipped (legacy_hook,
    # t03 on 13), 4 errors (7: t08-t10, 77: t10).
    assert statuses == {
        'ready': NODE_COUNT * (len(CHAIN) + 1) + 2 - NODE_COUNT - 1 - 4,
        'skipped': NODE_COUNT + 1, 'error': 4}, statuses
    for row in hist.values():
        assert row['time_start'] is not None and row['time_end'] is not None
        assert row['time_start'] <= row['time_end'], row


# -- RabbitMQ -----------------------------------------------------------------

def amqp_connection(vhost):
    return kombu.Connection(conftest.AMQP_URL % vhost,
                            transport_options={'confirm_publish': True},
                            heartbeat=0)


def rabbitmqctl(*args, timeout=120):
    result = subprocess.run(['rabbitmqctl', '-q'] + list(args),
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout


def queue_depth(vhost, name, broker=None):
    """Ready + unacknowledged messages of a queue (None if absent), on the
    shared broker or on ``broker`` (a test's own node)."""
    args = ('list_queues', '-p', vhost, '--no-table-headers', 'name',
            'messages')
    out = broker.ctl(*args) if broker else rabbitmqctl(*args)
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == name:
            return int(parts[1])
    return None


def bind_capture_queue(vhost, name):
    """A durable queue that gets a copy of every report to the receiver."""
    queue = kombu.Queue(name, bindings=[
        kombu.binding(kombu.Exchange(exchange, 'direct', durable=True),
                      routing_key=RECEIVER_QUEUE)
        for exchange in ('drydock.reports', 'drydock.agent_reports')],
        durable=True, auto_delete=False)
    with amqp_connection(vhost) as conn:
        queue(conn.default_channel).declare()
    return queue


class Raw:
    """A message as the broker holds it: body bytes, headers, properties."""

    def __init__(self, message):
        props = message.properties
        self.headers = dict(props.get('application_headers') or {})
        self.content_type = props.get('content_type')
        self.content_encoding = props.get('content_encoding')
        # py-amqp hands out a str when the message names a real codec
        # (and '' for any empty body, even one marked kombu's 'binary'):
        # back to the bytes that were on the wire.
        self.body = message.body
        if isinstance(self.body, str):
            try:
                codecs.lookup(self.content_encoding or 'utf-8')
                encoding = self.content_encoding or 'utf-8'
            except LookupError:
                encoding = 'utf-8'
            self.body = self.body.encode(encoding)


def drain(vhost, name, expect=None, idle=2.0, timeout=60):
    """Take every message off a queue (basic_get + ack, nothing decoded
    or decompressed), in queue order, as ``Raw`` objects. Stops when
    ``expect`` were taken, or when the queue stayed empty ``idle`` s."""
    got = []
    with amqp_connection(vhost) as conn:
        channel = conn.default_channel
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            message = channel.basic_get(queue=name, no_ack=False)
            if message is None:
                if expect is not None and len(got) >= expect:
                    break
                if expect is None and time.monotonic() - last > idle:
                    break
                time.sleep(0.05)
                continue
            got.append(Raw(message))
            channel.basic_ack(message.delivery_tag)
            last = time.monotonic()
    return got


def work_conf(vhost):
    """drydock's options at their defaults, on this vhost: what the
    daemons of a test declare, so a test's own declaration matches."""
    from oslo_config import cfg

    from drydockd.conf import opts
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([], project='drydock-test', default_config_files=[])
    conf.set_override('work_transport_url', conftest.AMQP_URL % vhost)
    return conf


class RawPublisher:
    """Publish bytes exactly as given to the receiver queue (confirmed),
    as the executor identity (the one user of the test's vhost)."""

    def __init__(self, vhost, queue=RECEIVER_QUEUE):
        conf = work_conf(vhost)
        assert queue == conf.receiver.queue
        self.conn = amqp_connection(vhost)
        self.queue = entities.receiver_queue(conf)
        self.exchange = entities.executor_report_exchange(conf)
        self.producer = self.conn.Producer()
        self.queue(self.producer.channel).declare()

    def publish(self, body, headers=None,
                content_type='application/octet-stream',
                content_encoding='binary'):
        self.producer.publish(
            body, exchange=self.exchange,
            routing_key=self.queue.name, content_type=content_type,
            content_encoding=content_encoding, delivery_mode=2,
            headers=headers or {}, retry=True, user_id=self.conn.userid,
            retry_policy={'max_retries': 5})

    def close(self):
        self.conn.release()


# -- hostile messages ---------------------------------------------------------

FAULT_ID = 'x-fault-id'
REASON = entities.REASON_HEADER
DEAD, UNKNOWN, HARMLESS = 'dead', 'unknown-task', 'harmless'
JSON_TYPE = ('application/json', 'utf-8')
RAW_TYPE = ('application/octet-stream', 'binary')
SQL = ["'; DROP TABLE tasks; --", "' OR '1'='1",
       "'); DELETE FROM deployment_history; --", '" OR ""="',
       "; TRUNCATE nodes CASCADE", "Robert'); DROP TABLE nodes;--"]


class Hostile:
    """One bad message: the bytes to publish and what must happen to it.

    ``expect``: DEAD (invalid: dead-lettered with a reason), UNKNOWN
    (well-formed, for a task that does not exist: logged and acked, its
    uuids in ``uuids``), HARMLESS (well-formed, for the real task, but
    matching no history row or node: acked, changes nothing).
    """

    def __init__(self, ident, kind, body, expect, headers=None,
                 content=JSON_TYPE, uuids=()):
        self.ident, self.kind, self.expect = ident, kind, expect
        self.body = body if isinstance(body, bytes) else body.encode()
        self.headers = dict(headers or {}, **{FAULT_ID: ident})
        self.content_type, self.content_encoding = content
        self.uuids = list(uuids)


def _now():
    return '2026-11-22T10:00:00.000000Z'


def _entry(**over):
    entry = {'uid': '5', 'deployment_graph_task_name': 't01',
             'task_status': 'ready', 'time': _now(),
             'time_start': _now()}
    entry.update(over)
    return {k: v for k, v in entry.items() if v is not _DROP}


_DROP = object()


def _report(task_uuid, nodes=None, **args):
    body = {'method': 'deploy_resp', 'args': {'task_uuid': task_uuid}}
    if nodes is not None:
        body['args']['nodes'] = nodes
    body['args'].update(args)
    return body


def _wrong_types(uuid_):
    """Reports of the real task with one field of a wrong type or value.

    Each would change a real row (node 5, t01) if it were accepted, so a
    validator that let one through shows up in the row comparison too.
    """
    e = _entry
    return [
        _report(uuid_, [e()], progress='50'),
        _report(uuid_, [e()], progress=True),
        _report(uuid_, [e()], status=5),
        _report(uuid_, [e()], status='finished'),
        _report(uuid_, {'uid': '5'}),
        _report(uuid_, '5'),
        _report(uuid_, [5]),
        _report(uuid_, [None]),
        _report(uuid_, [[]]),
        _report(uuid_, ['5']),
        _report(uuid_, [e(uid=5)]),
        _report(uuid_, [e(uid=5.0)]),
        _report(uuid_, [e(uid=['5'])]),
        _report(uuid_, [e(uid='node-5')]),
        _report(uuid_, [e(uid='-5')]),
        _report(uuid_, [e(uid='')]),
        _report(uuid_, [e(uid=_DROP)]),
        _report(uuid_, [e(task_status=1)]),
        _report(uuid_, [e(task_status='done')]),
        _report(uuid_, [e(task_status=_DROP)]),
        _report(uuid_, [e(deployment_graph_task_name=5)]),
        _report(uuid_, [e(deployment_graph_task_name=['t01'])]),
        _report(uuid_, [e(status='flying')]),
        _report(uuid_, [e(status=3)]),
        _report(uuid_, [e(progress='40')]),
        _report(uuid_, [e(time='yesterday')]),
        _report(uuid_, [e(time=1700000000)]),
        _report(uuid_, [e(time='2026-13-45T99:99:99Z')]),
        _report(uuid_, [e(time_start=[])]),
        _report(uuid_, [e(custom=[])]),
        _report(uuid_, [e(summary='ok')]),
        _report(uuid_, [e()], error=5),
        _report(123, [e()]),
        _report('', [e()]),
        _report('x' * 65, [e()]),
        _report(None, [e()]),
        {'method': 'deploy_resp', 'args': []},
        {'method': 'deploy_resp', 'args': None},
        {'method': 'deploy_resp', 'args': 'task'},
    ]


def _sql_invalid(uuid_):
    """SQL fragments where the protocol allows no such text: invalid."""
    out = []
    for frag in SQL:
        out += [
            _report(uuid_, [_entry(uid='5' + frag)]),
            _report(uuid_, [_entry(task_status='ready' + frag)]),
            _report(uuid_, [_entry(status='error' + frag)]),
            _report(uuid_, [_entry(time=_now() + frag)]),
            _report(uuid_, [_entry()], status='ready' + frag),
            {'method': 'deploy_resp' + frag,
             'args': {'task_uuid': uuid_, 'nodes': [_entry()]}},
        ]
    return out


UNKNOWN_METHODS = ['task_deploy', 'foo_resp', 'DEPLOY_RESP', 'deploy_resp ',
                   ' deploy_resp', 'deploy', '', '__init__', 'apply_reports',
                   123, None, ['deploy_resp'], {'name': 'deploy_resp'}]


def _garbage(rng, valid, limit, task_uuid):
    """Random bytes, truncated JSON, bodies over the limit (plain and as
    a zlib bomb: kombu's 'gzip' is zlib; the limit applies after
    decompression)."""
    for _ in range(300):
        yield ('random-bytes', rng.randbytes(rng.randint(0, 3000)), DEAD,
               {'content': RAW_TYPE})
    for _ in range(300):
        # Any proper prefix of a JSON object is invalid.
        yield ('truncated-json', valid[:rng.randint(1, len(valid) - 1)],
               DEAD, {})
    for _ in range(40):
        size = limit + rng.randint(1, 3 * limit)
        yield ('huge', json.dumps(_report(task_uuid, [_entry(
            error_msg='A' * size)])), DEAD, {})
    for _ in range(20):
        size = limit * rng.randint(2, 16)
        yield ('huge-compressed', zlib.compress(json.dumps(_report(
            task_uuid, [_entry(error_msg='B' * size)])).encode()), DEAD,
            {'headers': {'compression': 'application/x-gzip'}})


def _invalid_fields(task_uuid):
    """Wrong types, SQL where it cannot be, unknown methods, bodies of the
    wrong shape."""
    templates = _wrong_types(task_uuid)
    for i in range(400):
        yield 'wrong-type', json.dumps(templates[i % len(templates)]), DEAD, {}
    templates = _sql_invalid(task_uuid)
    for i in range(200):
        yield ('sql-invalid', json.dumps(templates[i % len(templates)]),
               DEAD, {})
    for i in range(150):
        body = {'args': {'task_uuid': task_uuid, 'nodes': [_entry()]}}
        if i % 10:                          # else: no method at all
            body['method'] = UNKNOWN_METHODS[i % len(UNKNOWN_METHODS)]
        yield 'unknown-method', json.dumps(body), DEAD, {}


def _structural(valid):
    structural = [b'[]', b'null', b'true', b'"deploy_resp"', b'{}', b'[[]]',
                  b'{"method": "deploy_resp"}', b'[1, 2, 3]',
                  (valid + ' trailing').encode(), (valid + valid).encode(),
                  json.dumps([_report('%s-mixed' % SQL[0][:20], []),
                              5]).encode()]
    for i in range(90):
        yield 'structural', structural[i % len(structural)], DEAD, {}


def _compressed_garbage(rng, valid):
    """A compression header over bytes that do not decompress."""
    full = zlib.compress(valid.encode())
    for i in range(250):
        junk = rng.randbytes(rng.randint(1, 2000))
        header = 'application/x-gzip'
        body = [junk, b'\x1f\x8b\x08\x00' + junk, b'\x78\x9c' + junk,
                full[:rng.randint(2, len(full) - 5)], junk, junk][i % 6]
        if i % 6 == 4:
            header = 'application/x-bz2'
        elif i % 6 == 5:
            header = 'application/x-no-such-codec'
        yield ('compressed-garbage', body, DEAD,
               {'headers': {'compression': header}, 'content': RAW_TYPE})


def _well_formed(task_uuid, limit):
    """Reports for tasks that do not exist (SQL in the uuid: UNKNOWN) and
    reports of the real task matching no row or node (HARMLESS)."""
    for i in range(150):
        uuids = ['%s-%d' % (SQL[(i + j) % len(SQL)], i * 2 + j)
                 for j in range(1 + (i % 5 == 0))]
        reports = [_report(u, [_entry(uid=str(n), status='error',
                                      progress=100)
                               for n in (5, 6, 7)],
                           status='ready', progress=100) for u in uuids]
        yield ('unknown-task', json.dumps(
            reports if len(reports) > 1 else reports[0]), UNKNOWN,
            {'uuids': uuids})
    for i in range(100):
        entry = [
            _entry(deployment_graph_task_name='t01' + SQL[i % 6]),
            _entry(uid='master',
                   deployment_graph_task_name=SQL[i % 6].strip()),
            _entry(uid=None, task_status='error',
                   deployment_graph_task_name='nonexistent_%d' % i,
                   error_msg='C' * (limit // 2)),
            {'uid': '99999', 'status': 'error', 'progress': 100,
             'error_msg': SQL[i % 6]},
        ][i % 4]
        yield 'harmless', json.dumps(_report(task_uuid, [entry])), \
            HARMLESS, {}


def hostile_messages(rng, task_uuid, limit, count=2000):
    """``count`` hostile messages (seeded), shuffled.

    Left out on purpose: the messages that pass validation but break the
    DB step (NaN, NUL, lone surrogates, out-of-range times); they have
    their own test (test_receiver_survives_poison_message), so this one
    measures the rest.
    """
    valid = json.dumps(_report(task_uuid, [_entry(uid=str(n))
                                           for n in range(1, 30)]))
    made = [*_garbage(rng, valid, limit, task_uuid),
            *_invalid_fields(task_uuid), *_structural(valid),
            *_compressed_garbage(rng, valid), *_well_formed(task_uuid, limit)]
    assert len(made) == count, len(made)
    rng.shuffle(made)
    return [Hostile(i, kind, body, expect, **kw)
            for i, (kind, body, expect, kw) in enumerate(made)]
