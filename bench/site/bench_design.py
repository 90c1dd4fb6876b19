"""Benchmark loading a site design, and an alias bomb's cost.

What a work message costs the executor (and a task the manager) in design
loading, on a design of N nodes (roles, rack, labels, tags and a BMC
each) and 50 deployment tasks, written to a file:

- baseline: PyYAML's pure-Python ``safe_load`` of the bytes, which every
  message paid before (its validation not even counted);
- first load: ``design.load`` on bytes not seen before: fetch, libyaml
  parse with the bounds pass, schema, references and graph checks;
- cached load: ``design.load`` on the same bytes again: fetch, sha256 and
  a fresh copy, which every later message pays.

Each figure is the median of several runs in this process.

Alias bomb: peak RSS of a child process that parses a few-KB bomb whose
one node label expands to about 52 MB, the way the manager handled it
before (``yaml.safe_load``, then the label serialized for its database
row), against one that calls ``design.load`` on it (refused).

Usage::

    python bench/site/bench_design.py                  # 1,000 and 5,000
    python bench/site/bench_design.py --nodes 20000
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

from drydockd.site import design
from drydockd.site import yamldoc

TASKS = 50


def site(nodes):
    """The design as a dict: a chain of TASKS shell tasks on every node."""
    doc = {'racks': [{'name': 'rack%02d' % r, 'labels': {'row': 'r%d' % r}}
                     for r in range(40)],
           'nodes': [], 'deployment_tasks': []}
    for i in range(1, nodes + 1):
        doc['nodes'].append({
            'id': i, 'name': 'node%05d' % i,
            'roles': ['controller' if i <= 3 else 'compute'],
            'rack': 'rack%02d' % (i % 40),
            'labels': {'zone': 'z%d' % (i % 3), 'gen': 'g2'},
            'tags': ['ssd'] if i % 2 else [],
            'oob': {'type': 'ipmi', 'address': '10.%d.%d.%d' % (
                i >> 16, (i >> 8) & 255, i & 255), 'port': 623,
                'account': 'admin', 'credential': 'pw%06d' % i}})
    for t in range(TASKS):
        task = {'id': 't%02d' % t, 'type': 'shell', 'roles': ['*'],
                'parameters': {'command': 'step %d' % t, 'timeout': 600}}
        if t:
            task['requires'] = ['t%02d' % (t - 1)]
        doc['deployment_tasks'].append(task)
    return doc


def median(func, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_load(nodes, directory):
    path = os.path.join(directory, 'site-%d.yaml' % nodes)
    with open(path, 'w') as f:
        yaml.safe_dump(site(nodes), f, default_flow_style=None)
    ref = 'file://' + path
    with open(path, 'rb') as f:
        data = f.read()
    runs = 3 if nodes > 2000 else 5

    def first():
        design.CACHE.clear()
        design.load(ref)

    baseline = median(lambda: yaml.load(data, Loader=yaml.SafeLoader), runs)
    miss = median(first, runs)
    design.load(ref)
    hit = median(lambda: design.load(ref), 20)
    return {'nodes': nodes, 'bytes': len(data),
            'baseline_s': round(baseline, 3), 'first_load_s': round(miss, 3),
            'cached_load_ms': round(hit * 1000, 1),
            'speedup_cached': round(baseline / hit, 1)}


def bomb_text(levels=6, width=9, leaf=100):
    lines = ['x-l0: &l0 "%s"' % ('x' * leaf)]
    lines += ['x-l%d: &l%d [%s]' % (i, i, ', '.join(['*l%d' % (i - 1)] *
                                                   width))
              for i in range(1, levels + 1)]
    lines += ['nodes:', '  - {id: 1, name: node01, labels: {bomb: *l%d}}'
              % levels]
    return '\n'.join(lines) + '\n'


# VmHWM starts afresh at exec (ru_maxrss would carry the parent's peak).
PEAK = '''
def peak_mb():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) // 1024
'''
BASELINE_BOMB = PEAK + '''
import json, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
row = json.dumps(doc['nodes'][0]['labels'])
print(json.dumps({'row_mb': round(len(row) / 1e6, 1),
                  'rss_mb': peak_mb()}))
'''
DRYDOCK_BOMB = PEAK + '''
import json, sys
from drydockd.common import exception
from drydockd.site import design
try:
    design.load('file://' + sys.argv[1])
    refused = None
except exception.DesignError as exc:
    refused = exc.message.split(': ', 1)[1]
print(json.dumps({'refused': refused,
                  'rss_mb': peak_mb()}))
'''
IDLE = PEAK + '''
import json
from drydockd.site import design
print(json.dumps({'rss_mb': peak_mb()}))
'''


def bench_bomb(directory):
    path = os.path.join(directory, 'bomb.yaml')
    with open(path, 'w') as f:
        f.write(bomb_text())
    out = {'bomb_bytes': os.path.getsize(path)}
    for name, code in (('idle', IDLE), ('baseline', BASELINE_BOMB),
                       ('drydock', DRYDOCK_BOMB)):
        done = subprocess.run([sys.executable, '-c', code, path],
                              capture_output=True, text=True, check=True)
        out[name] = json.loads(done.stdout)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--nodes', type=int, action='append')
    args = parser.parse_args()
    print('libyaml C parser: %s' % yamldoc.C_LOADER)
    with tempfile.TemporaryDirectory() as directory:
        print(json.dumps(bench_bomb(directory)))
        for nodes in args.nodes or (1000, 5000):
            print(json.dumps(bench_load(nodes, directory)))


if __name__ == '__main__':
    main()
