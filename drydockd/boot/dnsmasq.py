"""dnsmasq, driven from the site design: its files and its process.

drydock writes two files and never edits them by hand:

- ``dnsmasq.conf``: the network (``dhcp-range``, in DHCP or proxy-DHCP
  mode), TFTP for the iPXE binaries, and the boot chain: a PXE ROM gets
  ``undionly.kpxe`` (BIOS) or ``ipxe.efi`` (UEFI) over TFTP, and iPXE gets
  ``boot.ipxe`` over HTTP from drydock. DNS is off (``port=0``).
- ``hosts``: one ``dhcp-host`` line per node with a ``boot.mac`` (with its
  address in DHCP mode). ``dhcp-ignore=tag:!known`` makes dnsmasq answer
  no other machine.

A change of the hosts only is a ``SIGHUP`` (dnsmasq rereads its hosts
file); any other change restarts dnsmasq. :class:`Supervisor` restarts it
when it dies, with a growing pause, and reads its log (passed on to
drydock's standard error unchanged) for which MACs asked
(``dhcplog.Sightings``).
"""

import hashlib
import ipaddress
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from drydockd.boot import dhcplog
from drydockd.common import exception

LOG = logging.getLogger(__name__)
MAX_PAUSE = 30.0


def _network(boot):
    """``(subnet, netmask)`` of the boot network: given, or the /24 of
    the server's address."""
    if boot.get('subnet') and boot.get('netmask'):
        return boot['subnet'], boot['netmask']
    net = ipaddress.ip_network('%s/24' % boot['server'], strict=False)
    return str(net.network_address), str(net.netmask)


def hosts_text(design):
    """The ``dhcp-hostsfile``: one line per node with a boot MAC."""
    mode = (design.get('boot') or {}).get('mode', 'dhcp')
    lines = []
    for node in design['nodes']:
        boot = node.get('boot') or {}
        if not boot.get('mac'):
            continue
        fields = [boot['mac'].lower()]
        if mode == 'dhcp' and boot.get('ip'):
            fields.append(boot['ip'])
        fields.append(node['name'])
        lines.append(','.join(fields))
    return '\n'.join(lines) + '\n'


def conf_text(design, http_base, hosts_path, tftp_root, interface=None):
    """The main config for ``design``'s boot section.

    :raises: InvalidInput if the design has no boot section.
    """
    boot = design.get('boot')
    if not boot:
        raise exception.InvalidInput(
            reason='the design has no boot section (boot.server)')
    subnet, netmask = _network(boot)
    mode = boot.get('mode', 'dhcp')
    lines = ['# Written by drydock from the site design; do not edit.',
             'port=0', 'no-resolv', 'no-hosts', 'log-dhcp',
             'dhcp-hostsfile=%s' % hosts_path,
             # Beside the hosts file: the one place the service may write.
             'dhcp-leasefile=%s' % os.path.join(os.path.dirname(hosts_path),
                                                'leases'),
             # Only machines of the design get an answer.
             'dhcp-ignore=tag:!known',
             'enable-tftp', 'tftp-root=%s' % tftp_root,
             'dhcp-userclass=set:ipxe,iPXE',
             'dhcp-match=set:efi64,option:client-arch,7',
             'dhcp-match=set:efi64,option:client-arch,9']
    if interface:
        lines += ['interface=%s' % interface, 'bind-interfaces']
    script = '%s/boot.ipxe' % http_base
    if mode == 'proxy':
        # Another server hands out addresses; dnsmasq only adds the boot
        # offer (PXE proxy), and answers known machines only.
        lines += ['dhcp-range=%s,proxy,%s' % (subnet, netmask),
                  'pxe-service=tag:!ipxe,x86PC,"drydock",undionly.kpxe',
                  'pxe-service=tag:!ipxe,X86-64_EFI,"drydock",ipxe.efi',
                  'pxe-service=tag:ipxe,x86PC,"drydock",%s' % script,
                  'pxe-service=tag:ipxe,X86-64_EFI,"drydock",%s' % script]
    else:
        lines += ['dhcp-range=%s,static,%s,1h' % (subnet, netmask),
                  'dhcp-option=option:router,%s' % boot['server'],
                  'dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe',
                  'dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi',
                  'dhcp-boot=tag:ipxe,%s' % script]
    return '\n'.join(lines) + '\n'


def _write(path, text):
    tmp = path + '.new'
    with open(tmp, 'w') as out:
        out.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


class Supervisor:
    """Keeps one dnsmasq running on the files of the current design.

    :param argv0: the dnsmasq program.
    :param run_dir: where ``dnsmasq.conf`` and ``hosts`` go.
    :param sightings: the ``dhcplog.Sightings`` its log feeds.
    """

    def __init__(self, argv0, run_dir, sightings=None):
        self.argv0 = argv0
        self.run_dir = run_dir
        self.sightings = sightings or dhcplog.Sightings()
        self.conf_path = os.path.join(run_dir, 'dnsmasq.conf')
        self.hosts_path = os.path.join(run_dir, 'hosts')
        self.proc = None
        self.starts = 0
        self._conf_digest = None
        self._lock = threading.Lock()
        self._pause = 1.0
        self._next_start = 0.0

    def apply(self, conf, hosts):
        """Make dnsmasq run with ``conf`` and ``hosts`` (texts): HUP for
        a hosts change, restart for a config change."""
        os.makedirs(self.run_dir, mode=0o755, exist_ok=True)
        digest = hashlib.sha256(conf.encode()).hexdigest()
        with self._lock:
            old_hosts = _read(self.hosts_path)
            if hosts != old_hosts:
                _write(self.hosts_path, hosts)
            if digest != self._conf_digest:
                _write(self.conf_path, conf)
                self._conf_digest = digest
                self._stop_locked()
                self._start_locked()
            elif hosts != old_hosts and self._alive():
                LOG.info('dnsmasq: hosts changed, reloading')
                self.proc.send_signal(signal.SIGHUP)

    def watch(self):
        """Start dnsmasq again if it died (called periodically)."""
        with self._lock:
            if self._conf_digest is None or self._alive():
                return
            if time.monotonic() < self._next_start:
                return
            code = self.proc.returncode if self.proc else None
            LOG.warning('dnsmasq exited (%s); starting it again', code)
            self._start_locked()

    def stop(self):
        with self._lock:
            self._stop_locked()

    def _alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _start_locked(self):
        argv = [self.argv0, '--keep-in-foreground', '--log-facility=-',
                '--conf-file=%s' % self.conf_path, '--pid-file']
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        threading.Thread(target=self._read_log, args=(self.proc.stderr,),
                         daemon=True, name='dnsmasq-log').start()
        self.starts += 1
        self._next_start = time.monotonic() + self._pause
        self._pause = min(MAX_PAUSE, self._pause * 2)
        LOG.info('dnsmasq started (pid %d)', self.proc.pid)

    def _read_log(self, stream):
        """Until dnsmasq exits: each line to our standard error, and to
        the sightings."""
        with stream:
            for raw in stream:
                line = raw.decode('utf-8', 'replace')
                sys.stderr.write(line)
                self.sightings.feed(line)

    def _stop_locked(self):
        if not self._alive():
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._pause = 1.0


def _read(path):
    try:
        with open(path) as src:
            return src.read()
    except OSError:
        return None
