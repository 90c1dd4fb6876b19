"""``power status`` over 500 simulated BMCs: concurrent against sequential.

Starts ``drydock-fakebmc`` with N BMCs in a separate process, then, in this
process, reads every BMC's power state through the IPMI driver twice: once
with ``run_many`` (the driver's concurrent path, ``[ipmi]
max_concurrency`` calls in flight) and once in a plain loop. Every call
logs in afresh, reads the state and logs out, as the driver always does.

Prints wall time and ops/s of each, the speedup, and the peak RSS of this
(measuring) process. ``--answer-delay`` delays every BMC answer, to stand
in for a real network and BMC (real ones answer in milliseconds; the
simulator on loopback in microseconds).

    .venv/bin/python bench/ipmi/bench_power_status.py [--count 500]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import yaml
from oslo_config import cfg

from drydockd.conf import ipmi as ipmi_conf
from drydockd.oob import base
from drydockd.oob import ipmi
from drydockd.fakebmc import fleet


def free_base_port(count):
    return fleet.free_port_block(count, 20000, 60000)


def start_fleet(args, workdir):
    ready = os.path.join(workdir, 'ready')
    design = os.path.join(workdir, 'site.yaml')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'drydockd.fakebmc.command',
         '--count', str(args.count),
         '--base-port', str(free_base_port(args.count)),
         '--answer-delay', str(args.answer_delay),
         '--write-design', design, '--ready-file', ready,
         '--log-level', 'WARNING'])
    deadline = time.monotonic() + 60
    while not os.path.exists(ready):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit('drydock-fakebmc did not start')
        time.sleep(0.05)
    with open(design) as stream:
        nodes = [base.OOBInfo.from_design(node)
                 for node in yaml.safe_load(stream)['nodes']]
    return proc, nodes


def measure(label, run, count):
    started = time.perf_counter()
    results = run()
    wall = time.perf_counter() - started
    failed = sum(1 for r in results if r not in base.POWER_STATES)
    print('%-10s %4d BMCs  wall %7.3f s  %7.1f ops/s  failed %d'
          % (label, count, wall, count / wall, failed))
    return wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=500)
    parser.add_argument('--max-concurrency', type=int, default=64)
    parser.add_argument('--answer-delay', type=float, default=0.0)
    args = parser.parse_args()
    conf = cfg.ConfigOpts()
    ipmi_conf.register_opts(conf)
    conf([])
    conf.set_override('max_concurrency', args.max_concurrency, 'ipmi')
    driver = ipmi.IPMIDriver(conf)
    with tempfile.TemporaryDirectory() as workdir:
        proc, nodes = start_fleet(args, workdir)
        try:
            driver.get_power_state(nodes[0])  # starts pyghmi's threads
            concurrent = measure('concurrent', lambda: list(ipmi.run_many(
                driver, nodes, ipmi.IPMIDriver.get_power_state).values()),
                len(nodes))
            sequential = measure('sequential', lambda: [
                driver.get_power_state(node) for node in nodes], len(nodes))
        finally:
            proc.terminate()
            proc.wait(15)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print('answer delay %.3f s, max_concurrency %d'
          % (args.answer_delay, args.max_concurrency))
    print('speedup %.1fx  peak RSS (measuring process) %.0f MiB'
          % (sequential / concurrent, rss))


if __name__ == '__main__':
    main()
