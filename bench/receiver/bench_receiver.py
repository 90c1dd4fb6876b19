"""Benchmark the receiver: RabbitMQ -> PostgreSQL, against Fuel's way.

Workload (issue 3): 1,000 nodes x 20 graph tasks, each reported
``running`` then ``ready`` (40,000 node entries, ``ready`` entries carry
``time_start``, node progress and a summary, as the graph engine sends
them), in the order a deployment produces them (nodes progress
independently, random task durations), cut into messages of 1 to 50
entries (random sizes, seeded). The messages are published with
publisher confirms to a fresh RabbitMQ vhost and applied to a fresh
PostgreSQL database holding one task with the 20,000 pending rows
(``Connection.start_task``) and the 1,000 nodes.

Consumers, each in its own process (``python bench_receiver.py
_consume ...``), each on its own fresh database, one after the other:

- ``receiver``: drydock's ``ReceiverService`` with its defaults
  (``[receiver] batch_size``/``batch_window_ms``), subclassed only to
  record, after each successful ``flush()``, the commit time of every
  message in the batch.
- ``fuel``: the baseline, applying the same messages the Fuel way
  (nailgun's receiver): one transaction per message, the task row
  ``SELECT ... FOR UPDATE``, then per node entry one ORM ``SELECT`` of the
  history row and an ``UPDATE`` of it (flushed per entry, as
  ``DeploymentHistory.update_if_exist`` did), plus a ``SELECT`` and
  ``UPDATE`` of the node for its progress; ack after commit. Same JSON
  decoding, validation and transition rules as drydock, so both leave
  identical rows (checked).
Phases:

- throughput: all messages are published first (the queue holds 40,000
  entries), then the consumer starts; entries/s = 40,000 / (last commit -
  first delivery).
- latency: the consumer is started first, then messages are published
  paced at ``--rate`` entries/s (default 20,000, the target); the publish
  time travels in a header, latency = commit time - publish time per
  message (wall clocks of the same machine), p50/p99 over every message.

Peak RSS is the consumer process's VmHWM (/proc/PID/status) at its end.
Consumer CPU is the user and system time of the consuming loop (setup
excluded): the work the receiver did, which other load on a shared
machine changes far less than it changes entries/s.
Each run's final history rows and node progress are compared with the
first run's; the bench fails if they differ. The vhost and the databases
are deleted at the end.

Usage::

    python bench/receiver/bench_receiver.py                  # full run
    python bench/receiver/bench_receiver.py --profile receiver  # cProfile
    python bench/receiver/bench_receiver.py --nodes 100      # quick check

Needs RabbitMQ (rabbitmqctl, guest/guest) and PostgreSQL (trust, user
postgres) on 127.0.0.1, as the integration tests do.
"""

import argparse
import datetime
import json
import os
import platform
import random
import select
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from benchlib import AMQP_URL, PG_URL, admin, rabbitmqctl  # noqa: E402

SENT_HEADER = 'x-bench-sent'
ENTRIES_HEADER = 'x-bench-entries'
BASE_TIME = datetime.datetime(2026, 11, 22, 10, 0, 0)


# -- environment: vhost, databases, config ------------------------------------

def create_database():
    name = 'drydock_bench_%s' % uuid.uuid4().hex[:10]
    admin('CREATE DATABASE %s' % name)
    return name


def drop_database(name):
    admin('DROP DATABASE IF EXISTS %s WITH (FORCE)' % name)


def write_config(path, db_url, vhost, batch_size=None, window_ms=None):
    receiver = {}
    if batch_size:
        receiver['batch_size'] = batch_size
    if window_ms:
        receiver['batch_window_ms'] = window_ms
    lines = ['[DEFAULT]', 'work_transport_url = %s' % (AMQP_URL % vhost),
             'state_path = %s' % os.path.dirname(path), '',
             '[database]', 'connection = %s' % db_url, '', '[receiver]']
    lines += ['%s = %s' % kv for kv in receiver.items()]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def seed_database(db_url, nodes, tasks):
    """Migrate, add the nodes, start the task with its pending rows."""
    import sqlalchemy as sa
    from drydockd.db import migration
    from drydockd.db.sqlalchemy import api as sqla_api
    from drydockd.db.sqlalchemy import engine as engine_mod

    migration.upgrade(db_url)
    engine = engine_mod.get_engine(db_url)
    db = sqla_api.Connection(engine)
    db.sync_nodes([{'id': i, 'name': 'node%04d' % i, 'roles': ['compute']}
                   for i in range(1, nodes + 1)])
    history = [(str(i), name) for i in range(1, nodes + 1)
               for name in task_names(tasks)]
    task = db.start_task({'action': 'deploy_nodes',
                          'graph': {'tasks_graph': {},
                                    'task_names': task_names(tasks)}},
                         list(range(1, nodes + 1)), history,
                         node_status='deploying')
    # A table that just got 20,000 rows has no statistics yet; a live
    # site's autovacuum would have gathered them. Same for every run.
    with engine.connect().execution_options(
            isolation_level='AUTOCOMMIT') as conn:
        conn.execute(sa.text('VACUUM ANALYZE'))
    engine_mod.dispose_all()
    return task


def task_names(tasks):
    return ['g%02d' % k for k in range(1, tasks + 1)]


# -- workload -----------------------------------------------------------------

def workload(task_uuid, nodes, tasks, seed):
    """The messages: list of (body dict, entry count), in publish order."""
    rng = random.Random(seed)
    fmt = '%Y-%m-%dT%H:%M:%S.%fZ'
    events = []
    names = task_names(tasks)
    for node in range(1, nodes + 1):
        clock = rng.uniform(0, 5)
        for k, name in enumerate(names, 1):
            start = clock
            clock += rng.uniform(5, 30)
            t0 = BASE_TIME + datetime.timedelta(seconds=start)
            t1 = BASE_TIME + datetime.timedelta(seconds=clock)
            events.append((start, node, k, {
                'uid': str(node), 'time': t0.strftime(fmt),
                'deployment_graph_task_name': name,
                'task_status': 'running'}))
            events.append((clock, node, k, {
                'uid': str(node), 'time': t1.strftime(fmt),
                'deployment_graph_task_name': name, 'task_status': 'ready',
                'time_start': t0.strftime(fmt),
                'progress': int(100 * k / tasks),
                'summary': {'exit_code': 0}}))
            clock += rng.uniform(0, 0.5)
    events.sort(key=lambda e: e[:3])
    entries = [e[3] for e in events]
    messages, i = [], 0
    while i < len(entries):
        size = rng.randint(1, 50)
        chunk = entries[i:i + size]
        i += size
        messages.append(({'method': 'deploy_resp',
                          'args': {'task_uuid': task_uuid,
                                   'nodes': chunk}}, len(chunk)))
    return messages


class Publisher:
    """kombu publisher with confirms, like the executor's."""

    def __init__(self, vhost):
        import kombu
        from drydockd.messaging import entities
        self.conn = kombu.Connection(
            AMQP_URL % vhost, transport_options={'confirm_publish': True},
            heartbeat=0)
        conf = _conf()
        self.queue = entities.receiver_queue(conf)
        self.exchange = entities.publisher_exchange(conf, self.queue)
        self.producer = self.conn.Producer()
        self.queue(self.producer.channel).declare()

    def publish(self, body, entries):
        self.producer.publish(
            body, exchange=self.exchange,
            routing_key=self.queue.name, serializer='json',
            delivery_mode=2, user_id=self.conn.userid,
            headers={SENT_HEADER: time.time(), ENTRIES_HEADER: entries})

    def close(self):
        self.conn.release()


def _conf():
    """drydock's options at their defaults (the receiver queue's names)."""
    from oslo_config import cfg
    from drydockd.conf import opts
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    return conf


# -- the consumers (child processes) ------------------------------------------

def _peak_rss_kb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    return None


class _Recorder:
    """Commit records of one consumer process."""

    def __init__(self, expect):
        self.expect = expect
        self.entries = 0
        self.first = None
        self.records = []      # (sent, committed, entries)
        self.cpu = None        # CPU seconds of the consuming loop

    def delivered(self):
        if self.first is None:
            self.first = time.time()

    def committed(self, messages):
        now = time.time()
        for message in messages:
            headers = message.headers or {}
            n = headers.get(ENTRIES_HEADER, 0)
            self.records.append((headers.get(SENT_HEADER), now, n))
            self.entries += n
        return self.entries >= self.expect

    def result(self):
        return {'first': self.first, 'records': self.records,
                'entries': self.entries, 'peak_rss_kb': _peak_rss_kb(),
                'cpu_s': self.cpu}


def _receiver_class(recorder):
    from drydockd.receiver import service

    class BenchReceiver(service.ReceiverService):

        def on_report(self, message):
            recorder.delivered()
            super().on_report(message)

        failures = 0

        def flush(self):
            messages = [message for message, _ in self.batch]
            applied = self.applied
            had_reports = any(items for _, items in self.batch)
            super().flush()
            if self.applied != applied:
                self.failures = 0
                if recorder.committed(messages):
                    self.should_stop = True
            elif had_reports:
                # The product logged it and requeued; a bench stops.
                self.failures += 1
                if self.failures >= 3:
                    raise SystemExit('applying a batch failed 3 times')

    return BenchReceiver


class FuelBaseline:
    """Fuel's receiver: a transaction per message, SELECT+UPDATE per entry.

    Started by ``_consume`` as a kombu ConsumerMixin; prefetch as the
    product receiver's so the broker is not what differs.
    """

    def __init__(self, conf, recorder):
        from kombu.mixins import ConsumerMixin
        import sqlalchemy as sa
        from drydockd.db.sqlalchemy import engine as engine_mod
        from drydockd.messaging import entities

        self.sa = sa
        self.conf = conf
        self.recorder = recorder
        self.engine = engine_mod.get_engine(conf.database.connection)
        self.sessions = engine_mod.sessionmaker(self.engine)
        outer = self

        class Consumer(ConsumerMixin):
            connection = entities.connection(conf)

            def get_consumers(self, Consumer, channel):
                return [Consumer(queues=[entities.receiver_queue(conf)],
                                 on_message=outer.on_message, no_ack=False,
                                 prefetch_count=conf.receiver.batch_size)]

        self.consumer = Consumer()

    def run(self):
        self.consumer.run()

    def on_message(self, message):
        from sqlalchemy import orm
        from drydockd.common import states
        from drydockd.db import models
        from drydockd.messaging import schemas
        sa = self.sa
        H = models.DeploymentHistory
        self.recorder.delivered()
        received = schemas.utcnow()
        items = [schemas.validate_report(i) for i in
                 schemas.decode_body(message.body,
                                     self.conf.max_message_bytes)]
        with self.sessions() as session, session.begin():
            for item in items:
                args = item['args']
                task = session.scalars(
                    sa.select(models.Task)
                    .where(models.Task.uuid == args['task_uuid'])
                    .with_for_update()).first()
                if task is None:
                    continue
                for entry in args.get('nodes', []):
                    # summary is a deferred column: loaded with the row
                    # here so it stays one SELECT per entry.
                    row = session.scalars(
                        sa.select(H).options(orm.undefer(H.summary)).where(
                            H.task_id == task.id,
                            H.node_id == entry['uid'],
                            H.deployment_graph_task_name ==
                            entry['deployment_graph_task_name'])).first()
                    if row is None:
                        continue
                    when = schemas.parse_time(entry['time'])
                    start = entry.get('time_start')
                    changes = states.history_transition(
                        {'status': row.status, 'time_start': row.time_start,
                         'time_end': row.time_end}, entry['task_status'],
                        when, schemas.parse_time(start) if start else None)
                    for key, value in (changes or {}).items():
                        setattr(row, key, value)
                    if entry.get('summary'):
                        row.summary = dict(row.summary or {},
                                           **entry['summary'])
                    session.flush()
                    if entry.get('progress') is not None:
                        node = session.get(models.Node, int(entry['uid']))
                        node.progress = max(node.progress or 0,
                                            min(100, int(entry['progress'])))
                        node.updated = received
                        session.flush()
                task.heartbeat = received
        message.ack()
        if self.recorder.committed([message]):
            self.consumer.should_stop = True


def consume_main(argv):
    """Child process: run one consumer until ``--expect`` entries are
    committed, then write the records (JSON) to ``--out``."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--kind', required=True)
    parser.add_argument('--config', required=True)
    parser.add_argument('--expect', type=int, required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--profile')
    args = parser.parse_args(argv)

    import logging
    logging.basicConfig(level=logging.WARNING)
    from drydockd.conf import config
    conf = config.parse_args(['--config-file', args.config])
    recorder = _Recorder(args.expect)
    if args.kind == 'fuel':
        consumer = FuelBaseline(conf, recorder)
        ready = consumer.consumer
    else:
        consumer = ready = _receiver_class(recorder)(conf)

    # Tell the parent when the consumer is attached to the queue.
    on_ready = getattr(ready, 'on_consume_ready')

    def announce(*a, **kw):
        print('READY', flush=True)
        return on_ready(*a, **kw)
    ready.on_consume_ready = announce

    profiler = None
    if args.profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    cpu = sum(os.times()[:2])
    consumer.run()
    recorder.cpu = sum(os.times()[:2]) - cpu
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    with open(args.out, 'w') as f:
        json.dump(recorder.result(), f)


# -- the parent: runs, measures, compares -------------------------------------

class Run:
    def __init__(self, kind, phase, rate=None):
        self.kind, self.phase, self.rate = kind, phase, rate
        self.result = None
        self.rows = None

    @property
    def label(self):
        if self.phase == 'throughput':
            return '%s, queue preloaded' % self.kind
        return '%s, paced %d entries/s' % (self.kind, self.rate)


def run_one(run, opts, vhost, workdir):
    """One consumer on a fresh database; returns nothing, fills ``run``."""
    import sqlalchemy as sa
    from sqlalchemy import pool as sa_pool

    name = create_database()
    try:
        db_url = PG_URL % name
        task = seed_database(db_url, opts.nodes, opts.tasks)
        messages = workload(task['uuid'], opts.nodes, opts.tasks, opts.seed)
        total = sum(n for _, n in messages)
        config = write_config(os.path.join(workdir, 'drydock.conf'), db_url,
                              vhost, opts.batch_size, opts.window_ms)
        out = os.path.join(workdir, 'out-%s.json' % uuid.uuid4().hex[:6])
        profile = None
        if run.kind in (opts.profile or ()) and run.phase == 'throughput':
            profile = os.path.join(workdir, '%s.prof' % run.kind)
        cmd = [sys.executable, os.path.abspath(__file__), '_consume',
               '--kind', run.kind, '--config', config, '--expect',
               str(total), '--out', out]
        if profile:
            cmd += ['--profile', profile]
        publisher = Publisher(vhost)
        if run.phase == 'throughput':
            for body, n in messages:
                publisher.publish(body, n)
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        _wait_ready(child)
        if run.phase == 'latency':
            start = time.monotonic()
            sent = 0
            for body, n in messages:
                due = start + sent / run.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                publisher.publish(body, n)
                sent += n
        publisher.close()
        try:
            child.wait(opts.timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            raise SystemExit('%s did not finish in %ss' % (run.label,
                                                           opts.timeout))
        if child.returncode != 0:
            raise SystemExit('%s failed (exit %s)' % (run.label,
                                                      child.returncode))
        with open(out) as f:
            run.result = json.load(f)
        engine = sa.create_engine(db_url, poolclass=sa_pool.NullPool)
        with engine.connect() as conn:
            run.rows = {
                'history': sorted(tuple(r) for r in conn.execute(sa.text(
                    'SELECT node_id, deployment_graph_task_name, status, '
                    'time_start, time_end, custom::text, summary::text '
                    'FROM deployment_history ORDER BY 1, 2'))),
                'nodes': sorted(tuple(r) for r in conn.execute(sa.text(
                    'SELECT id, status, progress FROM nodes')))}
        engine.dispose()
        if profile:
            run.profile = profile
    finally:
        from drydockd.db.sqlalchemy import engine as engine_mod
        engine_mod.dispose_all()
        drop_database(name)


def _wait_ready(child, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([child.stdout], [], [], 0.5)
        if ready and child.stdout.readline().strip() == 'READY':
            return
        if child.poll() is not None:
            raise SystemExit('consumer exited before it was ready')
    child.kill()
    raise SystemExit('consumer not ready in %ss' % timeout)


def figures(run):
    res = run.result
    records = res['records']
    last = max(r[1] for r in records)
    rate = res['entries'] / (last - res['first'])
    lat = sorted(r[1] - r[0] for r in records)
    fig = {'entries': res['entries'], 'messages': len(records),
           'seconds': last - res['first'], 'rate': rate,
           'rss_mb': res['peak_rss_kb'] / 1024.0, 'cpu_s': res['cpu_s']}
    if run.phase == 'latency':
        fig['p50'] = statistics.median(lat)
        fig['p99'] = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        fig['max'] = lat[-1]
    return fig


def print_table(runs, opts):
    print()
    try:
        commit = subprocess.run(
            ['git', '-C', os.path.dirname(os.path.abspath(__file__)),
             'rev-parse', '--short', 'HEAD'], capture_output=True,
            text=True, timeout=10).stdout.strip() or '?'
    except OSError:
        commit = '?'
    print('Receiver benchmark, %s, %d CPUs, Python %s, PostgreSQL and '
          'RabbitMQ on the same host, commit %s, load average at the end '
          '%.2f' % (datetime.date.today().isoformat(), os.cpu_count(),
                    platform.python_version(), commit, os.getloadavg()[0]))
    print('Workload: %d nodes x %d graph tasks x (running, ready) = %d '
          'entries in %d messages of 1-50 entries (seed %d); batch_size=%s '
          'batch_window_ms=%s' % (
              opts.nodes, opts.tasks, opts.nodes * opts.tasks * 2,
              len(runs[0].result['records']), opts.seed,
              opts.batch_size or 'default', opts.window_ms or 'default'))
    print()
    print('| run | entries/s | time (s) | p50 latency | p99 latency | '
          'max latency | peak RSS | consumer CPU (s) |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|')
    for run in runs:
        f = figures(run)
        lat = ['%.0f ms' % (1000 * f[k]) if k in f else '-'
               for k in ('p50', 'p99', 'max')]
        print('| %s | %s | %.2f | %s | %s | %s | %.0f MB | %.2f |' % (
            run.label, '{:,.0f}'.format(f['rate']), f['seconds'], *lat,
            f['rss_mb'], f['cpu_s']))
    by = {(r.kind, r.phase): figures(r) for r in runs}
    base = by.get(('fuel', 'throughput'))
    print()
    for kind in ('receiver',):
        thr = by.get((kind, 'throughput'))
        lat = by.get((kind, 'latency'))
        if not thr:
            continue
        line = '%s: %s entries/s' % (kind, '{:,.0f}'.format(thr['rate']))
        if base:
            line += ', %.1fx the Fuel baseline (target >= 10x: %s)' % (
                thr['rate'] / base['rate'],
                'met' if thr['rate'] >= 10 * base['rate'] else 'MISSED')
        line += '; >= 20,000 entries/s: %s' % (
            'met' if thr['rate'] >= 20000 else 'MISSED')
        if lat:
            line += '; p99 %.0f ms at %d entries/s (target < 1 s: %s)' % (
                1000 * lat['p99'], opts.rate,
                'met' if lat['p99'] < 1.0 else 'MISSED')
        print(line)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == '_consume':
        return consume_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nodes', type=int, default=1000)
    parser.add_argument('--tasks', type=int, default=20)
    parser.add_argument('--seed', type=int, default=20261122)
    parser.add_argument('--rate', type=int, default=20000,
                        help='entries/s of the paced (latency) runs')
    parser.add_argument('--batch-size', type=int,
                        help='[receiver] batch_size (default: the '
                             "product's)")
    parser.add_argument('--window-ms', type=int,
                        help='[receiver] batch_window_ms')
    parser.add_argument('--skip-baseline', action='store_true')
    parser.add_argument('--profile', action='append',
                        choices=('receiver', 'fuel'),
                        help='cProfile the throughput run of this consumer '
                             '(repeatable)')
    parser.add_argument('--timeout', type=int, default=900)
    parser.add_argument('--json', help='write the figures here')
    opts = parser.parse_args(argv)

    runs = [Run('receiver', 'throughput'),
            Run('receiver', 'latency', opts.rate)]
    if not opts.skip_baseline:
        runs.append(Run('fuel', 'throughput'))

    vhost = 'drydock-bench-%s' % uuid.uuid4().hex[:10]
    rabbitmqctl('add_vhost', vhost)
    try:
        rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*',
                    '.*')
        with tempfile.TemporaryDirectory(prefix='bench-receiver-') as work:
            for run in runs:
                print('running: %s ...' % run.label, file=sys.stderr,
                      flush=True)
                run_one(run, opts, vhost, work)
                f = figures(run)
                print('  %s entries/s%s' % (
                    '{:,.0f}'.format(f['rate']),
                    ', p50 %.0f ms, p99 %.0f ms' % (1000 * f['p50'],
                                                    1000 * f['p99'])
                    if 'p50' in f else ''), file=sys.stderr, flush=True)
                if run.rows != runs[0].rows:
                    raise SystemExit('%s left different rows than %s'
                                     % (run.label, runs[0].label))
                if getattr(run, 'profile', None):
                    import pstats
                    print('\ncProfile of %s (throughput run), top 30 by '
                          'cumulative time:' % run.kind, file=sys.stderr)
                    stats = pstats.Stats(run.profile, stream=sys.stderr)
                    stats.sort_stats('cumulative').print_stats(30)
                    stats.sort_stats('tottime').print_stats(20)
            statuses = {r[2] for r in runs[0].rows['history']}
            assert statuses == {'ready'}, statuses
            print_table(runs, opts)
            if opts.json:
                with open(opts.json, 'w') as f:
                    json.dump({r.label: figures(r) for r in runs}, f,
                              indent=1)
    finally:
        rabbitmqctl('delete_vhost', vhost)


if __name__ == '__main__':
    sys.exit(main())
