"""End to end: drydock PXE-boots QEMU machines through its own dnsmasq
and iPXE, its agent inspects them and writes an OS image, and the nodes
boot that OS from disk and report their first boot.

Root, a network namespace with a bridge and a tap per node, TCG QEMU.
Nothing is simulated: the BMCs are drydock-fakebmc --qemu, whose IPMI
power starts and stops the QEMU processes.
"""

import time

import pxe_lab

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
    return lab.json('task', 'list')[-1]['id']


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


def test_small_disk_wrong_token_and_unknown_mac(tmp_path):
    nodes = [pxe_lab.Node(1, disk_mb=16), pxe_lab.Node(2),
             pxe_lab.Node(3, design_mac='52:54:00:77:00:99')]
    with pxe_lab.PxeLab(tmp_path, nodes, provision_timeout=150) as lab:
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
        assert any(m.startswith('node node03 did not report back before')
                   for m in messages['node03']), messages
        # The machine with a MAC the design does not know got no answer.
        boot_log = (tmp_path / 'boot.log').read_text()
        assert 'Node node03 boots the deploy ramdisk' not in boot_log
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
