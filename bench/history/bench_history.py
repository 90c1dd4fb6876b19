"""Benchmark concurrent reads of one big deployment history (issue 10).

50 concurrent reads of a 50,000-row task once took a median 46 s, some
failed on the connection pool, and the manager grew from 120 MB to
1.9 GB: every read was one RPC reply holding the whole history. Reads
are now paged (RPC 1.4, keyset pages of ``client.HISTORY_PAGE``
rows). This measures, on the production configuration:

- **Data.** PostgreSQL holds one finished ``deploy_nodes`` task with
  ``--nodes`` x ``--tasks`` history rows (1,000 x 50 = 50,000), loaded
  with ``COPY``, its graph (task names and spec) as a deployment stores
  it. The schema comes from
  ``drydock-manage db upgrade``.
- **Process.** ``drydockd manager`` on RabbitMQ (API plane ``rabbit://``)
  in a fresh vhost; a fresh manager for each phase, so its peak RSS
  (``VmHWM``) is that phase's.
- **Phases.** ``--readers`` reader processes start together and each
  reads the whole history once through ``drydock_client.client``:
  *baseline*, the unpaged single call (a client capped at 1.3 sends the
  1.0 call), then the 1.4 client fetching every page as rows, the 1.5
  client fetching every page as the JSON text PostgreSQL wrote, and the
  1.6 client fetching every page as the columns PostgreSQL wrote,
  compressed by the manager (``--phases`` picks some). Beside the
  readers, one ``list_tasks`` call (``--limit 50``) shows whether the
  manager still answers others. CPU is counted for the manager, the
  readers, the PostgreSQL backends of the benchmark's database, and
  RabbitMQ (all of its work during the phase, so that one needs an
  otherwise idle machine).

Targets: every paged read under 3 s, the manager under 300 MB.

Usage::

    python bench/history/bench_history.py
    python bench/history/bench_history.py --readers 10 --nodes 1000 --tasks 50
    python bench/history/bench_history.py --json results.json

Needs RabbitMQ at 127.0.0.1:5672 (guest/guest, ``rabbitmqctl`` on PATH)
and PostgreSQL at 127.0.0.1:5432 (user postgres, trust). The database and
vhost it creates are dropped at the end unless ``--keep`` is given.
"""

import argparse
import datetime
import io
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from benchlib import BIN, PG_DSN, RABBIT_URL, copy_time, cpu_s, \
    create_site, drop_site, production_config, rss_mb, service_cpu, \
    service_cpu_since, start_daemon, stop  # noqa: E402

EPOCH = datetime.datetime(2026, 1, 1)
TASK_ID = 1
CTXT = {'user': 'bench'}
READ_TIMEOUT = 300
TARGET_READ_S = 3.0
TARGET_RSS_MB = 300
# (tag, title, version cap): the baseline first, the newest page last.
PHASES = (('baseline', 'baseline: unpaged single call (1.0)', '1.3'),
          ('paged14', 'paged (1.4), pages of rows', '1.4'),
          ('paged15', 'paged (1.5), pages as JSON text', '1.5'),
          ('paged16', 'paged (1.6), pages as compressed columns', '1.6'))


def load(dbname, nodes, tasks):
    """COPY one finished task with ``nodes`` x ``tasks`` history rows."""
    names = ['g%02d_task' % i for i in range(tasks)]
    uids = [str(n) for n in range(1, nodes + 1)]
    item = [{'id': name, 'type': 'shell', 'role': ['compute'],
             'parameters': {'command': name}} for name in names]
    # As deploy.start stores it: the task names and the graph's spec.
    graph = json.dumps({'task_names': names, 'graph_spec': {
        'version': 1, 'deployment_tasks': item, 'roles': [],
        'nodes': [{'id': int(u), 'name': 'node%s' % u, 'roles': ['compute'],
                   'rack': None} for u in uids],
        'vertices': nodes * tasks, 'digest': '0' * 64}})
    end = EPOCH + datetime.timedelta(seconds=tasks * 3 + 10)
    task = '\t'.join((
        str(TASK_ID), str(uuid.UUID(int=TASK_ID)), 'deploy_nodes',
        'complete', 'success', 'Deployed', '0', '100',
        'file:///srv/site.yaml', copy_time(EPOCH), 'bench', copy_time(end),
        copy_time(EPOCH), copy_time(end), 'f', graph)) + '\n'
    history = io.StringIO()
    for n, uid in enumerate(uids):
        for i, name in enumerate(names):
            t0 = EPOCH + datetime.timedelta(seconds=i * 3 + n * 0.001)
            t1 = t0 + datetime.timedelta(seconds=2.5)
            # As the receiver leaves them: {} for a success, the error
            # message for a failure (one row in 97 here).
            status, custom = 'ready', '{}'
            if (n * tasks + i) % 97 == 0:
                status = 'error'
                custom = '{"error_msg": "%s exited 1 on node %s"}' % (
                    name, uid)
            history.write('%d\t%s\t%s\t%s\t%s\t%s\t%s\t{}\n' % (
                TASK_ID, uid, name, status, copy_time(t0), copy_time(t1),
                custom))
    history.seek(0)
    conn = psycopg2.connect(PG_DSN % dbname)
    try:
        with conn.cursor() as cur:
            cur.copy_expert(
                'COPY tasks (id, uuid, action, status, result_status, '
                'result_message, result_error_count, progress, design_ref, '
                'created, created_by, updated, time_start, time_end, '
                'dry_run, graph) FROM STDIN', io.StringIO(task))
            cur.copy_expert(
                'COPY deployment_history (task_id, node_id, '
                'deployment_graph_task_name, status, time_start, time_end, '
                'custom, summary) FROM STDIN', history)
            cur.execute("SELECT setval(pg_get_serial_sequence('tasks', "
                        "'id'), %s)", (TASK_ID,))
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute('VACUUM ANALYZE deployment_history')
    finally:
        conn.close()
    return nodes * tasks


class RssSampler(threading.Thread):
    """The highest RSS seen every 50 ms (VmHWM gives the same at the
    end; the samples show it was during the phase)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak = pid, 0.0
        self._done = threading.Event()

    def run(self):
        while not self._done.wait(0.05):
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return

    def stop(self):
        self._done.set()
        self.join()


def _client(url, version_cap):
    from oslo_config import cfg
    import oslo_messaging as messaging

    from drydock_client import client as client_lib
    from drydockd.api import rpc
    rpc.register_opts(cfg.CONF)
    cfg.CONF([], project='drydock-bench', default_config_files=[])
    transport = messaging.get_rpc_transport(
        cfg.CONF, url=url, allowed_remote_exmods=rpc.ALLOWED_EXMODS)
    return client_lib.Client(transport, version_cap=version_cap,
                             timeout=READ_TIMEOUT, retry=2,
                             user=CTXT['user']), transport


def reader(url, version_cap, barrier, results, bystander, page_rows):
    """One reader process: wait for the others, read, report."""
    api, transport = _client(url, version_cap)
    if page_rows:
        from drydock_client import client as client_lib
        client_lib.HISTORY_PAGE = page_rows
    api.list_tasks(limit=1)                # connected and warm
    barrier.wait()
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        if bystander:
            time.sleep(0.5)     # while the readers are busy
            t0 = time.perf_counter()
            count = len(api.list_tasks(limit=50))
        else:
            count = len(api.get_deployment_history(TASK_ID))
        results.put((bystander, time.perf_counter() - t0, count, None,
                     time.process_time() - cpu0))
    except Exception as exc:  # noqa: BLE001 - a failed read is a figure
        results.put((bystander, time.perf_counter() - t0, 0,
                     '%s: %s' % (type(exc).__name__,
                                 str(exc).splitlines()[0][:120]),
                     time.process_time() - cpu0))
    finally:
        transport.cleanup()


def phase(name, config, state, url, dbname, readers, version_cap,
          page_rows=None):
    """Fresh manager, ``readers`` concurrent whole reads + one list."""
    manager = start_daemon('manager', config,
                           os.path.join(state, name + '.log'))
    try:
        idle = rss_mb(manager.pid)
        ctx = multiprocessing.get_context('spawn')
        barrier, results = ctx.Barrier(readers + 2), ctx.Queue()
        procs = [ctx.Process(target=reader, args=(
            url, version_cap, barrier, results, i == readers, page_rows))
            for i in range(readers + 1)]
        for proc in procs:
            proc.start()
        barrier.wait()
        sampler = RssSampler(manager.pid)
        sampler.start()
        t0, cpu0 = time.perf_counter(), cpu_s(manager.pid)
        services0 = service_cpu(dbname)
        got = [results.get(timeout=READ_TIMEOUT + 60) for _ in procs]
        wall = time.perf_counter() - t0
        manager_cpu = cpu_s(manager.pid) - cpu0
        services = service_cpu_since(services0, dbname)
        sampler.stop()
        for proc in procs:
            proc.join(30)
        peak = max(sampler.peak, rss_mb(manager.pid, 'VmHWM'))
    finally:
        stop(manager)
    reads = [g for g in got if not g[0]]
    listed = [g for g in got if g[0]][0]
    return {'phase': name, 'readers': readers,
            'read_s': sorted(round(g[1], 3) for g in reads),
            'rows': sorted({g[2] for g in reads}),
            'failures': [g[3] for g in reads if g[3]],
            'list_tasks_s': round(listed[1], 3), 'list_tasks_error':
            listed[3], 'wall_s': round(wall, 3),
            'manager_cpu_s': round(manager_cpu, 2),
            'reader_cpu_s': round(sum(g[4] for g in reads), 2),
            'postgres_cpu_s': services['postgres'],
            'rabbitmq_cpu_s': services['rabbitmq'],
            'load_average': round(os.getloadavg()[0], 2),
            'manager_idle_mb': round(idle, 1),
            'manager_peak_mb': round(peak, 1)}


def report(results, rows, page_rows):
    print('\n%d concurrent readers of one %d-row history (RabbitMQ + '
          'PostgreSQL), pages of %d rows:' % (results[0]['readers'], rows,
                                             page_rows))
    for r in results:
        print('\n  %s' % r['phase'])
        print('    wall time per read (s): %s'
              % ', '.join('%.2f' % t for t in r['read_s']))
        print('    median %.2f s, max %.2f s; rows per read %s; failures %d'
              % (statistics.median(r['read_s']), max(r['read_s']),
                 r['rows'], len(r['failures'])))
        for failure in r['failures'][:3]:
            print('      %s' % failure)
        print('    list_tasks beside them: %.3f s%s' % (
            r['list_tasks_s'], ' (%s)' % r['list_tasks_error']
            if r['list_tasks_error'] else ''))
        print('    manager RSS: %.0f MB idle, %.0f MB peak' % (
            r['manager_idle_mb'], r['manager_peak_mb']))
        print('    CPU in the %.1f s: manager %.1f s, readers %.1f s, '
              'PostgreSQL %.1f s, RabbitMQ %.1f s; load average %.1f' % (
                  r['wall_s'], r['manager_cpu_s'], r['reader_cpu_s'],
                  r['postgres_cpu_s'], r['rabbitmq_cpu_s'],
                  r['load_average']))
    paged = results[-1]
    print('\nTargets (paged):')
    worst = max(paged['read_s'])
    print('  every read < %.0f s: %.2f s max, %s' % (
        TARGET_READ_S, worst, 'met' if worst < TARGET_READ_S
        and not paged['failures'] else 'MISSED'))
    print('  manager < %d MB: %.0f MB, %s' % (
        TARGET_RSS_MB, paged['manager_peak_mb'], 'met'
        if paged['manager_peak_mb'] < TARGET_RSS_MB else 'MISSED'))


def run(args):
    tag = uuid.uuid4().hex[:8]
    dbname, vhost = 'drydock_bench_%s' % tag, 'drydock-bench-%s' % tag
    state = args.state or '/tmp/drydock-bench-history-%s' % tag
    os.makedirs(state, exist_ok=True)
    config = production_config(os.path.join(state, 'drydock.conf'), dbname,
                               vhost)
    create_site(dbname, vhost)
    try:
        subprocess.run([os.path.join(BIN, 'drydock-manage'), '--config-file',
                        config, 'db', 'upgrade'], check=True,
                       capture_output=True)
        t0 = time.perf_counter()
        rows = load(dbname, args.nodes, args.tasks)
        print('loaded %d history rows in %.1fs' % (
            rows, time.perf_counter() - t0), flush=True)
        url = RABBIT_URL % vhost
        results = []
        for tag, name, cap in PHASES:
            if tag not in args.phases:
                continue
            results.append(phase(tag, config, state, url, dbname,
                                 args.readers, cap, args.page_rows))
            results[-1]['phase'] = name
            print(json.dumps(results[-1]), flush=True)
        report(results, rows, args.page_rows or _page_rows())
        return {'rows': rows, 'page_rows': args.page_rows or _page_rows(),
                'phases': results}
    finally:
        if not args.keep:
            drop_site(dbname, vhost)


def _page_rows():
    from drydock_client import client as client_lib
    return client_lib.HISTORY_PAGE


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--readers', type=int, default=10)
    parser.add_argument('--nodes', type=int, default=1000)
    parser.add_argument('--tasks', type=int, default=50)
    parser.add_argument('--page-rows', type=int,
                        help='rows per page the client asks for (default: '
                             'client.HISTORY_PAGE)')
    parser.add_argument('--phases', nargs='+', metavar='PHASE',
                        choices=[tag for tag, _, _ in PHASES],
                        default=[tag for tag, _, _ in PHASES],
                        help='phases to run, in their fixed order (default: '
                             'all)')
    parser.add_argument('--json', metavar='FILE')
    parser.add_argument('--state', metavar='DIR')
    parser.add_argument('--keep', action='store_true')
    args = parser.parse_args()
    results = run(args)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
