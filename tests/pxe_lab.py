"""A PXE lab for the end-to-end boot tests: everything real, on one host.

- a network namespace with bridge ``br0`` (10.77.0.1/24) and one tap per
  node (``netns_support.Lab``);
- ``drydockd boot`` inside the namespace (its HTTP on 10.77.0.1:8080 and
  its dnsmasq on br0), from the same SQLite state as
- ``drydockd all-in-one`` outside it (manager duties, executor, receiver);
- ``drydock-fakebmc --qemu``: one BMC per node on loopback, whose power-on
  starts the node's QEMU inside the namespace on its tap;
- in proxy-DHCP mode (``mode='proxy'``), the site's own DHCP server: a
  plain dnsmasq (addresses only, no PXE options) at 10.77.0.2 in a
  namespace of its own on the same bridge.

Only PIDs started here are stopped, and the namespace is deleted on exit.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import yaml

import conftest
import netns_support
import qemu_support
from drydockd.boot import testimage

SERVER = '10.77.0.1'
PORT = 8080
SITE_DHCP = '10.77.0.2'
SITE_RANGE = ('10.77.0.100', '10.77.0.150')


class Node:
    def __init__(self, index, memory_mb=256, disk_mb=64, mac=None,
                 design_mac=None, image=None):
        self.index = index
        self.name = 'node%02d' % index
        self.mac = mac or '52:54:00:77:00:%02x' % index
        # What the design says (differs for the unknown-MAC case).
        self.design_mac = design_mac or self.mac
        self.ip = '10.77.0.%d' % (10 + index)
        self.memory_mb = memory_mb
        self.disk_mb = disk_mb
        self.image = image


class PxeLab:
    """A context manager; ``create(nodes)`` gives a ready lab."""

    def __init__(self, tmp_path, nodes, provision_timeout=600,
                 netboot_timeout=300, mode='dhcp'):
        self.tmp = tmp_path
        self.nodes = nodes
        self.provision_timeout = provision_timeout
        self.netboot_timeout = netboot_timeout
        self.mode = mode
        self.lab = None
        self.fleet = None
        self.procs = []

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self):
        ramdisk = qemu_support.deploy_ramdisk()
        image, sha = testimage.build(
            os.path.join(qemu_support.CACHE, 'testos'),
            cache=os.path.join(qemu_support.CACHE, 'debs'))
        images = self.tmp / 'images'
        images.mkdir()
        shutil.copy(image, images / 'testos.img')
        self.image_sha256 = sha
        self.lab = netns_support.Lab(SERVER)
        machines = []
        for node in self.nodes:
            disk = self.tmp / ('%s.img' % node.name)
            with open(disk, 'wb') as out:
                out.truncate(node.disk_mb * 1024 * 1024)
            node.serial = self.tmp / ('%s.serial' % node.name)
            machines.append({
                'name': node.name, 'disk': str(disk), 'mac': node.mac,
                'memory_mb': node.memory_mb,
                'tap': self.lab.add_tap('tap%d' % node.index),
                'netns': self.lab.ns, 'serial_log': str(node.serial)})
        self.fleet = qemu_support.QemuFleet(self.tmp, machines).__enter__()
        self.design = self.tmp / 'site.yaml'
        self.design.write_text(yaml.safe_dump(self._design(
            self.fleet.machines)))
        self.design.chmod(0o600)
        self.run_dir = '/tmp/%s-run' % self.lab.ns
        self.config = conftest.write_config(
            self.tmp / 'drydock.conf',
            DEFAULT={'state_path': self.tmp, 'host': 'pxe-lab'},
            executor={'report_interval': 0.05},
            receiver={'batch_window_ms': 20},
            manager={'provision_timeout': self.provision_timeout},
            boot={'design_ref': 'file://%s' % self.design, 'http_host': SERVER,
                  'http_port': PORT, 'files_dir': os.path.dirname(
                      ramdisk['kernel']),
                  'images_dir': str(images), 'run_dir': self.run_dir,
                  'interface': 'br0',
                  'netboot_timeout': self.netboot_timeout})
        conftest.migrate(self.config)
        if self.mode == 'proxy':
            self._site_dhcp()
        self.aio = self._daemon(['all-in-one'], 'aio.log')
        self.boot = self._daemon(['boot'], 'boot.log', netns=True)
        for proc, log in (self.aio, self.boot):
            self._wait_ready(proc, log)

    def _design(self, machines):
        nodes = []
        for node, machine in zip(self.nodes, machines):
            entry = {'id': node.index, 'name': node.name,
                     'roles': ['compute'],
                     'oob': {'type': 'ipmi', 'address': '127.0.0.1',
                             'port': machine['port'], 'account': 'admin',
                             'credential': self.fleet.password},
                     'boot': {'mac': node.design_mac, 'ip': node.ip}}
            if node.image:
                entry['boot']['image'] = node.image
            nodes.append(entry)
        return {'boot': {'server': SERVER, 'mode': self.mode,
                         'image': {'name': 'testos.img',
                                   'sha256': self.image_sha256}},
                'nodes': nodes}

    def _site_dhcp(self):
        """The site's DHCP server: addresses from a pool, nothing about
        booting. Its log is ``site-dhcp.log``."""
        client = self.lab.add_client('52:54:00:77:00:fe')
        site = ('ip', 'netns', 'exec', client)
        subprocess.run(site + ('ip', 'addr', 'add', SITE_DHCP + '/24',
                               'dev', 'eth0'), check=True, timeout=30)
        log_path = self.tmp / 'site-dhcp.log'
        log = open(log_path, 'w')
        proc = subprocess.Popen(site + (
            'dnsmasq', '--keep-in-foreground', '--log-facility=-',
            '--port=0', '--no-resolv', '--no-hosts', '--log-dhcp',
            '--interface=eth0', '--bind-interfaces', '--pid-file',
            '--dhcp-leasefile=%s' % (self.tmp / 'site.leases'),
            '--dhcp-range=%s,%s,255.255.255.0,1h' % SITE_RANGE),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((proc, log))
        qemu_support.wait_for(
            lambda: 'DHCP, IP range' in log_path.read_text()
            or proc.poll() is not None, 20, 'the site DHCP server')
        assert proc.poll() is None, log_path.read_text()

    def _daemon(self, args, log_name, netns=False):
        log_path = self.tmp / log_name
        argv = [os.path.join(conftest.BIN, 'drydockd')] + args + [
            '--config-file', self.config]
        if netns:
            argv = list(self.lab.argv(*argv))
        log = open(log_path, 'w')
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True,
                                env=conftest.daemon_env())
        self.procs.append((proc, log))
        return proc, log_path

    @staticmethod
    def _wait_ready(proc, log_path, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if 'Ready:' in log_path.read_text():
                return
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError('%s not ready:\n%s' % (
            log_path.name, log_path.read_text()[-3000:]))

    def cli(self, *args, timeout=120):
        return conftest.drydock2(self.config, *args, timeout=timeout)

    def json(self, *args):
        result = self.cli(*args, '-f', 'json')
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def agent_call(self, node_id, step, token):
        """An agent call from inside the lab, as a node would make it."""
        return self.lab.run(
            'busybox', 'wget', '-q', '-O', '-', '--header',
            'X-Drydock-Token: %s' % token, '--post-data', 'cpus=1',
            'http://%s:%d/v1/agent/%s/%s' % (SERVER, PORT, node_id, step),
            check=False)

    def serial(self, node):
        try:
            return node.serial.read_text(errors='replace')
        except OSError:
            return ''

    def __exit__(self, *exc_info):
        for proc, log in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait()
            log.close()
        self.procs = []
        if self.fleet is not None:
            self.fleet.__exit__(None, None, None)
        if self.lab is not None:
            self.lab.close()
            shutil.rmtree('/tmp/%s-run' % self.lab.ns, ignore_errors=True)
        sys.stdout.flush()
