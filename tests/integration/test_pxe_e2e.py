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
