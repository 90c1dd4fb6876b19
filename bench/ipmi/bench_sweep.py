"""Power-state sweeps: drydock's against an Ironic-style one, same run.

Starts ``drydock-fakebmc`` with N BMCs (``--answer-delay`` stands in for a
network and a real BMC), then sweeps every BMC's power state:

* **Ironic-style anchor:** one ``ipmitool -I lanplus ... power status``
  process per node from 8 worker threads (Ironic's default
  ``sync_power_state_workers``), as Ironic's ipmitool driver does;
* **drydock:** the executor's sweep (``drydockd.executor.power_sync``)
  through the IPMI driver, in its own process, twice: the first sweep logs
  in to every BMC, the second reuses the sessions (the steady state of a
  periodic sync);
* **Redfish:** the same sweep over ``--redfish`` systems of sushy-tools'
  emulator (fake driver, HTTP basic auth), twice.

Each sweep prints wall time, ops/s, the CPU seconds the sweep cost its
process (the anchor's: its own plus its ipmitool children's; drydock's:
the sweep alone, not the process's start-up) and the sweeping process's
peak RSS (the anchor's: the largest ipmitool process).

    .venv/bin/python bench/ipmi/bench_sweep.py [--count 1000] \\
        [--answer-delay 0.02] [--redfish 200]
"""

import argparse
import concurrent.futures
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import types

import yaml

from drydockd.fakebmc import fleet

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)
IRONIC_WORKERS = 8


def start_fleet(args, workdir):
    ready = os.path.join(workdir, 'ready')
    design = os.path.join(workdir, 'site.yaml')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'drydockd.fakebmc.command',
         '--count', str(args.count),
         '--base-port', str(fleet.free_port_block(args.count, 20000,
                                                  60000)),
         '--answer-delay', str(args.answer_delay),
         '--write-design', design, '--ready-file', ready,
         '--log-level', 'WARNING'])
    deadline = time.monotonic() + 120
    while not os.path.exists(ready):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit('drydock-fakebmc did not start')
        time.sleep(0.1)
    return proc, design


def ironic_style(design):
    """One ipmitool process per node, 8 at a time."""
    with open(design) as f:
        nodes = [n['oob'] for n in yaml.safe_load(f)['nodes']]

    def status(oob):
        out = subprocess.run(
            ['ipmitool', '-I', 'lanplus', '-H', oob['address'], '-p',
             str(oob['port']), '-U', oob['account'], '-P',
             str(oob['credential']), 'power', 'status'],
            capture_output=True, text=True, timeout=60)
        return out.returncode == 0 and 'Chassis Power is' in out.stdout

    before_self = resource.getrusage(resource.RUSAGE_SELF)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(IRONIC_WORKERS) as pool:
        ok = sum(pool.map(status, nodes))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    after_self = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime
           - before.ru_stime) + (after_self.ru_utime + after_self.ru_stime
                                 - before_self.ru_utime
                                 - before_self.ru_stime)
    return {'sweep': 'Ironic-style (ipmitool, 8 workers)',
            'nodes': len(nodes), 'ok': ok, 'wall': wall, 'cpu': cpu,
            'rss_mib': after.ru_maxrss / 1024,
            'parent_rss_mib': after_self.ru_maxrss / 1024}


def child_sweep(kind, design, workers, sweeps):
    """In a fresh process: ``sweeps`` sweeps of every node of ``design``
    through the executor's sweep; prints one JSON line per sweep."""
    from oslo_config import cfg

    from drydockd.conf import opts
    from drydockd.executor import power_sync
    from drydockd.oob import base
    from drydockd.oob import router

    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    conf.set_override('sync_workers', workers, 'oob')
    conf.set_override('max_concurrency', workers, 'ipmi')
    conf.set_override('max_concurrency', workers, 'redfish')
    with open(design) as f:
        spec = yaml.safe_load(f)['nodes']
    nodes = [{'uid': str(n['id']), 'name': n['name'],
              'power_expected': 'off'} for n in spec]
    infos = [base.OOBInfo.from_design(n) for n in spec]
    methods = types.SimpleNamespace(driver=router.Router(conf),
                                    resolve=lambda args: (nodes, infos, []))
    for number in range(1, sweeps + 1):
        entries = []
        reporter = power_sync.SweepReporter(
            lambda body: entries.extend(body['args']['nodes']), 10000)
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        power_sync.run(conf, methods, {'args': {}}, reporter)
        wall = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_SELF)
        ok = sum(1 for e in entries if e.get('power_read') == 'off')
        print(json.dumps({'sweep': '%s, sweep %d' % (kind, number),
                          'nodes': len(nodes), 'ok': ok, 'wall': wall,
                          'cpu': usage.ru_utime + usage.ru_stime
                          - before.ru_utime - before.ru_stime,
                          'rss_mib': usage.ru_maxrss / 1024}), flush=True)


def drydock_sweeps(kind, design, workers, sweeps=2):
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), '--child', kind,
         '--design', design, '--workers', str(workers), '--sweeps',
         str(sweeps)], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return [json.loads(line) for line in out.stdout.splitlines()
            if line.startswith('{')]


def redfish_design(workdir, count):
    """An emulator with ``count`` fake systems and its design."""
    sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests'))
    import redfish_fixtures as rf
    emulator = rf.Emulator(workdir, count).__enter__()
    design = os.path.join(workdir, 'redfish.yaml')
    with open(design, 'w') as f:
        yaml.safe_dump({'nodes': [
            {'id': i, 'name': name, 'oob': emulator.oob(uuid)}
            for i, (name, uuid) in enumerate(emulator.systems, 1)]}, f)
    return emulator, design


def show(row, anchor=None):
    ratio = ''
    if anchor:
        ratio = '  %.1fx the anchor' % (anchor['wall'] / row['wall'])
    print('%-40s %5d/%-5d %8.2f s %8.0f ops/s  CPU %6.2f s  RSS %5.0f MiB%s'
          % (row['sweep'], row['ok'], row['nodes'], row['wall'],
             row['nodes'] / row['wall'], row['cpu'], row['rss_mib'], ratio))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=1000)
    parser.add_argument('--answer-delay', type=float, default=0.02)
    parser.add_argument('--redfish', type=int, default=200)
    parser.add_argument('--workers', type=int, default=64,
                        help='[oob] sync_workers and max_concurrency')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--design', help=argparse.SUPPRESS)
    parser.add_argument('--sweeps', type=int, default=2,
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_sweep(args.child, args.design, args.workers,
                           args.sweeps)
    with tempfile.TemporaryDirectory() as workdir:
        proc, design = start_fleet(args, workdir)
        try:
            print('%d BMCs, answer delay %.3f s, drydock with %d calls in '
                  'flight' % (args.count, args.answer_delay, args.workers))
            anchor = ironic_style(design)
            show(anchor)
            for row in drydock_sweeps('drydock IPMI', design, args.workers):
                show(row, anchor)
        finally:
            proc.terminate()
            proc.wait(30)
        if args.redfish:
            emulator, rdesign = redfish_design(workdir, args.redfish)
            try:
                print('%d Redfish systems (sushy-tools fake driver, HTTP '
                      'basic auth)' % args.redfish)
                for row in drydock_sweeps('drydock Redfish', rdesign,
                                          args.workers):
                    show(row)
            finally:
                emulator.stop()


if __name__ == '__main__':
    main()
