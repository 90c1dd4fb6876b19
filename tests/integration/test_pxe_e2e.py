"""End to end: drydock PXE-boots QEMU machines through its own dnsmasq
and iPXE, its agent inspects them and writes an OS image, and the nodes
boot that OS from disk and report their first boot; destroy_nodes has
the agent wipe a deployed node's disk; proxy-DHCP works beside a site's
own DHCP server.

Root, a network namespace with a bridge and a tap per node, TCG QEMU.
Nothing is simulated: the BMCs are drydock-fakebmc --qemu, whose IPMI
power starts and stops the QEMU processes.
"""

import hashlib
import json
import time

import pxe_lab
import qemu_support

STEPS = ['boot', 'inspect', 'write_image', 'reboot', 'first_boot']


def _provision(lab, names, timeout=900):
    result = lab.cli('task', 'create', 'provision_nodes', '--design-ref',
                     'file://%s' % lab.design, '--nodes', ','.join(names),
                     '--wait', '-f', 'json', timeout=timeout)
    assert result.stdout, result.stderr
    return result


def _task(lab, task_id):
    return lab.json('task', 'show', str(task_id))


def _history(lab, task_id):
    rows = lab.json('task', 'history', 'show', str(task_id))
    by_node = {}
    for row in rows:
        by_node.setdefault(row['node_id'], []).append(row)
    return by_node


def _messages(task):
    return [m['message'] for m in task['result']['details']['messageList']]


def test_two_nodes_provisioned_from_pxe_to_first_boot(tmp_path):
    nodes = [pxe_lab.Node(1), pxe_lab.Node(2, memory_mb=288, disk_mb=80)]
    with pxe_lab.PxeLab(tmp_path, nodes) as lab:
        started = time.monotonic()
        result = _provision(lab, ['node01', 'node02'])
        elapsed = time.monotonic() - started
        task = _task(lab, 1)
        assert task['result']['status'] == 'success', (
            result.stderr, _messages(task), lab.serial(nodes[0])[-2000:])
        print('provision_nodes for 2 nodes: %.1f s' % elapsed)
        history = _history(lab, 1)
        for node in nodes:
            rows = history[str(node.index)]
            assert [r['task_name'] for r in sorted(
                rows, key=lambda r: r['time_start'])] == STEPS
            assert all(r['status'] == 'ready' for r in rows), rows
            assert all(r['time_start'] <= r['time_end'] for r in rows)
            shown = lab.json('node', 'show', node.name)
            assert shown['status'] == 'provisioned'
            inventory = shown['inventory']
            assert inventory['memory_mb'] == node.memory_mb
            assert inventory['disks'] == [{
                'name': 'vda', 'size_bytes': node.disk_mb * 1024 * 1024}]
            assert inventory['nics'] == [{'name': 'eth0', 'mac': node.mac}]
            assert inventory['cpus'] == 1
            serial = lab.serial(node)
            assert 'drydock test OS booted from vda on node %d' \
                % node.index in serial
            assert 'first boot reported' in serial
        # The token the agent used (its first-boot record, in the disk's
        # last 4 KiB) is in no log and no database, and is void now.
        with open(tmp_path / 'node01.img', 'rb') as disk:
            disk.seek(-4096, 2)
            record = disk.read(512).split(b'\n')[0].decode()
        magic, url, node_id, token = record.split()
        assert (magic, url, node_id) == ('DRYDOCK1', 'http://10.77.0.1:8080',
                                         '1')
        for name in ('boot.log', 'aio.log', 'fakebmc-qemu.log',
                     'drydock.sqlite', 'workplane.sqlite'):
            assert token.encode() not in (tmp_path / name).read_bytes(), name
        replay = lab.agent_call(1, 'firstboot', token)
        assert replay.returncode != 0 and '403' in replay.stderr
        assert _task(lab, 1)['result']['status'] == 'success'


def _node_messages(task):
    """The node messages of a parent task, by node name."""
    out = {}
    for m in task['result']['details']['messageList']:
        if m.get('context_type') == 'node':
            out.setdefault(m['context'], []).append(m['message'])
    return out


def _create(lab, action, names):
    result = lab.cli('task', 'create', action, '--design-ref',
                     'file://%s' % lab.design, '--nodes', ','.join(names),
                     '-f', 'json')
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)['id']


def _wait(lab, task_id, timeout=900):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = _task(lab, task_id)
        if task['status'] in ('complete', 'terminated'):
            return task
        time.sleep(2)
    raise AssertionError('task %s still %s' % (task_id, task['status']))


def test_wrong_checksum_fails_its_node_only(tmp_path):
    bad = {'name': 'testos.img', 'sha256': '0' * 64}
    nodes = [pxe_lab.Node(1, image=bad), pxe_lab.Node(2)]
    with pxe_lab.PxeLab(tmp_path, nodes) as lab:
        task = _wait(lab, _create(lab, 'provision_nodes',
                                  ['node01', 'node02']))
        assert task['result']['status'] == 'partial_success', \
            _messages(task)
        messages = _node_messages(task)
        assert any(m.startswith('node node01: image checksum mismatch: '
                                'got sha256 ' + lab.image_sha256)
                   for m in messages['node01']), messages
        assert lab.json('node', 'show', 'node02')['status'] == 'provisioned'
        failed = lab.json('node', 'show', 'node01')
        assert failed['status'] == 'error'
        assert 'image checksum mismatch' in failed['error_msg']
        rows = {r['task_name']: r for r in _history(lab, task['id'])['1']}
        assert rows['write_image']['status'] == 'error'
        assert rows['reboot']['status'] in ('pending', 'error', 'skipped')
        # The wiped disk never boots the bad image.
        assert 'drydock test OS booted' not in lab.serial(nodes[0])
        _destroy_wipes_the_deployed_disk(lab, tmp_path / 'node02.img')


def _disk_head(path, mib=4):
    with open(path, 'rb') as disk:
        return disk.read(mib << 20)


def _destroy_wipes_the_deployed_disk(lab, disk):
    """node02 holds the test OS (and is off: the OS powers off after its
    first boot). A dry run of destroy_nodes touches nothing; the real one
    boots the deploy ramdisk, whose agent zeroes the disk's head and tail
    and powers the node off."""
    deployed = hashlib.sha256(_disk_head(disk)).hexdigest()
    assert _disk_head(disk, 1)[510:512] == b'\x55\xaa', 'no boot sector'
    dry = lab.json('task', 'create', 'destroy_nodes', '--design-ref',
                   'file://%s' % lab.design, '--nodes', 'node02',
                   '--dry-run')
    assert _node_messages(dry)['node02'] == [
        'Dry run: would set PXE boot on node02 and power-cycle it through '
        'its BMC at 127.0.0.1:%d, then wait for its agent to wipe its '
        'disks and power it off' % lab.fleet.machines[1]['port']]
    assert hashlib.sha256(_disk_head(disk)).hexdigest() == deployed
    assert lab.fleet.ipmitool(1, 'power', 'status').stdout.strip() == \
        'Chassis Power is off'
    assert lab.json('node', 'show', 'node02')['status'] == 'provisioned'

    task = _wait(lab, _create(lab, 'destroy_nodes', ['node02']))
    assert task['result']['status'] == 'success', _messages(task)
    assert _node_messages(task)['node02'][-1] == \
        'node node02: disks wiped, powering off'
    rows = {r['task_name']: r for r in lab.json(
        'task', 'history', 'show', str(task['id']), '--include-summary')}
    assert {name: r['status'] for name, r in rows.items()} == {
        'boot': 'ready', 'inspect': 'ready', 'wipe': 'ready'}
    assert rows['wipe']['summary'] == {'disks': 'vda'}
    assert rows['boot']['time_start'] <= rows['wipe']['time_end']
    assert _disk_head(disk) == bytes(4 << 20)
    with open(disk, 'rb') as image:
        image.seek(-(1 << 20), 2)
        assert image.read() == bytes(1 << 20), 'first-boot record left'
    shown = lab.json('node', 'show', 'node02')
    assert (shown['status'], shown['power_state']) == ('discover', 'off')
    qemu_support.wait_for(
        lambda: lab.fleet.ipmitool(1, 'power', 'status').stdout.strip()
        == 'Chassis Power is off', 60, 'node02 off after the wipe')
    assert 'drydock-agent: action: wipe' in lab.serial(lab.nodes[1])


def test_small_disk_wrong_token_and_unknown_mac(tmp_path):
    nodes = [pxe_lab.Node(1, disk_mb=16), pxe_lab.Node(2),
             pxe_lab.Node(3, design_mac='52:54:00:77:00:99')]
    # The unknown MAC's node fails at the boot service's deadline, long
    # before the agent deadline.
    with pxe_lab.PxeLab(tmp_path, nodes, provision_timeout=600,
                        netboot_timeout=90) as lab:
        started = time.monotonic()
        task_id = _create(lab, 'provision_nodes',
                          ['node01', 'node02', 'node03'])
        # A caller without node02's token: refused, and node02's
        # provisioning ends there (its own agent is refused from then on).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            lab.agent_call(2, 'start', 'not-the-token')
            if 'wrong token' in str(_node_messages(_task(lab, task_id))):
                break
            time.sleep(1)
        task = _wait(lab, task_id)
        assert task['result']['status'] == 'failure', _messages(task)
        messages = _node_messages(task)
        image_mb = 24
        assert any(m.startswith('node node01: disk vda has %d bytes, the '
                                'image needs %d' % (16 << 20, image_mb << 20))
                   for m in messages['node01']), messages
        assert 'node node02: agent call refused: wrong token' in \
            messages['node02']
        assert messages['node03'] == [
            'node node03: no network boot request within 90 s of its power '
            'cycle: its design MAC 52:54:00:77:00:99 never asked for an '
            'address; MACs not in the design did, and got no answer: '
            '52:54:00:77:00:03'], messages
        assert time.monotonic() - started < 300
        failed = lab.json('node', 'show', 'node03')
        assert failed['status'] == 'error'
        assert 'never asked for an address' in failed['error_msg']
        rows = {r['task_name']: r for r in _history(lab, task_id)['3']}
        assert rows['boot']['status'] == 'error'
        # The machine with a MAC the design does not know got no answer.
        boot_log = (tmp_path / 'boot.log').read_text()
        assert 'Node node03 boots the deploy ramdisk' not in boot_log
        assert 'DHCP from 52:54:00:77:00:03, which no node of the design ' \
            'has: not answered' in boot_log
        assert 'drydock-agent' not in lab.serial(nodes[2])


def test_inspect_nodes_stores_the_inventory(tmp_path):
    nodes = [pxe_lab.Node(1, memory_mb=320, disk_mb=48)]
    with pxe_lab.PxeLab(tmp_path, nodes) as lab:
        task = _wait(lab, _create(lab, 'inspect_nodes', ['node01']))
        assert task['result']['status'] == 'success', _messages(task)
        rows = _history(lab, task['id'])['1']
        assert sorted(r['task_name'] for r in rows) == ['boot', 'inspect']
        assert all(r['status'] == 'ready' for r in rows)
        inventory = lab.json('node', 'show', 'node01')['inventory']
        assert inventory['memory_mb'] == 320
        assert inventory['disks'][0]['size_bytes'] == 48 << 20
        # Inspection wrote nothing to the disk.
        with open(tmp_path / 'node01.img', 'rb') as disk:
            assert disk.read(1 << 20) == bytes(1 << 20)


def test_proxy_dhcp_beside_the_sites_dhcp_server(tmp_path):
    """The site's DHCP server hands out the address; drydock's dnsmasq,
    in proxy-DHCP mode, only adds the boot offer: the node PXE-boots
    through drydock to the agent (inspect_nodes)."""
    nodes = [pxe_lab.Node(1, memory_mb=272)]
    with pxe_lab.PxeLab(tmp_path, nodes, mode='proxy') as lab:
        task = _wait(lab, _create(lab, 'inspect_nodes', ['node01']))
        assert task['result']['status'] == 'success', (
            _messages(task), lab.serial(nodes[0])[-2000:])
        rows = _history(lab, task['id'])['1']
        assert {r['task_name']: r['status'] for r in rows} == {
            'boot': 'ready', 'inspect': 'ready'}
        assert lab.json('node', 'show', 'node01')['inventory'][
            'memory_mb'] == 272
        # The address came from the site's pool, never from drydock.
        site_log = (tmp_path / 'site-dhcp.log').read_text()
        assert 'DHCPACK(eth0) 10.77.0.1' in site_log and nodes[0].mac \
            in site_log
        boot_log = (tmp_path / 'boot.log').read_text()
        assert 'DHCP, proxy on subnet 10.77.0.0' in boot_log
        assert 'DHCPACK(br0)' not in boot_log and 'DHCPOFFER(br0)' \
            not in boot_log
        assert 'Node node01 boots the deploy ramdisk (inspect)' in boot_log
