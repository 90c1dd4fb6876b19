"""Benchmark the deployment graph engine on a simulated fleet.

Workload (issue 5): N nodes x 20 shell tasks of 50 ms each, fake node
transport, max 200 busy nodes. Every node runs a chain t01 -> ... -> t20;
two stage tasks on the sync node cut it into segments of 7, 7 and 6 tasks
(``sync_1`` waits for t07 on every node and t08 waits for ``sync_1``; the
same for ``sync_2`` between t14 and t15): the cross-node sync points of a
real deployment (e.g. "every node has its network before packages").

The graph goes through the real serializer, the engine through the real
Reporter, whose publish function only counts: every entry is still built
and batched, so reporting costs what it costs in production, minus the
broker.

Lower bound on the makespan, under the same limits. The stages are
barriers: no task of segment j+1 starts before every task of segment j
ended, so the segments' makespans add up. A segment of k tasks per node
needs at least
- k*d: each node's chain runs one task at a time, and
- N*k*d / B: N*k tasks of d seconds on at most B busy nodes at once;
so LB = sum over segments of max(k*d, N*k*d/B). Instant stages add 0.
(For N=1000, B=200: 5 * 20 * 0.05 = 5.0 s.)

Measured: makespan (wall time of Engine.run), its ratio to LB, executor
CPU seconds (getrusage of this process during run: the engine thread and
the fake transport's timer thread), peak RSS (ru_maxrss of the process,
serializer and graph included), plus the serializer's own time.

Usage::

    python bench/graph/bench_graph.py                # 1,000 nodes
    python bench/graph/bench_graph.py --nodes 3000
    python bench/graph/bench_graph.py --scaling      # 100, 1000, 3000,
                                                     # one process each
"""

import argparse
import json
import resource
import subprocess
import sys
import time

from drydockd.executor.engine import engine as engine_mod
from drydockd.executor import reporting
from drydockd.executor.transports import fake
from drydockd.graph import serializer

SEGMENTS = (7, 7, 6)
DURATION = 0.05
MAX_BUSY = 200


def design(duration=DURATION, segments=SEGMENTS):
    """The 20 shell tasks and 2 stages, as deployment_tasks."""
    tasks, previous, number = [], None, 0
    for index, size in enumerate(segments):
        for _ in range(size):
            number += 1
            name = 't%02d' % number
            tasks.append({'id': name, 'type': 'shell', 'roles': ['*'],
                          'requires': [previous] if previous else [],
                          'parameters': {'command': name,
                                         'duration': duration}})
            previous = name
        if index < len(segments) - 1:
            stage = 'sync_%d' % (index + 1)
            tasks.append({'id': stage, 'type': 'stage',
                          'requires': [previous]})
            previous = stage
    return tasks


def lower_bound(nodes, max_busy=MAX_BUSY, duration=DURATION,
                segments=SEGMENTS):
    return sum(max(k * duration, nodes * k * duration / max_busy)
               for k in segments)


class Counter:
    """The Reporter's publish function: counts messages and entries."""

    def __init__(self):
        self.messages = 0
        self.entries = 0

    def __call__(self, body):
        self.messages += 1
        self.entries += len(body['args'].get('nodes', ()))


def run(nodes, max_busy=MAX_BUSY):
    fleet = [{'id': i, 'name': 'node%05d' % i, 'roles': ['compute']}
             for i in range(1, nodes + 1)]
    t0 = time.perf_counter()
    graph, metadata = serializer.serialize(design(), fleet)
    serialize_s = time.perf_counter() - t0
    counter = Counter()
    reporter = reporting.Reporter(counter, 'bench', interval=0.2)
    transport = fake.FakeTransport()
    engine = engine_mod.Engine(graph, transport, reporter, max_busy=max_busy,
                               tasks_metadata=metadata)
    reporter.running()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    status = engine.run()
    makespan = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    transport.close()
    bound = lower_bound(nodes, max_busy)
    return {
        'nodes': nodes, 'tasks': len(engine.graph), 'status': status,
        'makespan_s': round(makespan, 3), 'lower_bound_s': round(bound, 3),
        'ratio': round(makespan / bound, 4),
        'cpu_s': round(cpu1.ru_utime + cpu1.ru_stime
                       - cpu0.ru_utime - cpu0.ru_stime, 3),
        'serialize_s': round(serialize_s, 3),
        'peak_rss_mb': round(cpu1.ru_maxrss / 1024, 1),
        'messages': counter.messages, 'entries': counter.entries,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', type=int, default=1000)
    parser.add_argument('--max-busy', type=int, default=MAX_BUSY)
    parser.add_argument('--scaling', action='store_true',
                        help='run 100, 1000 and 3000 nodes, one process '
                             'each (so peak RSS is per size)')
    args = parser.parse_args(argv)
    if not args.scaling:
        print(json.dumps(run(args.nodes, args.max_busy)))
        return 0
    results = []
    for nodes in (100, 1000, 3000):
        out = subprocess.run(
            [sys.executable, __file__, '--nodes', str(nodes),
             '--max-busy', str(args.max_busy)],
            check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    print('\n| nodes | tasks | makespan s | lower bound s | ratio | CPU s '
          '| serialize s | peak RSS MB |')
    print('|---|---|---|---|---|---|---|---|')
    for r in results:
        print('| {nodes} | {tasks} | {makespan_s} | {lower_bound_s} | '
              '{ratio} | {cpu_s} | {serialize_s} | {peak_rss_mb} |'
              .format(**r))
    return 0


if __name__ == '__main__':
    sys.exit(main())
