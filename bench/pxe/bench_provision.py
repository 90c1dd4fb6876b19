"""provision_nodes end to end on QEMU machines: wall time and each step.

    sudo .venv/bin/python bench/pxe/bench_provision.py [--nodes 2 4 8]

For each count, a fresh PXE lab (``tests/pxe_lab.py``: a network
namespace, drydock's boot service and dnsmasq in it, QEMU nodes behind
``drydock-fakebmc --qemu``) provisions every node with the 24 MiB test
OS, and the figures are: wall time from ``task create`` to the task's
end, its result, and per step (boot, inspect, write_image, reboot,
first_boot) the mean and the longest duration over the nodes, from the
task history. The baseline is the first count (2 nodes, as the
end-to-end test): the per-node cost of adding nodes on this machine.
QEMU runs under TCG (no KVM): every machine competes for the CPUs.
"""

import argparse
import datetime
import os
import sys
import tempfile
import pathlib
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests'))

import pxe_lab  # noqa: E402

STEPS = ('boot', 'inspect', 'write_image', 'reboot', 'first_boot')


def _parse(text):
    return datetime.datetime.fromisoformat(text.rstrip('Z'))


def _seconds(row):
    start, end = row['time_start'], row['time_end']
    if not start or not end:
        return None
    return (_parse(end) - _parse(start)).total_seconds()


def run(count, memory_mb):
    nodes = [pxe_lab.Node(i, memory_mb=memory_mb) for i in
             range(1, count + 1)]
    with tempfile.TemporaryDirectory(dir='/var/tmp') as tmp:
        with pxe_lab.PxeLab(pathlib.Path(tmp), nodes) as lab:
            started = time.monotonic()
            lab.cli('task', 'create', 'provision_nodes', '--design-ref',
                    'file://%s' % lab.design, '--all-nodes', '--wait',
                    timeout=3600)
            wall = time.monotonic() - started
            task = lab.json('task', 'show', '1')
            rows = lab.json('task', 'history', 'show', '1')
    steps = {}
    for row in rows:
        took = _seconds(row)
        if took is not None:
            steps.setdefault(row['task_name'], []).append(took)
    return wall, task['result']['status'], steps


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--nodes', type=int, nargs='+', default=[2, 8])
    parser.add_argument('--memory-mb', type=int, default=256)
    args = parser.parse_args(argv)
    print('provision_nodes over PXE, QEMU/TCG nodes of %d MiB, 24 MiB '
          'image' % args.memory_mb)
    header = '%5s %8s %10s' % ('nodes', 'wall s', 'result') + ''.join(
        ' %16s' % s for s in STEPS)
    print(header)
    base = None
    for count in args.nodes:
        before = os.getloadavg()[0]
        wall, result, steps = run(count, args.memory_mb)
        print('      (load average %.1f before, %.1f after)'
              % (before, os.getloadavg()[0]))
        cells = ''.join(
            ' %16s' % ('%.1f / %.1f' % (sum(v) / len(v), max(v))
                       if (v := steps.get(s)) else '-') for s in STEPS)
        print('%5d %8.1f %10s%s' % (count, wall, result, cells))
        if base is None:
            base = wall / count
        else:
            print('      %.1f s per node against %.1f s per node with %d'
                  % (wall / count, base, args.nodes[0]))
    print('(step columns: mean / longest seconds over the nodes)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
