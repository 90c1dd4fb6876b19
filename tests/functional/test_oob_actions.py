"""Node actions against simulated BMCs that speak real IPMI over UDP.

drydock-fakebmc serves the BMCs and plays each node's agent (it reports
``provisioned`` on the work plane); drydockd all-in-one drives them with
the pyghmi driver. Embedded default: SQLite and the broker-less work plane.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sqlite3
import time

import pytest
import yaml

import conftest
import mixed_site
from drydockd.fakebmc import calllog
from drydockd.fakebmc import fleet


class Site:
    """A fakebmc fleet plus an all-in-one daemon over its design."""

    def __init__(self, tmp_path, daemons, count, faults=(), debug=False,
                 provision_timeout=60, fleet_args=(), **overrides):
        self.tmp = tmp_path
        groups = {'DEFAULT': {'state_path': tmp_path, 'debug': debug},
                  'executor': {'report_interval': 0.05,
                               'oob_driver': 'ipmi'},
                  'receiver': {'batch_window_ms': 20},
                  'manager': {'provision_timeout': provision_timeout,
                              'lease_interval': 0.3},
                  'ipmi': {'command_timeout': 3, 'retries': 2,
                           'retry_backoff': 0.2}}
        for group, opts in overrides.items():
            groups[group].update(opts)
        self.config = conftest.write_config(tmp_path / 'drydock.conf',
                                            **groups)
        self.design = str(tmp_path / 'site.yaml')
        ready = tmp_path / 'fleet.ready'
        self.base = fleet.free_port_block(count)
        args = [os.path.join(conftest.BIN, 'drydock-fakebmc'), '--count',
                str(count), '--base-port', str(self.base), '--boot-seconds',
                '0.5', '--write-design', self.design, '--ready-file',
                str(ready), '--report-config', self.config,
                '--log-level', 'DEBUG' if debug else 'INFO']
        for fault in faults:
            args += ['--fault', fault]
        args += list(fleet_args)
        self.fleet_log = tmp_path / 'fakebmc.log'
        self.fleet = subprocess.Popen(args, stdout=open(self.fleet_log, 'w'),
                                      stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert self.fleet.poll() is None, self.fleet_log.read_text()
            assert time.monotonic() < deadline, 'fakebmc never got ready'
            time.sleep(0.05)
        self.daemon = daemons('all-in-one', self.config, tmp_path / 'aio.log')
        self.daemon.wait_ready()

    def cli(self, *args):
        return conftest.drydock2(self.config, *args)

    def json(self, *args):
        result = self.cli(*args, '-f', 'json')
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def run_task(self, action, *filters, timeout=60, design=None):
        task = self.json('task', 'create', action, '--design-ref',
                         design or self.design, *filters)
        return conftest.wait_task(self.config, task['id'], timeout)

    def subtasks(self, task_id):
        """``{node name: (status, result)}`` of a task's subtasks, read
        from the database as the receiver left it."""
        with sqlite3.connect(self.tmp / 'drydock.sqlite') as db:
            return {name: (status, result) for name, status, result in
                    db.execute('SELECT n.name, t.status, t.result_status '
                               'FROM tasks t JOIN nodes n ON n.id = '
                               't.node_id WHERE t.parent_id = ?',
                               (task_id,))}

    def password(self, name):
        for node in yaml.safe_load(open(self.design))['nodes']:
            if node['name'] == name:
                return node['oob']['credential']

    def stop(self):
        self.fleet.terminate()
        self.fleet.wait(10)


@pytest.fixture
def make_site(tmp_path, daemons):
    sites = []

    def make(count, **kwargs):
        site = Site(tmp_path, daemons, count, **kwargs)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.stop()


def _node_messages(task):
    return {m['context']: m for m in task['result']['details']['messageList']
            if m['context_type'] == 'node'}


def test_provision_twenty_nodes(make_site):
    site = make_site(20)
    task = site.run_task('provision_nodes', '--all-nodes')
    assert task['result']['status'] == 'success', task['result']
    assert len(task['subtask_id_list']) == 20
    messages = _node_messages(task)
    assert len(messages) == 20
    assert all('reported provisioned' in m['message']
               for m in messages.values())
    nodes = site.json('node', 'list')
    assert {n['status'] for n in nodes} == {'provisioned'}
    assert {n['power_state'] for n in nodes} == {'on'}


def test_faulty_nodes_end_in_clear_errors(make_site):
    site = make_site(6, faults=['node01:wrongpass', 'node02:unbound',
                                'node03:neverboots'], provision_timeout=15)
    task = site.run_task('provision_nodes', '--all-nodes')
    assert task['result']['status'] == 'partial_success', task['result']
    messages = _node_messages(task)
    assert messages['node01']['error']
    assert re.search('node01.*credential', messages['node01']['message'])
    assert messages['node02']['error']
    assert re.search('node02.*did not answer', messages['node02']['message'])
    assert messages['node03']['error']
    assert 'node03 did not report back' in messages['node03']['message']
    for name in ('node04', 'node05', 'node06'):
        assert not messages[name]['error']
    nodes = {n['name']: n for n in site.json('node', 'list')}
    for name in ('node01', 'node02', 'node03'):
        assert nodes[name]['status'] == 'error'
    assert not [n for n in nodes.values()
                if n['status'] in ('provisioning', 'removing')]
    assert not [t for t in site.json('task', 'list')
                if t['status'] in ('queued', 'running', 'terminating')]


def test_ipmitool_agrees_with_drydock(make_site):
    ipmitool = shutil.which('ipmitool')
    assert ipmitool, 'ipmitool missing: .ci/run installs it'
    site = make_site(2)
    assert site.run_task('verify_nodes')['result']['status'] == 'success'

    def ipmitool_status():
        out = subprocess.run(
            [ipmitool, '-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p',
             str(site.base), '-U', 'admin', '-P', site.password('node01'),
             'power', 'status'], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().rsplit(' ', 1)[-1]

    def drydock_status():
        return site.json('node', 'power', 'node01', 'status')['power_state']

    assert site.json('node', 'power', '1', 'on')['power_state'] == 'on'
    assert ipmitool_status() == 'on' == drydock_status()
    site.json('node', 'power', 'node01', 'off')
    assert ipmitool_status() == 'off' == drydock_status()


def test_no_password_anywhere(make_site, tmp_path):
    site = make_site(4, debug=True, faults=['node02:wrongpass'])
    passwords = {site.password('node%02d' % i) for i in range(1, 5)}
    site.run_task('provision_nodes', '--all-nodes')
    site.run_task('verify_nodes')
    outputs = [site.cli('node', 'power', 'node02', 'status'),
               site.cli('task', 'list')]
    for fmt in ('table', 'json', 'yaml', 'csv', 'value'):
        for args in (('task', 'show', '1'), ('node', 'list'),
                     ('node', 'show', 'node02')):
            outputs.append(site.cli(*args, '-f', fmt))
    for result in outputs:
        for password in passwords:
            assert password not in result.stdout + result.stderr
    site.stop()
    site.daemon.stop()
    blobs = {'aio.log': (tmp_path / 'aio.log').read_bytes(),
             'fakebmc.log': site.fleet_log.read_bytes()}
    for name in ('drydock.sqlite', 'workplane.sqlite'):
        db = sqlite3.connect(str(tmp_path / name))
        for (table,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'"):
            rows = db.execute('SELECT * FROM "%s"' % table).fetchall()
            blobs['%s:%s' % (name, table)] = repr(rows).encode()
        db.close()
    # The work messages themselves: the SQL transport keeps every one,
    # with its body base64-encoded inside a JSON payload.
    db = sqlite3.connect(str(tmp_path / 'workplane.sqlite'))
    payloads = db.execute('SELECT payload FROM kombu_message').fetchall()
    bodies = [base64.b64decode(json.loads(p)['body']) for (p,) in payloads]
    db.close()
    blobs['work messages'] = b'\n'.join(bodies)
    assert b'image_provision' in blobs['work messages']
    assert b'node_agent_resp' in blobs['work messages']
    for where, blob in blobs.items():
        for password in passwords:
            assert password.encode() not in blob, where


# A graph whose every task would reach a node or its BMC.
POWER_GRAPH = mixed_site.GRAPH


def test_dry_run_of_every_action_touches_no_bmc(make_site, tmp_path):
    """Every action's dry run, through the CLI, against BMCs that keep
    their own log: not one packet reaches a BMC, no node is reserved or
    changes, every task records dry_run and what it would have touched.
    A real verify_nodes afterwards shows the log records traffic and that
    every node is still on."""
    log = tmp_path / 'bmc-calls.jsonl'
    site = make_site(3, fleet_args=['--power', 'on', '--call-log',
                                    str(log)])
    design = yaml.safe_load(open(site.design))
    design['deployment_tasks'] = POWER_GRAPH
    power_design = tmp_path / 'power-site.yaml'
    power_design.write_text(yaml.safe_dump(design))
    ports = {n['name']: n['oob']['port'] for n in design['nodes']}
    # Registers the nodes (node power needs them); reads no BMC.
    assert site.run_task('prepare_site')['result']['status'] == 'success'

    dry = [('verify_nodes', '--nodes', 'node01'),
           ('prepare_nodes', '--nodes', 'node01,node02'),
           ('provision_nodes', '--all-nodes'),
           ('destroy_nodes', '--nodes', 'node03'),
           ('destroy_nodes', '--all-nodes'),
           ('verify_site',), ('prepare_site',), ('validate_design',)]
    tasks = [site.run_task(action, '--dry-run', *args)
             for action, *args in dry]
    deploy = site.run_task('deploy_nodes', '--dry-run', '--nodes',
                           'node01,node02', design=str(power_design))
    powers = [site.cli('node', 'power', 'node02', verb, '--dry-run')
              for verb in ('on', 'off', 'cycle', 'status')]

    assert calllog.read(log) == []            # the hardware saw nothing
    for result in powers:
        assert result.returncode == 0, result.stderr
    assert 'Dry run: would power off node02 through its BMC at ' \
        '127.0.0.1:%d' % ports['node02'] in powers[1].stderr
    for task in tasks + [deploy]:
        assert task['dry_run'] is True, task
        assert task['status'] == 'complete', task
        assert task['result']['status'] == 'success', task['result']
    said = {t['id']: _node_messages(t) for t in tasks}
    destroy_one, destroy_all = tasks[3], tasks[4]
    assert set(said[destroy_one['id']]) == {'node03'}
    assert said[destroy_one['id']]['node03']['message'] == (
        'Dry run: would power off node03 through its BMC at 127.0.0.1:%d '
        'and return it to discover' % ports['node03'])
    assert set(said[destroy_all['id']]) == {'node01', 'node02', 'node03'}
    assert set(said[tasks[1]['id']]) == {'node01', 'node02'}
    assert 'set PXE boot on node02' in \
        said[tasks[2]['id']]['node02']['message']
    assert destroy_all['result']['message'].startswith(
        'Dry run of destroy_nodes: would touch 3 nodes (node01, node02, '
        'node03); no BMC or node was contacted')
    assert tasks[6]['result']['message'] == \
        'Dry run: would register 3 nodes from the design'
    assert not destroy_one['subtask_id_list']
    rows = site.json('task', 'history', 'show', str(deploy['id']))
    assert {(r['node_id'], r['task_name']) for r in rows} >= {
        (n, t['id']) for n in ('1', '2') for t in POWER_GRAPH}
    assert {r['status'] for r in rows} == {'skipped'}
    nodes = site.json('node', 'list')
    assert [(n['status'], n['reservation'], n['power_state'])
            for n in nodes] == [('discover', None, None)] * 3

    # The control: a real action does reach the BMCs, and finds them on.
    assert site.run_task('verify_nodes', '--nodes', 'node01,node02,node03'
                         )['result']['status'] == 'success'
    entries = calllog.read(log)
    assert {e['node'] for e in entries
            if e['command'] == 'get_chassis_status'} == set(ports)
    assert not [e for e in entries if e['command'] == 'chassis_control']
    assert {n['power_state'] for n in site.json('node', 'list')} == {'on'}


def test_node_action_result_details(make_site):
    """errorCount counts every error message of the task, not only the
    last; each finished subtask shows progress 100 and a node filter
    naming its node; a node that failed was stamped when it did."""
    site = make_site(3, faults=['node01:wrongpass', 'node02:unbound'])
    task = site.run_task('verify_nodes')
    result = task['result']
    assert (result['status'], result['message']) == (
        'partial_success', '1 of 3 nodes succeeded, 2 failed')
    errors = [m for m in result['details']['messageList'] if m['error']]
    assert len(errors) == 3      # node01, node02 and the result
    assert result['details']['errorCount'] == 3
    failed = {'node01', 'node02'}
    named = set()
    for uuid in task['subtask_id_list']:
        sub = site.json('task', 'show', uuid)
        (name,) = sub['node_filter']['filter_set'][0]['node_names']
        named.add(name)
        assert (sub['status'], sub['progress']) == ('complete', 100), sub
        assert sub['result']['status'] == (
            'failure' if name in failed else 'success')
        assert sub['result']['details']['errorCount'] == int(name in failed)
    assert named == {'node01', 'node02', 'node03'}
    for name in failed:
        node = site.json('node', 'show', name)
        assert node['status'] == 'error'
        assert node['updated'] >= task['updated'], (node, task['updated'])


def test_healthy_results_do_not_wait_for_a_dead_bmc(make_site):
    """A node's result leaves within the report interval on the
    reporter's own timer: the healthy nodes' subtasks are settled while
    the dead BMC is still being retried (they once waited for it)."""
    site = make_site(4, faults=['node01:noanswer'],
                     ipmi={'command_timeout': 2, 'retries': 3,
                           'retry_backoff': 0.5})
    task = site.json('task', 'create', 'verify_nodes', '--design-ref',
                     site.design)
    healthy = {'node02', 'node03', 'node04'}
    deadline = time.monotonic() + 60
    while True:
        subtasks = site.subtasks(task['id'])
        if {n for n, (status, _) in subtasks.items()
                if status == 'complete'} >= healthy:
            break
        assert time.monotonic() < deadline, subtasks
        time.sleep(0.05)
    assert subtasks['node01'][0] != 'complete', subtasks
    assert {subtasks[n] for n in healthy} == {('complete', 'success')}
    waited = site.cli('task', 'wait', str(task['id']), '-f', 'json')
    assert waited.returncode == 1      # not a success: node01 failed
    assert json.loads(waited.stdout)['result']['status'] == \
        'partial_success'


def test_a_long_bmc_wait_keeps_its_task_alive(make_site):
    """Heartbeats run on their own timer: a BMC that takes far longer
    than [manager] executor_timeout to answer does not get its healthy
    task failed by the reaper."""
    site = make_site(2, faults=['node01:slow:1.5'],
                     manager={'executor_timeout': 2},
                     executor={'heartbeat_interval': 0.3},
                     ipmi={'command_timeout': 40, 'retries': 1})
    started = time.monotonic()
    task = site.run_task('verify_nodes', timeout=90)
    assert time.monotonic() - started > 2 * 2, 'the BMC was not slow'
    assert task['result']['status'] == 'success', task['result']
    assert 'stopped reporting' not in json.dumps(task)


def test_destroy_leaves_netbooting_nodes_to_their_agent(make_site):
    """node01 has a boot.mac: destroy_nodes sets PXE and power-cycles it
    and waits for its agent's wipe (none runs here, and the simulator's
    "provisioned" does not count, so it fails at the deadline); node02
    has none and is powered off through its BMC at once."""
    site = make_site(2, provision_timeout=6)
    design = yaml.safe_load(open(site.design))
    design['nodes'][0]['boot'] = {'mac': '52:54:00:12:00:01'}
    with open(site.design, 'w') as out:
        yaml.safe_dump(design, out)
    assert site.run_task('prepare_nodes',
                         '--all-nodes')['result']['status'] == 'success'
    task = site.run_task('destroy_nodes', '--all-nodes', timeout=90)
    messages = _node_messages(task)
    assert messages['node02']['message'] == \
        'powered off and returned to discover'
    assert 'node01 did not report back' in messages['node01']['message']
    assert messages['node01']['error'] and not messages['node02']['error']
    rows = site.json('task', 'history', 'show', str(task['id']))
    assert {(r['node_id'], r['task_name']) for r in rows} == {
        ('1', 'boot'), ('1', 'inspect'), ('1', 'wipe')}
    nodes = {n['name']: n for n in site.json('node', 'list')}
    assert (nodes['node02']['status'], nodes['node02']['power_state']) == (
        'discover', 'off')
    assert nodes['node01']['status'] == 'error'
    fleet_log = site.fleet_log.read_text()
    assert 'node01' in fleet_log and 'Node node01 reported provisioned' in \
        fleet_log, 'node01 was never network-booted'
