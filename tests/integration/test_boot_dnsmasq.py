"""drydock's dnsmasq, running inside a network namespace the test makes:
known MACs get their reservation, unknown ones no answer; a new MAC in
the design is a reload, a new network a restart, a dead dnsmasq is
started again."""

import os
import shutil
import subprocess
import time

import pytest

from drydockd.boot import dnsmasq
import netns_support
import qemu_support

SCRIPT = '''#!/bin/sh
[ "$1" = bound ] && echo "$ip" > "$LEASE_FILE"
exit 0
'''


def _design(extra_nodes=(), server='10.77.0.1'):
    nodes = [{'id': 1, 'name': 'node01',
              'boot': {'mac': '52:54:00:77:00:01', 'ip': '10.77.0.11'}}]
    return {'boot': {'server': server}, 'nodes': nodes + list(extra_nodes)}


@pytest.fixture
def lab(tmp_path):
    lab = netns_support.Lab()
    script = tmp_path / 'udhcpc.sh'
    script.write_text(SCRIPT)
    script.chmod(0o755)
    lab.script = str(script)
    # dnsmasq runs inside the lab, so its program is wrapped.
    wrapper = tmp_path / 'dnsmasq-in-lab'
    wrapper.write_text('#!/bin/sh\nexec ip netns exec %s dnsmasq "$@"\n'
                       % lab.ns)
    wrapper.chmod(0o755)
    # dnsmasq reads its hosts file as nobody: a directory all can reach.
    run_dir = '/tmp/%s-run' % lab.ns
    sup = dnsmasq.Supervisor(str(wrapper), run_dir)
    lab.sup = sup
    try:
        yield lab
    finally:
        sup.stop()
        lab.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def _apply(lab, design):
    lab.sup.apply(dnsmasq.conf_text(design, 'http://10.77.0.1:8080',
                                    lab.sup.hosts_path, '/usr/lib/ipxe',
                                    'br0'),
                  dnsmasq.hosts_text(design))


def _lease(lab, tmp_path, mac, tries=4):
    """The address udhcpc got for ``mac``, or None."""
    client = lab.add_client(mac)
    lease = tmp_path / ('lease-%s' % mac.replace(':', ''))
    env = dict(os.environ, LEASE_FILE=str(lease))
    subprocess.run(['ip', 'netns', 'exec', client, 'busybox', 'udhcpc',
                    '-i', 'eth0', '-n', '-q', '-t', str(tries), '-T', '1',
                    '-s', lab.script], env=env, capture_output=True,
                   timeout=60, check=False)
    return lease.read_text().strip() if lease.exists() else None


def _wait_listening(lab):
    qemu_support.wait_for(
        lambda: ':67 ' in lab.run('ss', '-lun').stdout, 20,
        'dnsmasq listening on port 67')


def test_known_mac_gets_its_reservation_unknown_gets_nothing(lab, tmp_path):
    _apply(lab, _design())
    _wait_listening(lab)
    assert _lease(lab, tmp_path, '52:54:00:77:00:01') == '10.77.0.11'
    assert _lease(lab, tmp_path, '52:54:00:77:00:99', tries=3) is None


def test_design_changes_reload_or_restart(lab, tmp_path):
    _apply(lab, _design())
    _wait_listening(lab)
    first = lab.sup.proc.pid
    # A new node: the hosts file only, dnsmasq rereads it on SIGHUP.
    _apply(lab, _design([{'id': 2, 'name': 'node02',
                          'boot': {'mac': '52:54:00:77:00:02',
                                   'ip': '10.77.0.12'}}]))
    assert lab.sup.proc.pid == first and lab.sup.starts == 1
    time.sleep(0.5)
    assert _lease(lab, tmp_path, '52:54:00:77:00:02') == '10.77.0.12'
    # Another boot server: a new config, a new dnsmasq.
    _apply(lab, _design(server='10.77.0.1') | {
        'boot': {'server': '10.77.0.1', 'mode': 'proxy'}})
    assert lab.sup.starts == 2 and lab.sup.proc.pid != first


def test_dead_dnsmasq_is_started_again(lab, tmp_path):
    _apply(lab, _design())
    _wait_listening(lab)
    lab.sup.proc.kill()
    lab.sup.proc.wait()
    qemu_support.wait_for(lambda: lab.sup.watch() or lab.sup.starts == 2,
                          10, 'dnsmasq restarted')
    _wait_listening(lab)
    assert _lease(lab, tmp_path, '52:54:00:77:00:01') == '10.77.0.11'
