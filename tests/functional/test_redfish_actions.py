"""Every node action on a site that mixes IPMI and Redfish BMCs
(:mod:`mixed_site`), through the CLI as an operator would."""

import json
import socket
import threading

import redfish_fixtures as rf
import mixed_site

make_site = mixed_site.make_site

def _redfish_power(site):
    return {'rf%02d' % site.uids[uuid]: site.emulator.power(uuid)
            for uuid in site.uids}


def test_every_node_action_on_a_mixed_site(make_site):
    site = make_site()
    nodes = '--nodes', '1,2,3,4,5'
    verify = site.run_task('verify_nodes', *nodes)
    assert verify['result']['status'] == 'success', verify['result']
    messages = site.node_messages(verify)
    assert 'credentials accepted, power off' in messages['rf03']['message']

    prepared = site.run_task('prepare_nodes', *nodes)
    assert prepared['result']['status'] == 'success', prepared['result']
    assert set(_redfish_power(site).values()) == {'off'}

    # drydock2 node power agrees with what the emulator reports.
    assert site.json('node', 'power', 'rf04', 'on')['power_state'] == 'on'
    assert site.emulator.power(rf.UUID % 4) == 'on'
    for name, state in _redfish_power(site).items():
        assert site.json('node', 'power', name,
                         'status')['power_state'] == state
    site.json('node', 'power', '4', 'off')
    assert site.emulator.power(rf.UUID % 4) == 'off'

    provisioned = site.run_task('provision_nodes', *nodes)
    assert provisioned['result']['status'] == 'success', \
        provisioned['result']
    listed = {n['name']: n for n in site.json('node', 'list')}
    for name in ('node01', 'node02', 'rf03', 'rf04', 'rf05'):
        assert listed[name]['status'] == 'provisioned', listed[name]
    assert sorted(site.agent.reported) == sorted(site.uids)
    for uuid in site.uids:
        assert site.emulator.boot(uuid) == 'Pxe'
    assert set(_redfish_power(site).values()) == {'on'}

    deployed = site.run_task('deploy_nodes', *nodes)
    assert deployed['result']['status'] == 'success', deployed['result']
    rows = site.json('task', 'history', 'show', str(deployed['id']),
                     '--tasks-names', 'reboot_node,power_down,power_up')
    assert len(rows) == 15, rows
    assert {r['status'] for r in rows} == {'ready'}
    assert set(_redfish_power(site).values()) == {'on'}

    destroyed = site.run_task('destroy_nodes', *nodes)
    assert destroyed['result']['status'] == 'success', destroyed['result']
    assert set(_redfish_power(site).values()) == {'off'}
    listed = {n['name']: n for n in site.json('node', 'list')}
    assert {listed[n]['status'] for n in listed} == {'discover'}
    assert listed['rf03']['power_state'] == 'off'


def _silent_endpoint():
    """A port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    sock.listen(64)
    held = []

    def accept():
        while True:
            try:
                held.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return sock, held


def test_broken_redfish_nodes_each_fail_clearly(make_site, tmp_path):
    site = make_site(debug=True, command_timeout=2, retries=2)
    silent, held = _silent_endpoint()
    try:
        good = rf.UUID % 3
        bad = {
            'rf-badpass': site.emulator.oob(good, credential='wrong-secret'),
            'rf-silent': site.emulator.oob(good, address='https://127.0.0.1:'
                                           '%d' % silent.getsockname()[1]),
            'rf-badcert': site.emulator.oob(good, ca_file=None),
            'rf-nosystem': site.emulator.oob('no-such-system'),
            'rf-refused': site.emulator.oob(good, address='https://127.0.0.1:'
                                            '%d' % rf.free_tcp_port()),
        }
        ids = [str(site.add_node(name, oob)) for name, oob in bad.items()]
        task = site.run_task('verify_nodes', '--nodes', ','.join(['3'] + ids))
    finally:
        silent.close()
        for conn in held:
            conn.close()
    assert task['result']['status'] == 'partial_success', task['result']
    messages = site.node_messages(task)
    assert not messages['rf03']['error']
    expected = {
        'rf-badpass': 'BMC of node rf-badpass refused the credentials',
        'rf-silent': 'BMC of node rf-silent did not answer after 2 tries',
        'rf-badcert': 'BMC of node rf-badcert at %s: its TLS certificate '
                      'did not verify' % site.emulator.url,
        'rf-nosystem': 'BMC of node rf-nosystem has no system '
                       'no-such-system',
        'rf-refused': 'BMC of node rf-refused did not answer after 2 tries',
    }
    for name, text in expected.items():
        assert messages[name]['error'], messages[name]
        assert messages[name]['message'].startswith(text), messages[name]
    shown = site.json('node', 'show', 'rf-badpass')
    assert 'refused the credentials' in shown['error_msg']
    # No credential anywhere: CLI output, daemon log (at DEBUG), emulator.
    outputs = [json.dumps(task), json.dumps(site.json('node', 'list')),
               (tmp_path / 'aio.log').read_text()]
    for secret in (site.emulator.password, 'wrong-secret'):
        for text in outputs:
            assert secret not in text
