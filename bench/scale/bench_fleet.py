"""A simulated fleet end to end: verify, provision, deploy (issue 15).

For each size N (default 1,000, the baseline, then 5,000):

- ``drydock-fakebmc`` processes of up to 1,000 simulated BMCs each
  (``--first-id`` numbers them as one site), whose simulated agents
  report "provisioned" on the work plane. The site design is the union
  of the designs they write, plus a 20-task graph (a chain of shell tasks
  per node, cut once by a stage), instant on the fake node transport.
- ``drydockd manager``, ``executor`` and ``receiver``, separate processes
  on RabbitMQ and PostgreSQL (production config, a fresh vhost and
  database per size, every option at its default but the RPC timeout),
  each at its systemd unit's ``Nice=``; the fakebmc processes at nice
  10 (``FAKEBMC_NICE``).
- ``verify_nodes`` (every BMC logged in to and read), ``provision_nodes
  --all-nodes`` (PXE boot and power on through every BMC, then the
  agents' reports), ``deploy_nodes``: wall time from ``create_task`` to
  the task's end in the database.
- While the deployment runs, whole ``drydock2 task history show N
  --nodes 5,6`` and ``drydock2 task show N`` processes, one after the
  other, for as long as it runs, with ``drydock2 --help`` (no server
  call) as the baseline of what the machine's load costs any process.
- Each process's peak RSS (VmHWM) and CPU seconds, per phase; the
  fakebmc processes' CPU over 10 s of idling before the first phase.
- The receiver's lag: the receiver is drydockd's own (``daemon.main``)
  started through this script (``_receiver``) only to record, after each
  commit, for each message of the batch: commit time minus the newest
  node-entry time the message carries (the executor's clock when it wrote
  the entry, at most ``[executor] report_interval`` before it published
  the report). Agents' reports carry no entry time and are not counted.
- History rows written by the deployment.

Usage::

    python bench/scale/bench_fleet.py                 # 1,000 then 5,000
    python bench/scale/bench_fleet.py --sizes 100,200 # quick check

Needs RabbitMQ (rabbitmqctl, guest/guest) and PostgreSQL (trust, user
postgres) on 127.0.0.1, as the integration tests do.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import sqlalchemy as sa
import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from benchlib import BIN, Site, chain_graph, cpu_s, rss_mb, \
    stop  # noqa: E402

PER_PROCESS = 1000
TASKS, STAGES = 20, (10,)
CLI_TARGET_S = 0.5
# The simulated BMCs stand for hardware that is not on the master node:
# they take what the master node's processes leave, below the executor's
# and receiver's Nice= (5).
FAKEBMC_NICE = 10


# -- the receiver, recording its lag ----------------------------------------

def receiver_with_lag(config, lag_path):
    """``drydockd receiver``, writing ``commit_epoch lag_s flush_s`` per
    message (``flush_s``: how long its batch's flush took)."""
    from drydockd.command import daemon
    from drydockd.common import events as ev
    from drydockd.common import timeutils
    from drydockd.receiver import service

    flush = service.ReceiverService.flush
    out = open(lag_path, 'w')

    def recording_flush(self):
        batch, applied, t0 = self.batch, self.applied, time.monotonic()
        flush(self)
        took = time.monotonic() - t0
        if self.applied == applied:
            return      # requeued or nothing in it: nothing committed
        now, epoch = timeutils.utcnow(), time.time()
        for _, events in batch:
            times = [e.at for e in events or ()
                     if isinstance(e, (ev.GraphTaskChanged, ev.NodeChanged))]
            if times:
                out.write('%.3f %.4f %.3f\n' % (
                    epoch, (now - max(times)).total_seconds(), took))
        out.flush()

    service.ReceiverService.flush = recording_flush
    return daemon.main(['receiver', '--config-file', config])


# -- the fleet ---------------------------------------------------------------

class Fleet:
    """``drydock-fakebmc`` processes serving nodes 1..N, and the design,
    at nice ``nice``."""

    def __init__(self, nodes, workdir, report_config, duration, nice):
        from drydockd.fakebmc import fleet
        base = fleet.free_port_block(nodes, 20000, 60000)
        self.procs, designs = [], []
        for first in range(1, nodes + 1, PER_PROCESS):
            count = min(PER_PROCESS, nodes - first + 1)
            tag = os.path.join(workdir, 'fakebmc-%d' % first)
            designs.append(tag + '.yaml')
            self.procs.append(subprocess.Popen(
                ['nice', '-n', str(nice),
                 os.path.join(BIN, 'drydock-fakebmc'), '--count', str(count),
                 '--first-id', str(first),
                 '--base-port', str(base + first - 1),
                 '--report-config', report_config, '--log-level', 'WARNING',
                 '--write-design', designs[-1], '--ready-file',
                 tag + '.ready'], stderr=open(tag + '.log', 'w')))
        deadline = time.monotonic() + 300
        for proc, design in zip(self.procs, designs):
            while not os.path.exists(design[:-5] + '.ready'):
                if proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise SystemExit('drydock-fakebmc did not start, see '
                                     + design[:-5] + '.log')
                time.sleep(0.2)
        site = {'nodes': [], 'deployment_tasks': chain_graph(
            TASKS, STAGES, duration)}
        for design in designs:
            with open(design) as f:
                site['nodes'] += yaml.safe_load(f)['nodes']
        self.design = os.path.join(workdir, 'site-%d.yaml' % nodes)
        with open(self.design, 'w') as f:
            yaml.dump(site, f, Dumper=yaml.CSafeDumper)

    def close(self):
        for proc in self.procs:
            stop(proc)


# -- measuring ---------------------------------------------------------------

def cli_samples(config, task_id, done):
    """Whole drydock2 processes, timed, until ``done`` is set."""
    cli = [os.path.join(BIN, 'drydock2'), '--config-file', config]
    commands = {'history show --nodes 5,6': cli + [
        'task', 'history', 'show', str(task_id), '--nodes', '5,6'],
        'task show': cli + ['task', 'show', str(task_id)],
        # What the machine's load costs any drydock2 process: no server.
        '--help': cli[:1] + ['--help']}
    times = {name: [] for name in commands}
    cpu = {name: [] for name in commands}
    errors = []
    while not done.is_set():
        for name, argv in commands.items():
            t0, c0 = time.perf_counter(), _children_cpu()
            result = subprocess.run(argv, capture_output=True, text=True,
                                    timeout=120)
            times[name].append(time.perf_counter() - t0)
            # The daemons are reaped only after the run: the children's
            # CPU grows here by this call's alone.
            cpu[name].append(_children_cpu() - c0)
            if result.returncode != 0:
                errors.append(result.stderr.strip()[-300:])
    return times, cpu, errors


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def failures(site, task_id):
    """What the first few unsuccessful subtasks of a task said."""
    with site.engine.connect() as conn:
        return [list(row) for row in conn.execute(sa.text(
            "SELECT node_id, result_status, result_message FROM tasks "
            "WHERE parent_id = :id AND result_status <> 'success' "
            "ORDER BY node_id LIMIT 5"), {'id': task_id})]


def lag_figures(lag_path, windows):
    """p50/p99 of the receiver's lag per phase (by commit time)."""
    with open(lag_path) as f:
        lags = [tuple(map(float, line.split()[:2])) for line in f]
    out = {}
    for phase, (start, end) in windows.items():
        inside = sorted(lag for at, lag in lags if start <= at <= end)
        if inside:
            out[phase] = {'messages': len(inside),
                          'p50_s': round(statistics.median(inside), 3),
                          'p99_s': round(inside[int(len(inside) * .99)], 3),
                          'max_s': round(inside[-1], 3)}
    return out


def run(nodes, workdir, duration, priority):
    """One fleet of ``nodes``; ``priority`` 'units' runs the daemons at
    their units' Nice= and the fakebmcs below them, 'equal' all at 0."""
    units = priority == 'units'
    # A directory per run: a fakebmc's design and ready files of an
    # earlier run must not be taken for this one's.
    workdir = os.path.join(workdir, '%d-%s' % (nodes, priority))
    if os.path.exists(workdir):
        raise SystemExit('%s is left from an earlier run: give --logs an '
                         'empty directory' % workdir)
    os.makedirs(workdir)
    lag_path = os.path.join(workdir, 'lag.txt')
    site = Site(workdir, {'DEFAULT': {'host': 'bench'},
                          'manager': {'rpc_timeout': 600}},
                argv={'receiver': [sys.executable, os.path.abspath(__file__),
                                   '_receiver', lag_path]},
                unit_priority=units)
    fleet = None
    try:
        fleet = Fleet(nodes, workdir, site.config, duration,
                      FAKEBMC_NICE if units else 0)
        procs = {role: p.pid for role, p in site.procs.items()}
        procs.update(('fakebmc%d' % i, p.pid)
                     for i, p in enumerate(fleet.procs, 1))
        idle = {k: cpu_s(pid) for k, pid in procs.items()}
        time.sleep(10)
        idle_cpu = round(sum(cpu_s(pid) - idle[k] for k, pid in procs.items()
                             if k.startswith('fakebmc')) / 10, 3)
        api = site.client()
        phases, windows, cpu, cli, rows = {}, {}, {}, None, {}
        for action, kwargs in (('verify_nodes', {}),
                               ('provision_nodes', {'all_nodes': True}),
                               ('deploy_nodes', {})):
            before = {k: cpu_s(pid) for k, pid in procs.items()}
            start = time.time()
            task = api.create_task(action, 'file://' + fleet.design,
                                   **kwargs)
            if action == 'deploy_nodes':
                done = threading.Event()
                sampler = Sampler(site.config, task['id'], done)
            result = site.wait_task(task['id'])
            if action == 'deploy_nodes':
                done.set()
                cli = sampler.join()
                with site.engine.connect() as conn:
                    rows = dict(conn.execute(sa.text(
                        'SELECT status, count(*) FROM deployment_history '
                        'WHERE task_id = :id GROUP BY status'),
                        {'id': task['id']}).all())
            windows[action] = (start, time.time())
            phases[action] = {'wall_s': round(time.time() - start, 1),
                              'result': result}
            cpu[action] = {k: round(cpu_s(pid) - before[k], 1)
                           for k, pid in procs.items()}
            if result != 'success':
                phases[action]['failures'] = failures(site, task['id'])
                break
        time.sleep(1)
        windows['all'] = (0, time.time())
        figures = {
            'nodes': nodes, 'priority': priority, 'load': os.getloadavg(),
            'phases': phases,
            'history_rows': rows, 'lag': lag_figures(lag_path, windows),
            'cpu_s': cpu, 'fakebmc_idle_cpu': idle_cpu,
            'cpu_total_s': {k: round(cpu_s(pid), 1)
                            for k, pid in procs.items()},
            'peak_rss_mb': {k: round(rss_mb(pid, 'VmHWM'))
                            for k, pid in procs.items()},
            'cli': cli}
    finally:
        if fleet is not None:
            fleet.close()
        site.close()
    return figures


class Sampler(threading.Thread):
    def __init__(self, config, task_id, done):
        super().__init__(daemon=True)
        self.args, self.result = (config, task_id, done), None
        self.start()

    def run(self):
        self.result = cli_samples(*self.args)

    def join(self):
        super().join()
        times, cpu, errors = self.result
        return {'errors': errors[:3], **{
            name: {'calls': len(t), 'median_s': round(statistics.median(t),
                                                      3),
                   'max_s': round(max(t), 3),
                   'cpu_median_s': round(statistics.median(cpu[name]), 3)}
            for name, t in times.items() if t}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='1000,5000',
                        help='node counts, the first is the baseline')
    parser.add_argument('--duration', type=float, default=0,
                        help='seconds each graph task takes (default 0)')
    parser.add_argument('--priorities', default='units',
                        help="'units' (the daemons at their systemd units' "
                        "Nice=), 'equal' (everything at nice 0), or both "
                        "'units,equal' (each size twice, for comparison)")
    parser.add_argument('--json', help='also write the figures here')
    parser.add_argument('--logs', metavar='DIR',
                        help="keep the daemons' logs and configs in DIR")
    opts, rest = parser.parse_known_args(argv)
    if rest[:1] == ['_receiver']:
        return receiver_with_lag(rest[-1], rest[1])
    priorities = opts.priorities.split(',')
    if not set(priorities) <= {'units', 'equal'}:
        parser.error("--priorities takes 'units', 'equal' or both")
    print('%s, Python %s, load %s' % (platform.platform(),
                                       platform.python_version(),
                                       os.getloadavg()), flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix='bench-fleet-') as workdir:
        for nodes in (int(n) for n in opts.sizes.split(',')):
            for priority in priorities:
                results.append(run(nodes, opts.logs or workdir,
                                   opts.duration, priority))
                print(json.dumps(results[-1]), flush=True)
    if opts.json:
        with open(opts.json, 'w') as f:
            json.dump(results, f, indent=1)
    report(results)
    return 0 if all(r['phases'].get('deploy_nodes', {}).get('result')
                    == 'success' for r in results) else 1


def report(results):
    print('\n| nodes | priority | verify s | provision s | deploy s '
          '| history rows | lag p50 / p99 s (deploy) '
          '| `history show` median / max (CPU median) s '
          '| `task show` median / max (CPU median) s '
          '| `--help` median s | load |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for r in results:
        p, cli = r['phases'], r['cli'] or {}
        lag = r['lag'].get('deploy_nodes', {})
        show = ['%s / %s (%s)' % (c['median_s'], c['max_s'],
                                  c['cpu_median_s']) if c else '-'
                for c in (cli.get('history show --nodes 5,6'),
                          cli.get('task show'))]
        show.append(cli.get('--help', {}).get('median_s', '-'))
        print('| {:,} | {} | {} | {} | {} | {:,} | {} / {} | {} | {} | {} '
              '| {} |'.format(
            r['nodes'], r['priority'], *(p.get(a, {}).get('wall_s', '-')
                                         for a in (
                'verify_nodes', 'provision_nodes', 'deploy_nodes')),
            sum(r['history_rows'].values()), lag.get('p50_s', '-'),
            lag.get('p99_s', '-'), *show,
            ' '.join('%.1f' % x for x in r['load'])))
    for r in results:
        slowest = max((c['max_s'] for name, c in (r['cli'] or {}).items()
                       if name != 'errors' and name != '--help'),
                      default=None)
        if slowest is not None:
            print('\n{:,} nodes, {} priority: the slowest drydock2 call '
                  'took {} s, target < {} s per call: {}'.format(
                      r['nodes'], r['priority'], slowest, CLI_TARGET_S,
                      'met' if slowest < CLI_TARGET_S else 'NOT met'))
    print('\n| nodes | priority | process | peak RSS MB | CPU s verify / '
          'provision / deploy | CPU s total |')
    print('|---|---|---|---|---|---|')
    for r in results:
        for name, rss in r['peak_rss_mb'].items():
            print('| {:,} | {} | {} | {} | {} | {} |'.format(
                r['nodes'], r['priority'], name, rss, ' / '.join(
                    str(r['cpu_s'].get(a, {}).get(name, '-')) for a in (
                        'verify_nodes', 'provision_nodes', 'deploy_nodes')),
                r['cpu_total_s'][name]))


if __name__ == '__main__':
    sys.exit(main())
