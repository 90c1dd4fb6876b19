"""drydock's dnsmasq, running inside a network namespace the test makes:
known MACs get their reservation, unknown ones no answer (and the
supervisor's sightings say which asked); a new MAC in the design is a
reload, a new network a restart, a dead dnsmasq is started again; and
the boot unit's capabilities are all dnsmasq needs, without root."""

import datetime
import os
import shutil
import subprocess
import time

import pytest

import conftest
from drydockd.boot import dnsmasq
from drydockd.common import timeutils
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


def _unit_capabilities():
    """The capabilities drydock-boot.service gives (setpriv's spelling)."""
    path = os.path.join(conftest.ROOT, 'systemd', 'drydock-boot.service')
    for line in open(path).read().splitlines():
        if line.startswith('AmbientCapabilities='):
            return ','.join('+' + cap.lower().removeprefix('cap_')
                            for cap in line.split('=', 1)[1].split())
    raise AssertionError('no AmbientCapabilities in %s' % path)


@pytest.fixture
def lab(tmp_path, request):
    """The lab; with the parameter ``unprivileged`` (indirect), dnsmasq
    runs as nobody with the boot unit's capabilities only, as systemd
    runs it."""
    lab = netns_support.Lab()
    script = tmp_path / 'udhcpc.sh'
    script.write_text(SCRIPT)
    script.chmod(0o755)
    lab.script = str(script)
    # dnsmasq reads its hosts file as nobody: a directory all can reach.
    run_dir = '/tmp/%s-run' % lab.ns
    as_user = ''
    if getattr(request, 'param', None) == 'unprivileged':
        caps = _unit_capabilities()
        as_user = ('setpriv --reuid=nobody --regid=nogroup --clear-groups '
                   '--inh-caps=%s --ambient-caps=%s ' % (caps, caps))
        # The unit's RuntimeDirectory is the service user's own.
        os.makedirs(run_dir, mode=0o755)
        shutil.chown(run_dir, 'nobody', 'nogroup')
    # dnsmasq runs inside the lab, so its program is wrapped.
    wrapper = tmp_path / 'dnsmasq-in-lab'
    wrapper.write_text('#!/bin/sh\nexec ip netns exec %s %sdnsmasq "$@"\n'
                       % (lab.ns, as_user))
    wrapper.chmod(0o755)
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
    before = timeutils.utcnow() - datetime.timedelta(seconds=1)
    _apply(lab, _design())
    _wait_listening(lab)
    assert _lease(lab, tmp_path, '52:54:00:77:00:01') == '10.77.0.11'
    assert _lease(lab, tmp_path, '52:54:00:77:00:99', tries=3) is None
    # What dnsmasq's log told the supervisor: who asked, who was ignored.
    seen = lab.sup.sightings
    qemu_support.wait_for(lambda: seen.ignored_since(before), 5,
                          'the unknown MAC in the sightings')
    assert seen.ignored_since(before) == ['52:54:00:77:00:99']
    assert seen.asked_since('52:54:00:77:00:01', before)
    assert not seen.asked_since('52:54:00:77:00:99', before)
    assert not seen.asked_since('52:54:00:77:00:02', before)
    assert seen.ignored_since(timeutils.utcnow()) == []
    # Leases go beside the hosts file, not to the system's lease file.
    leases = open(os.path.join(lab.sup.run_dir, 'leases')).read()
    assert '52:54:00:77:00:01 10.77.0.11' in leases


@pytest.mark.parametrize('lab', ['unprivileged'], indirect=True)
def test_the_boot_units_capabilities_suffice_without_root(lab, tmp_path):
    _apply(lab, _design())
    _wait_listening(lab)
    # The wrapper execs ip, which execs setpriv, which execs dnsmasq:
    # one process, now nobody's.
    user = lab.run('ps', '-o', 'user=,comm=', '-p', str(lab.sup.proc.pid))
    assert user.stdout.split() == ['nobody', 'dnsmasq']
    assert _lease(lab, tmp_path, '52:54:00:77:00:01') == '10.77.0.11'


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
