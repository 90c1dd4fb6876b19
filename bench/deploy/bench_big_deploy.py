"""Benchmark a deployment of thousands of nodes end to end (issue 10).

Workload: N nodes x 50 graph tasks (48 shell tasks in a chain per node,
two of them cut by stages on the sync node), instant on the fake node
transport, so the figures are drydock's own cost: the manager's planning
and pending rows, the work message, the executor's expansion and engine,
the receiver's writes.

Production configuration, every part its own process: ``drydockd
manager``, ``executor`` and ``receiver`` on RabbitMQ (a fresh vhost) and
PostgreSQL (a fresh database), fresh for every size so each process's
peak RSS (VmHWM) belongs to that size alone.

Measured per size:
- the work message the manager sends (the graph's compact spec), against
  the same graph inline as ``tasks_graph`` (what drydock sent before, and
  what the executor dead-lettered past 8 MiB): the baseline, computed in
  the same run from the same design;
- ``create_s``: the ``create_task`` RPC call (design, graph, pending rows,
  cast); ``run_s``: from its return to the task's end in the database;
- peak RSS of the manager, executor and receiver processes.

The baseline size (default 1,100 nodes, the design of the issue) runs
first, then the target (default 5,000): time and executor memory per node
task are compared between the two.

Usage::

    python bench/deploy/bench_big_deploy.py                  # 1,100 then 5,000
    python bench/deploy/bench_big_deploy.py --sizes 200,1000 # quick check

Needs RabbitMQ (rabbitmqctl, guest/guest) and PostgreSQL (trust, user
postgres) on 127.0.0.1, as the integration tests do.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from benchlib import Site, chain_graph  # noqa: E402

TASKS = 50
STAGES = (17, 34)


def design(nodes, tasks=TASKS):
    return {'nodes': [{'id': i, 'name': 'node%05d' % i,
                       'roles': ['compute']} for i in range(1, nodes + 1)],
            'deployment_tasks': chain_graph(tasks, STAGES)}


def message_sizes(doc):
    """(compact spec message, the same graph inline) in bytes."""
    from drydockd.graph import serializer
    from drydockd.messaging import schemas
    tasks, nodes = doc['deployment_tasks'], doc['nodes']
    graph, metadata = serializer.serialize(tasks, nodes, design_nodes=nodes)
    common = dict(dry_run=False, design_ref='file:///srv/site.json',
                  deadline='2026-11-22T11:00:00.000000Z')
    compact = schemas.request(
        'task_deploy', str(uuid.uuid4()), reap_after=60.0,
        graph_spec=serializer.graph_spec(tasks, nodes, None, graph),
        **common)
    inline = schemas.request('task_deploy', str(uuid.uuid4()),
                             tasks_graph=graph, tasks_metadata=metadata,
                             **common)
    return (schemas.encoded_size(compact), schemas.encoded_size(inline),
            serializer.vertex_count(graph))


def run(nodes, workdir):
    doc = design(nodes)
    compact, inline, node_tasks = message_sizes(doc)
    path = os.path.join(workdir, 'site-%d.json' % nodes)
    with open(path, 'w') as f:
        json.dump(doc, f)
    site = Site(workdir, {'DEFAULT': {'host': 'bench'},
                          'manager': {'rpc_timeout': 600}})
    try:
        api = site.client()
        t0 = time.monotonic()
        task = api.create_task('deploy_nodes', 'file://' + path)
        create_s = time.monotonic() - t0
        result = site.wait_task(task['id'])
        run_s = time.monotonic() - t0 - create_s
        with site.engine.connect() as conn:
            rows = dict(conn.execute(sa.text(
                'SELECT status, count(*) FROM deployment_history WHERE '
                'task_id = :id GROUP BY status'), {'id': task['id']}).all())
        rss = site.peak_rss_mb()
    finally:
        site.close()
    return {'nodes': nodes, 'node_tasks': node_tasks, 'result': result,
            'rows': rows, 'message_bytes': compact,
            'inline_message_bytes': inline, 'create_s': round(create_s, 2),
            'run_s': round(run_s, 2), 'total_s': round(create_s + run_s, 2),
            'peak_rss_mb': {k: round(v) for k, v in rss.items()}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='1100,5000',
                        help='node counts, the first is the baseline')
    parser.add_argument('--json', help='also write the figures here')
    parser.add_argument('--logs', metavar='DIR',
                        help='keep the daemons\' logs and configs in DIR')
    opts = parser.parse_args(argv)
    sizes = [int(s) for s in opts.sizes.split(',')]
    print('%s, Python %s, load %s' % (platform.platform(),
                                       platform.python_version(),
                                       os.getloadavg()))
    results = []
    with tempfile.TemporaryDirectory(prefix='bench-deploy-') as workdir:
        for nodes in sizes:
            results.append(run(nodes, opts.logs or workdir))
            print(json.dumps(results[-1]), flush=True)
    print()
    print('| nodes | node tasks | work message | inline graph (baseline) '
          '| create s | run s | total s | executor MB | manager MB '
          '| receiver MB | result |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for r in results:
        rss = r['peak_rss_mb']
        print('| {:,} | {:,} | {:,} B | {:,} B | {} | {} | {} | {} | {} | {} '
              '| {} |'.format(r['nodes'], r['node_tasks'], r['message_bytes'],
                              r['inline_message_bytes'], r['create_s'],
                              r['run_s'], r['total_s'], rss['executor'],
                              rss['manager'], rss['receiver'], r['result']))
    base, *rest = results
    for r in rest:
        scale = r['node_tasks'] / base['node_tasks']
        print('\n{:,} against {:,} nodes: {:.2f}x the node tasks, {:.2f}x '
              'the time, {:.2f}x the executor memory; message {:.1f}x '
              'smaller than inline'.format(
                  r['nodes'], base['nodes'], scale,
                  r['total_s'] / base['total_s'],
                  r['peak_rss_mb']['executor']
                  / base['peak_rss_mb']['executor'],
                  r['inline_message_bytes'] / r['message_bytes']))
    failed = [r for r in results if r['result'] != 'success'
              or set(r['rows']) != {'ready'}]
    if opts.json:
        with open(opts.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
