"""systemd integration: unit files verify, daemons speak sd_notify."""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

import conftest

UNITS = os.path.join(conftest.ROOT, 'systemd')
INSTALLED = '/usr/local/bin/drydockd'


def test_units_verify(tmp_path):
    """``systemd-analyze verify`` on the units, ExecStart pointed at this
    checkout's drydockd (the only line changed)."""
    analyze = shutil.which('systemd-analyze')
    assert analyze, 'systemd-analyze missing: .ci/run installs systemd'
    names = sorted(os.listdir(UNITS))
    assert {'drydock-manager.service', 'drydock-executor.service',
            'drydock-receiver.service', 'drydock-boot.service',
            'drydock.target'} <= set(names)
    for name in names:
        text = open(os.path.join(UNITS, name)).read()
        if name.endswith('.service'):
            assert 'Type=notify' in text and 'Restart=on-failure' in text
            assert 'User=drydock' in text and 'NoNewPrivileges=yes' in text
            assert INSTALLED in text
        local = os.path.join(os.path.dirname(sys.executable), 'drydockd')
        (tmp_path / name).write_text(text.replace(INSTALLED, local))
    result = subprocess.run([analyze, 'verify', '--man=no'] +
                            [str(tmp_path / n) for n in names],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _settings(name):
    with open(os.path.join(UNITS, name)) as f:
        return dict(line.strip().split('=', 1) for line in f
                    if '=' in line and not line.startswith('#'))


def test_bulk_work_yields_the_cpu():
    """The executor and the receiver run below the manager, which answers
    operators (decision 54)."""
    for role in ('executor', 'receiver'):
        unit = _settings('drydock-%s.service' % role)
        assert int(unit['Nice']) > 0 and int(unit['CPUWeight']) < 100, role
    manager = _settings('drydock-manager.service')
    assert 'Nice' not in manager and 'CPUWeight' not in manager


@pytest.fixture
def notify_socket(tmp_path):
    path = str(tmp_path / 'notify.sock')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    yield path, sock
    sock.close()


def _read_until(sock, wanted, timeout):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen.append(sock.recv(4096).decode())
        except socket.timeout:
            continue
        if any(wanted in s for s in seen):
            return seen
    raise AssertionError('no %s; got %r' % (wanted, seen))


def test_daemon_notifies_ready_watchdog_stopping(tmp_path, notify_socket,
                                                 embedded_config):
    path, sock = notify_socket
    env = conftest.daemon_env(NOTIFY_SOCKET=path, WATCHDOG_USEC='400000')
    env.pop('WATCHDOG_PID', None)
    proc = subprocess.Popen(
        [os.path.join(conftest.BIN, 'drydockd'), 'all-in-one',
         '--config-file', embedded_config], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = _read_until(sock, 'READY=1', 60)
        seen += _read_until(sock, 'WATCHDOG=1', 5)
        proc.terminate()
        seen += _read_until(sock, 'STOPPING=1', 10)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert seen.index('READY=1') < seen.index('STOPPING=1')


def test_stop_timeout_is_above_the_drain():
    """systemd must not SIGKILL a daemon that is still ending its work:
    every unit's TimeoutStopSec exceeds the longest default drain plus
    the launcher's margin."""
    from oslo_config import cfg

    from drydockd.common import launcher
    from drydockd.conf import opts

    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    drain = max(conf.executor.drain_timeout, conf.receiver.drain_timeout)
    for name in sorted(os.listdir(UNITS)):
        if not name.endswith('.service'):
            continue
        lines = open(os.path.join(UNITS, name)).read().splitlines()
        stop = [int(line.split('=', 1)[1]) for line in lines
                if line.startswith('TimeoutStopSec=')]
        assert stop and stop[0] > drain + launcher.DRAIN_MARGIN, name


# Exposure scores recorded in docs/security.md ("Running unprivileged");
# a change that raises one fails here until the docs say so.
EXPOSURE = {'drydock-manager.service': 1.1, 'drydock-executor.service': 1.4,
            'drydock-receiver.service': 1.1, 'drydock-boot.service': 1.6}


def test_units_exposure_matches_the_docs():
    import re
    analyze = shutil.which('systemd-analyze')
    assert analyze, 'systemd-analyze missing: .ci/run installs systemd'
    docs = open(os.path.join(conftest.ROOT, 'docs', 'security.md')).read()
    for name, score in EXPOSURE.items():
        result = subprocess.run(
            [analyze, 'security', '--offline=true', '--no-pager',
             os.path.join(UNITS, name)], capture_output=True, text=True,
            timeout=60)
        found = re.search(r'Overall exposure level for %s: ([0-9.]+)'
                          % re.escape(name), result.stdout + result.stderr)
        assert found, result.stdout + result.stderr
        assert float(found.group(1)) == score, name
        assert '| `%s` | %.1f |' % (name, score) in docs


def test_only_the_boot_unit_holds_capabilities():
    """dnsmasq, the boot service's child, binds ports 67 and 69 and
    answers machines without an address; no other unit gets any
    capability (tests/integration/test_boot_dnsmasq.py runs dnsmasq with
    exactly the boot unit's set, as nobody)."""
    caps = 'CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_NET_RAW'
    for name in sorted(os.listdir(UNITS)):
        if not name.endswith('.service'):
            continue
        lines = open(os.path.join(UNITS, name)).read().splitlines()
        wanted = caps if name == 'drydock-boot.service' else ''
        assert 'AmbientCapabilities=%s' % wanted in lines, name
        assert 'CapabilityBoundingSet=%s' % wanted in lines, name
    boot = open(os.path.join(UNITS, 'drydock-boot.service')).read()
    assert 'ExecStart=%s boot ' % INSTALLED in boot
    assert 'RuntimeDirectory=drydock-boot' in boot


def test_the_executor_may_still_reach_bmcs_over_udp():
    """IPMI is UDP to any BMC address: no network sandbox on the
    executor beyond the address families."""
    text = open(os.path.join(UNITS, 'drydock-executor.service')).read()
    assert 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' in text
    for forbidden in ('PrivateNetwork=yes', 'IPAddressDeny=',
                      'PrivateUsers=yes'):
        assert forbidden not in text
