"""drydock-fakebmc as a process: its CLI, ipmitool, and 200+ BMCs."""

import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml

import fakebmc_fixtures as fx
from drydockd.common import exception
from drydockd.fakebmc import calllog
from drydockd.oob import ipmi


def ipmitool(node, *command):
    """``ipmitool -I lanplus -C 3`` against ``node``; the password goes
    through the environment, not the command line."""
    tool = shutil.which('ipmitool')
    if tool is None:
        pytest.fail('ipmitool is not installed; install it with '
                    '"apt-get install -y ipmitool" (.ci/run does)')
    return subprocess.run(
        [tool, '-I', 'lanplus', '-C', '3', '-H', node.address,
         '-p', str(node.port), '-U', node.account, '-E'] + list(command),
        env=dict(os.environ, IPMI_PASSWORD=node.credential),
        capture_output=True, text=True, timeout=30)


def test_design_file_and_clean_stop(tmp_path):
    with fx.FleetProcess(tmp_path, 12, '--fault', 'node03:wrongpass',
                         '--log-level', 'WARNING') as fleet:
        text = (tmp_path / 'site.yaml').read_text()
        assert oct(os.stat(tmp_path / 'site.yaml').st_mode & 0o777) \
            == '0o600'
        design = yaml.safe_load(text)
        assert list(design) == ['nodes', 'deployment_tasks']
        assert design['deployment_tasks'] == []
        first = design['nodes'][0]
        assert first == {
            'id': 1, 'name': 'node01', 'roles': ['compute'],
            'rack': 'rack1', 'labels': {}, 'tags': [],
            'oob': {'type': 'ipmi', 'address': '127.0.0.1',
                    'port': fleet.base_port, 'account': 'admin',
                    'credential': first['oob']['credential']}}
        assert isinstance(first['oob']['credential'], str)
        assert [n['id'] for n in design['nodes']] == list(range(1, 13))
        assert design['nodes'][11]['name'] == 'node12'
        assert design['nodes'][11]['oob']['port'] == fleet.base_port + 11
        assert ('    oob: {type: ipmi, address: 127.0.0.1, port: %d, '
                'account: admin, credential: %s}'
                % (fleet.base_port, first['oob']['credential'])) in text
        assert fleet.stop() == 0


def test_first_id_numbers_a_fleet_as_part_of_a_larger_site(tmp_path):
    """Several processes serve one site: ids, names and faults (given by
    id) start at --first-id."""
    with fx.FleetProcess(tmp_path, 3, '--first-id', '998', '--fault',
                         '999:wrongpass', '--log-level', 'WARNING') as fleet:
        nodes = fleet.design['nodes']
        assert [(n['id'], n['name']) for n in nodes] == [
            (998, 'node0998'), (999, 'node0999'), (1000, 'node1000')]
        assert [n['oob']['port'] for n in nodes] == [
            fleet.base_port + i for i in range(3)]
        driver = ipmi.IPMIDriver(fx.make_conf(command_timeout=5, retries=1))
        assert driver.get_power_state(fleet.nodes[0]) == 'off'
        with pytest.raises(exception.OOBAuthFailed):
            driver.get_power_state(fleet.nodes[1])
        assert fleet.stop() == 0


@pytest.mark.parametrize('first_id', ['0', '-5', 'x'])
def test_a_bad_first_id_is_refused_in_one_line(tmp_path, first_id):
    done = subprocess.run(
        [sys.executable, '-m', 'drydockd.fakebmc.command', '--count', '2',
         '--base-port', str(fx.free_udp_ports(2)), '--first-id', first_id,
         '--write-design', str(tmp_path / 'site.yaml')],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert '--first-id' in done.stderr.splitlines()[-1]
    assert 'Traceback' not in done.stderr
    assert not (tmp_path / 'site.yaml').exists()


def test_ipmitool_power_status(tmp_path):
    with fx.FleetProcess(tmp_path, 2, '--fault', '2:wrongpass') as fleet:
        good, wrong = fleet.nodes
        result = ipmitool(good, 'power', 'status')
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == 'Chassis Power is off'
        assert ipmitool(good, 'power', 'on').returncode == 0
        assert ipmitool(good, 'power', 'status').stdout.strip() \
            == 'Chassis Power is on'
        assert ipmitool(wrong, 'power', 'status').returncode != 0


def test_boot_reports_and_faults(tmp_path):
    args = ('--boot-seconds', '0.3', '--fault', 'node02:neverboots')
    with fx.FleetProcess(tmp_path, 4, *args) as fleet:
        driver = ipmi.IPMIDriver(fx.make_conf(command_timeout=5, retries=1))
        for node in fleet.nodes[:2]:
            driver.set_boot_device(node, 'pxe')
            driver.reboot(node)
        driver.reboot(fleet.nodes[2])  # boots from disk: no report
        # node04 boots last; the fleet's boot timers fire in order, so
        # once it has reported, node02 and node03 would have too.
        driver.set_boot_device(fleet.nodes[3], 'pxe')
        driver.reboot(fleet.nodes[3])
        deadline = time.monotonic() + 10
        while 'node04 reported provisioned' not in fleet.log():
            assert time.monotonic() < deadline, fleet.log()
            time.sleep(0.05)
        assert fleet.stop() == 0
    log = fleet.log()
    assert 'node02 reported' not in log and 'node03 reported' not in log


def test_two_hundred_bmcs_with_a_dead_and_a_slow_one(tmp_path):
    args = ('--fault', '201:noanswer', '--fault', '202:slow:3',
            '--log-level', 'WARNING')
    with fx.FleetProcess(tmp_path, 202, *args) as fleet:
        driver = ipmi.IPMIDriver(fx.make_conf(
            command_timeout=2.0, retries=2, retry_backoff=0.1,
            max_concurrency=64))
        finished = {}
        started = time.monotonic()

        def status(drv, node):
            try:
                return drv.get_power_state(node)
            finally:
                finished[node.name] = time.monotonic() - started

        results = ipmi.run_many(driver, fleet.nodes, status)
    healthy = [node.name for node in fleet.nodes[:200]]
    assert all(results[name] == 'off' for name in healthy), \
        {n: r for n, r in results.items() if r != 'off'}
    slowest_healthy = max(finished[name] for name in healthy)
    assert slowest_healthy < 3.0, slowest_healthy
    assert isinstance(results['node201'], exception.OOBUnreachable)
    assert str(results['node201']) == \
        'BMC of node node201 did not answer after 2 tries'
    assert isinstance(results['node202'], exception.OOBTimeout)
    assert 'node202' in str(results['node202'])


def test_call_log_records_every_packet_per_bmc(tmp_path):
    """The simulated hardware's own record, read from another process:
    ipmitool's session set-up and each command, on the BMC it reached."""
    log = tmp_path / 'calls.jsonl'
    with fx.FleetProcess(tmp_path, 2, '--power', 'on', '--call-log',
                         str(log)) as fleet:
        first, second = fleet.nodes
        assert calllog.read(log) == []
        status = ipmitool(first, 'power', 'status')
        assert status.stdout.strip() == 'Chassis Power is on', status.stderr
        assert ipmitool(first, 'power', 'off').returncode == 0
        entries = calllog.read(log)
    assert {e['node'] for e in entries} == {'node01'}
    commands = [(e['command'], e['detail']) for e in entries]
    assert ('open_session', None) in commands
    assert ('get_chassis_status', None) in commands
    assert commands.index(('get_chassis_status', None)) < commands.index(
        ('chassis_control', 'power off'))
    assert [c for c in commands if c[0] == 'chassis_control'] == [
        ('chassis_control', 'power off')]


def test_in_process_fleet_keeps_calls_per_node():
    fleet = fx.start_fleet(2)
    try:
        driver = ipmi.IPMIDriver(fx.make_conf(command_timeout=5, retries=1))
        driver.set_boot_device(fx.oob_info(fleet.specs[1]), 'pxe')
        names = [e['command'] for e in fleet.calls.of('node02')]
    finally:
        fleet.stop()
    assert 'open_session' in names and 'set_system_boot_options' in names
    assert fleet.calls.of('node01') == []
