"""Helpers for tests that talk IPMI to simulated BMCs.

Ports come from 17000-19999 and are checked free (bound, then released)
before use, starting at a random place so that tests running in parallel
rarely collide; a start that still collides is retried on other ports.
"""

import os
import signal
import subprocess
import sys
import time

import yaml
from oslo_config import cfg

from drydockd.conf import ipmi as ipmi_conf
from drydockd.oob import base
from drydockd.fakebmc import fleet

PORT_LOW, PORT_HIGH = 17000, 19999


def free_udp_ports(count):
    """First port of ``count`` consecutive free UDP ports on loopback."""
    return fleet.free_port_block(count, PORT_LOW, PORT_HIGH)


def group_conf(conf_module, group, **values):
    """A private ConfigOpts with ``conf_module``'s options registered
    and ``values`` set in ``group``."""
    conf = cfg.ConfigOpts()
    conf_module.register_opts(conf)
    conf([])
    for key, value in values.items():
        conf.set_override(key, value, group)
    return conf


def make_conf(**ipmi):
    """A private ConfigOpts with [ipmi] registered and ``ipmi`` set."""
    return group_conf(ipmi_conf, 'ipmi', **ipmi)


def oob_info(spec):
    return base.OOBInfo(name=spec.name, address=spec.address,
                        port=spec.port, account=spec.username,
                        credential=spec.password)


def start_fleet(count, faults=None, on_provisioned=None, **spec_args):
    """An in-process, started :class:`fleet.Fleet` on free ports."""
    for _ in range(5):
        specs = fleet.make_specs(count, free_udp_ports(count),
                                 faults=faults, **spec_args)
        try:
            return fleet.Fleet(specs, on_provisioned).start()
        except OSError:
            continue
    raise RuntimeError('could not bind a fleet of %d BMCs' % count)


class FleetProcess:
    """``drydock-fakebmc`` in a subprocess; a context manager.

    ``nodes`` are :class:`base.OOBInfo` read back from the design file the
    process wrote; ``stop()`` sends SIGTERM and returns the exit code.
    """

    def __init__(self, tmp_path, count, *extra_args):
        self.tmp_path = tmp_path
        self.count = count
        self.extra_args = list(extra_args)
        self.proc = None
        self.nodes = []
        self.log_path = tmp_path / 'fakebmc.log'

    def __enter__(self):
        for _ in range(5):
            if self._start(free_udp_ports(self.count)):
                return self
        raise RuntimeError('drydock-fakebmc did not start: %s'
                           % self.log_path.read_text()[-2000:])

    def __exit__(self, *exc_info):
        self.stop()

    def _start(self, base_port):
        ready = self.tmp_path / 'fakebmc.ready'
        design = self.tmp_path / 'site.yaml'
        for path in (ready, design):
            if path.exists():
                path.unlink()
        self.base_port = base_port
        with open(self.log_path, 'w') as log:
            self.proc = subprocess.Popen(
                [sys.executable, '-m', 'drydockd.fakebmc.command',
                 '--count', str(self.count), '--base-port', str(base_port),
                 '--write-design', str(design), '--ready-file', str(ready)]
                + self.extra_args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not ready.exists():
            if self.proc.poll() is not None:
                return False  # most likely a port taken meanwhile
            assert time.monotonic() < deadline, 'fakebmc never got ready'
            time.sleep(0.05)
        self.design = yaml.safe_load(design.read_text())
        self.nodes = [base.OOBInfo.from_design(node)
                      for node in self.design['nodes']]
        return True

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def log(self):
        return self.log_path.read_text()


def run_script(args, timeout, env=None):
    """Run ``python *args``; returns (returncode or None if it hung, out)."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.Popen([sys.executable] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=full_env)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return None, out
