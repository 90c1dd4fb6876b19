"""Benchmark the operator CLI against a big deployment history (issue 7).

Fuel's spec promised ``fuel2 task history show`` at 10,000 deployments and
never measured it. This does, on the production configuration:

- **Data.** PostgreSQL is loaded with finished ``deploy_nodes`` tasks of
  10 nodes x 10 graph tasks each (100 history rows per task: 1M rows at
  10,000 tasks), through ``COPY`` in chunks. Each task keeps a graph
  snapshot like a real one. The schema comes from ``drydock-manage db
  upgrade``.
- **Processes.** ``drydockd manager`` and ``drydockd receiver`` run
  against RabbitMQ (API plane ``rabbit://``, work plane ``amqp://``) in a
  fresh vhost, as in production.
- **Whole-process timings** (median of ``--runs`` after one warm-up) of
  ``drydock2 task history show N --nodes 5,6 -f json``, ``drydock2 task
  list`` and ``drydock2 --help`` at the CLI size (10,000 tasks).
  Targets: history < 0.5 s, ``--help`` < 0.3 s.
- **Server-side query time**, calling the DB API directly (no RPC), at
  each size (1k, 10k, 30k tasks): ``get_history`` with and without a node
  filter, median over tasks spread across the table; it must not grow
  with the number of tasks. ``list_tasks`` is shown for contrast: it
  returns every task, so it grows.

Usage::

    python bench/cli/bench_cli.py                      # 1k, 10k, 30k
    python bench/cli/bench_cli.py --sizes 1000,10000 --runs 9
    python bench/cli/bench_cli.py --json results.json

Needs RabbitMQ at 127.0.0.1:5672 (guest/guest, ``rabbitmqctl`` on PATH)
and PostgreSQL at 127.0.0.1:5432 (user postgres, trust). The database and
vhost it creates are dropped at the end unless ``--keep`` is given.
"""

import argparse
import datetime
import io
import json
import os
import statistics
import subprocess
import sys
import time
import uuid

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from benchlib import BIN, PG_DSN, copy_time, create_site, drop_site, \
    production_config, start_daemon, stop  # noqa: E402

NODES = [str(n) for n in range(1, 11)]
GRAPH_TASKS = ['g%02d_%s' % (i, name) for i, name in enumerate(
    ('hiera', 'netconfig', 'repos', 'packages', 'ntp', 'storage', 'services',
     'monitoring', 'smoke_test', 'cleanup'), 1)]
CHUNK = 1000
EPOCH = datetime.datetime(2026, 1, 1)
TASK_COLUMNS = ('id', 'uuid', 'action', 'status', 'result_status',
                'result_message', 'result_error_count', 'progress',
                'design_ref', 'created', 'created_by', 'updated',
                'time_start', 'time_end', 'dry_run', 'graph')
HISTORY_COLUMNS = ('task_id', 'node_id', 'deployment_graph_task_name',
                   'status', 'time_start', 'time_end', 'custom', 'summary')


def graph_snapshot():
    """A graph like the serializer's: 10 chained tasks per node."""
    per_node = [{'id': name, 'type': 'shell',
                 'requires': [GRAPH_TASKS[i - 1]] if i else [],
                 'parameters': {'command': name, 'timeout': 300}}
                for i, name in enumerate(GRAPH_TASKS)]
    return json.dumps({'tasks_graph': {n: per_node for n in NODES},
                       'task_names': GRAPH_TASKS})


def task_lines(first, last, graph):
    """COPY text lines of tasks ``first``..``last`` and their history."""
    tasks, history = io.StringIO(), io.StringIO()
    for tid in range(first, last + 1):
        start = EPOCH + datetime.timedelta(minutes=tid)
        end = start + datetime.timedelta(seconds=len(GRAPH_TASKS) * 3)
        tasks.write('\t'.join((
            str(tid), str(uuid.UUID(int=tid)), 'deploy_nodes', 'complete',
            'success', 'Deployed 10 nodes', '0', '100',
            'file:///srv/site.yaml', copy_time(start), 'bench', copy_time(end),
            copy_time(start), copy_time(end), 'f', graph)) + '\n')
        for n, node in enumerate(NODES):
            for i, name in enumerate(GRAPH_TASKS):
                t0 = start + datetime.timedelta(seconds=i * 3 + n * 0.01)
                t1 = t0 + datetime.timedelta(seconds=2.5)
                history.write('%d\t%s\t%s\tready\t%s\t%s\t{}\t{}\n'
                              % (tid, node, name, copy_time(t0),
                                 copy_time(t1)))
    tasks.seek(0)
    history.seek(0)
    return tasks, history


def load(dbname, first, last):
    """COPY tasks first..last (and 100 history rows each) in chunks."""
    graph = graph_snapshot()
    conn = psycopg2.connect(PG_DSN % dbname)
    try:
        with conn.cursor() as cur:
            for lo in range(first, last + 1, CHUNK):
                tasks, history = task_lines(lo, min(lo + CHUNK - 1, last),
                                            graph)
                cur.copy_expert('COPY tasks (%s) FROM STDIN'
                                % ', '.join(TASK_COLUMNS), tasks)
                cur.copy_expert('COPY deployment_history (%s) FROM STDIN'
                                % ', '.join(HISTORY_COLUMNS), history)
                conn.commit()
            cur.execute("SELECT setval(pg_get_serial_sequence('tasks', "
                        "'id'), %s)", (last,))
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute('VACUUM ANALYZE tasks')
            cur.execute('VACUUM ANALYZE deployment_history')
    finally:
        conn.close()


def time_process(argv, runs):
    """Median wall time of a whole process (after one warm-up run)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('DRYDOCK_')}
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, text=True,
                                env=env, timeout=300)
        elapsed = time.perf_counter() - t0
        if result.returncode != 0:
            raise SystemExit('%s failed: %s' % (' '.join(argv),
                                                result.stderr))
        if i:
            times.append(elapsed)
    return statistics.median(times), min(times), max(times), result.stdout


def time_call(fn, samples):
    times = []
    for arg in samples:
        t0 = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def server_side(conf, size, runs):
    """Median DB API times at ``size`` tasks, in milliseconds."""
    from drydockd.db import api as db_api
    db = db_api.get_instance(conf)
    step = max(1, size // 25)
    samples = list(range(1, size + 1, step))[:25] * max(1, runs // 3)
    nodes = time_call(lambda t: db.get_history(t, ['5', '6']), samples)
    every = time_call(lambda t: db.get_history(t), samples)
    t0 = time.perf_counter()
    listed = len(db.list_tasks())
    list_time = time.perf_counter() - t0
    assert listed == size, listed
    return {'tasks': size, 'history_rows': size * 100,
            'get_history_nodes_5_6_ms': round(nodes * 1000, 2),
            'get_history_all_ms': round(every * 1000, 2),
            'list_tasks_ms': round(list_time * 1000, 1)}


def cli_timings(config, task_id, runs):
    cli = os.path.join(BIN, 'drydock2')
    base = [cli, '--config-file', config]
    out = {}
    median, low, high, stdout = time_process(
        base + ['task', 'history', 'show', str(task_id), '--nodes', '5,6',
                '-f', 'json'], runs)
    rows = json.loads(stdout)
    assert len(rows) == 20 and {r['node_id'] for r in rows} == {'5', '6'}
    out['history_show_nodes_5_6_s'] = (median, low, high)
    median, low, high, stdout = time_process(base + ['task', 'list'], runs)
    out['task_list_s'] = (median, low, high)
    out['task_list_lines'] = stdout.count('\n')
    if _has_limit():
        out['task_list_limit_50_s'] = time_process(
            base + ['task', 'list', '--limit', '50'], runs)[:3]
    out['help_s'] = time_process([cli, '--help'], runs)[:3]
    return out


def _has_limit():
    result = subprocess.run([os.path.join(BIN, 'drydock2'), 'help', 'task',
                             'list'], capture_output=True, text=True)
    return '--limit' in result.stdout


def report(results):
    print('\nServer side (DB API, median ms):')
    print('%8s %10s %18s %14s %14s' % ('tasks', 'rows', 'history --nodes',
                                       'history all', 'list_tasks'))
    for r in results['server']:
        print('%8d %10d %18.2f %14.2f %14.1f' % (
            r['tasks'], r['history_rows'], r['get_history_nodes_5_6_ms'],
            r['get_history_all_ms'], r['list_tasks_ms']))
    cli = results.get('cli')
    if cli:
        print('\nWhole drydock2 processes at %d tasks (median, min-max s):'
              % results['cli_tasks'])
        for key, value in cli.items():
            if isinstance(value, (list, tuple)):
                print('  %-28s %.3f  (%.3f-%.3f)' % ((key,) + tuple(value)))
            else:
                print('  %-28s %s' % (key, value))
    print('\nTargets:')
    for target, measured, met in verdicts(results):
        print('  %-42s %-10s %s' % (target, measured,
                                     'met' if met else 'MISSED'))


def verdicts(results):
    """(target, measured, met) for the issue's three targets."""
    out = []
    cli = results.get('cli')
    if cli:
        out.append(('history show --nodes 5,6 < 0.5 s',
                    '%.3f s' % cli['history_show_nodes_5_6_s'][0],
                    cli['history_show_nodes_5_6_s'][0] < 0.5))
        out.append(('--help < 0.3 s', '%.3f s' % cli['help_s'][0],
                    cli['help_s'][0] < 0.3))
    server = results['server']
    if len(server) > 1:
        times = [r['get_history_nodes_5_6_ms'] for r in server]
        growth = times[-1] / times[0]
        out.append(('get_history flat from %d to %d tasks'
                    % (server[0]['tasks'], server[-1]['tasks']),
                    'x%.2f' % growth, growth < 1.5))
    return out


def run(args):
    sizes = sorted(int(s) for s in args.sizes.split(','))
    tag = uuid.uuid4().hex[:8]
    dbname, vhost = 'drydock_bench_%s' % tag, 'drydock-bench-%s' % tag
    state = args.state or '/tmp/drydock-bench-%s' % tag
    os.makedirs(state, exist_ok=True)
    config = production_config(os.path.join(state, 'drydock.conf'), dbname,
                               vhost)
    create_site(dbname, vhost)
    daemons = []
    results = {'server': [], 'cli_tasks': args.cli_at}
    try:
        subprocess.run([os.path.join(BIN, 'drydock-manage'), '--config-file',
                        config, 'db', 'upgrade'], check=True,
                       capture_output=True)
        for role in ('manager', 'receiver'):
            daemons.append(start_daemon(
                role, config, os.path.join(state, role + '.log')))
        from drydockd.conf import config as conf_mod
        conf = conf_mod.parse_args(['--config-file', config])
        loaded = 0
        for size in sizes:
            t0 = time.perf_counter()
            load(dbname, loaded + 1, size)
            print('loaded %d tasks (%d history rows) in %.1fs'
                  % (size - loaded, (size - loaded) * 100,
                     time.perf_counter() - t0), flush=True)
            loaded = size
            results['server'].append(server_side(conf, size, args.runs))
            print(results['server'][-1], flush=True)
            if size == args.cli_at:
                results['cli'] = cli_timings(config, size // 2, args.runs)
                print(results['cli'], flush=True)
    finally:
        for proc in daemons:
            stop(proc)
        if not args.keep:
            from drydockd.db.sqlalchemy import engine
            engine.dispose_all()
            drop_site(dbname, vhost)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='1000,10000,30000',
                        help='task counts to measure the server side at')
    parser.add_argument('--cli-at', type=int, default=10000,
                        help='task count at which to time drydock2')
    parser.add_argument('--runs', type=int, default=7)
    parser.add_argument('--state', help='directory for config and logs')
    parser.add_argument('--keep', action='store_true',
                        help='keep the database and vhost')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    results = run(args)
    report(results)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
