"""Whole ``drydock2`` processes on the embedded default (issue 11).

The first command a new user types runs on the embedded default: SQLite
and no broker, with the CLI hosting the API in its own process. This
measures what that costs, next to ``drydock2 --help`` (the floor: Python,
cliff and the command table) and a bare ``python -c pass``, all in the
same run:

- ``drydock2 task history show 1 --nodes 5,6 -f json``
- ``drydock2 task show 1``
- ``drydock2 --help``

Targets: the first two under 0.5 s, ``--help`` under 0.3 s. Each figure
is the median (and the range) of ``--runs`` runs after one warm-up, wall
time and the process's CPU time. It starts ``drydockd all-in-one`` in a
temporary state directory, deploys ``etc/drydock/demo-site.yaml`` once,
measures, and stops the daemon.

drydock's own modules are byte-compiled first (``compileall``), as a
packaged install has them: an editable install under
``PYTHONDONTWRITEBYTECODE=1`` (this machine's environment) would
otherwise compile some 70 modules from source on every run.

Usage::

    python bench/cli/bench_embedded_cli.py [--runs 15] [--json out.json]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
DESIGN = os.path.join(ROOT, 'etc', 'drydock', 'demo-site.yaml')
COMMANDS = [
    ('python -c pass', [sys.executable, '-c', 'pass']),
    ('drydock2 --help', ['drydock2', '--help']),
    ('task history show 1 --nodes 5,6 -f json',
     ['drydock2', 'task', 'history', 'show', '1', '--nodes', '5,6', '-f',
      'json']),
    ('task show 1', ['drydock2', 'task', 'show', '1']),
]


def _run(argv, env):
    """(wall seconds, CPU seconds) of one whole process."""
    if argv[0] == 'drydock2':
        argv = [os.path.join(BIN, 'drydock2')] + argv[1:]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit('%s failed: %s' % (' '.join(argv), done.stderr))
    cpu = (after.ru_utime - before.ru_utime
           + after.ru_stime - before.ru_stime)
    return wall, cpu


def _daemon(state, env):
    log = open(os.path.join(state, 'drydockd.log'), 'w')
    proc = subprocess.Popen([os.path.join(BIN, 'drydockd'), 'all-in-one'],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while 'Ready:' not in open(log.name).read():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit('drydockd did not start:\n'
                             + open(log.name).read())
        time.sleep(0.1)
    return proc


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=15)
    parser.add_argument('--json')
    args = parser.parse_args()
    subprocess.run([sys.executable, '-m', 'compileall', '-q',
                    os.path.join(ROOT, 'drydockd'),
                    os.path.join(ROOT, 'drydock_client')], check=True,
                   stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix='drydock-cli-') as state:
        config = os.path.join(state, 'drydock.conf')
        with open(config, 'w') as f:
            # The demo design's master task is allowed, as tools/demo does.
            f.write('[DEFAULT]\nstate_path = %s\n\n[site]\n'
                    'allow_master_shell = true\n'
                    'master_shell_commands = sync-repos\n' % state)
        env = dict(os.environ, DRYDOCK_CONFIG=config, DRYDOCK_ALLOW_ROOT='1')
        env.pop('DRYDOCK_TRANSPORT_URL', None)
        daemon = _daemon(state, env)
        try:
            subprocess.run([os.path.join(BIN, 'drydock2'), 'task', 'create',
                            'deploy_nodes', '--design-ref', DESIGN,
                            '--wait'], env=env, check=True,
                           capture_output=True, timeout=300)
            results = {}
            for name, argv in COMMANDS:
                _run(argv, env)                        # warm-up
                samples = [_run(argv, env) for _ in range(args.runs)]
                walls = sorted(w for w, _ in samples)
                cpus = sorted(c for _, c in samples)
                results[name] = {
                    'wall_median': statistics.median(walls),
                    'wall_min': walls[0], 'wall_max': walls[-1],
                    'cpu_median': statistics.median(cpus)}
        finally:
            daemon.terminate()
            daemon.wait(60)
    print('%-42s %9s %17s %9s' % ('command', 'wall s', 'range', 'CPU s'))
    for name, r in results.items():
        print('%-42s %9.3f %8.3f-%-8.3f %9.3f' % (
            name, r['wall_median'], r['wall_min'], r['wall_max'],
            r['cpu_median']))
    print('load average: %.2f %.2f %.2f' % os.getloadavg())
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
