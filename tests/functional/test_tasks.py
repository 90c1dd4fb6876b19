"""Tasks as operators expect them, on the embedded default."""

import json
import os
import time

import jsonschema
import pytest
import yaml

import conftest
from drydock_client import client as client_lib

SCHEMA = os.path.join(conftest.ROOT, 'docs', 'schemas', 'task-status.json')


@pytest.fixture
def aio(embedded_config, tmp_path, daemons):
    daemons('all-in-one', embedded_config, tmp_path / 'aio.log').wait_ready()
    return embedded_config


def _json(config, *args):
    result = conftest.drydock2(config, *args, '-f', 'json')
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _slow_site(tmp_path, duration=1.0):
    design = yaml.safe_load(open(conftest.DEMO_SITE))
    for task in design['deployment_tasks']:
        if 'parameters' in task:
            task['parameters']['duration'] = duration
    path = tmp_path / 'slow.yaml'
    path.write_text(yaml.safe_dump(design))
    return str(path)


def _wait_status(config, task_id, statuses, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = _json(config, 'task', 'show', str(task_id))
        if doc['status'] in statuses:
            return doc
        time.sleep(0.2)
    raise AssertionError('task %s still %s' % (task_id, doc['status']))


def test_task_document_matches_schema(aio):
    schema = json.load(open(SCHEMA))
    done = _json(aio, 'task', 'create', 'deploy_nodes', '--design-ref',
                 conftest.DEMO_SITE, '--nodes', 'node05,node06', '--wait')
    shown = _json(aio, 'task', 'show', str(done['id']))
    jsonschema.validate(shown, schema)
    assert shown['node_filter']['filter_set'][0]['node_names'] == [
        'node05', 'node06']
    assert shown['result']['details']['messageList']
    by_uuid = _json(aio, 'task', 'show', shown['task_id'])
    assert by_uuid == shown
    validated = _json(aio, 'task', 'create', 'validate_design',
                      '--design-ref', conftest.DEMO_SITE)
    jsonschema.validate(validated, schema)
    assert validated['result']['status'] == 'success'


def test_busy_nodes_refused_then_stop_and_delete(aio, tmp_path):
    first = _json(aio, 'task', 'create', 'deploy_nodes', '--design-ref',
                  _slow_site(tmp_path, 10.0), '--nodes', '5,6,7')
    _wait_status(aio, first['id'], ('running',))
    clash = conftest.drydock2(aio, 'task', 'create', 'deploy_nodes',
                              '--design-ref', conftest.DEMO_SITE,
                              '--nodes', '6', '7', '8')
    assert clash.returncode == 1
    assert clash.stderr.strip() == (
        'Nodes node06, node07 are held by task %d' % first['id'])

    stopped = _json(aio, 'task', 'stop', str(first['id']), '--wait')
    assert stopped['status'] == 'terminated'
    assert stopped['terminated_by'] and stopped['terminated']
    rows = _json(aio, 'task', 'history', 'show', str(first['id']))
    assert not [r for r in rows if r['status'] in ('pending', 'running')]
    assert 'skipped' in {r['status'] for r in rows}

    again = conftest.drydock2(aio, 'task', 'stop', str(first['id']))
    assert again.returncode == 1 and 'already ended' in again.stderr

    deleted = conftest.drydock2(aio, 'task', 'delete', str(first['id']))
    assert deleted.returncode == 0
    listed = _json(aio, 'task', 'list')
    assert first['id'] not in [t['id'] for t in listed]
    every = _json(aio, 'task', 'list', '--all')
    assert first['id'] in [t['id'] for t in every]
    assert _json(aio, 'task', 'history', 'show', str(first['id'])) == rows


@pytest.mark.parametrize('args, message', [
    (('task', 'create', 'reboot_everything', '--design-ref',
      conftest.DEMO_SITE), 'Action reboot_everything is not supported'),
    (('task', 'create', 'deploy_nodes', '--design-ref',
      conftest.DEMO_SITE, '--nodes', 'nosuchnode'),
     "Invalid input: node_filter.filter_set[0].node_names: the design has "
     "no node 'nosuchnode'"),
    (('task', 'create', 'deploy_nodes', '--design-ref',
      conftest.DEMO_SITE, '--racks', 'rack1', '--labels', 'zone=c'),
     'Invalid input: the node filter selects no node'),
    (('task', 'create', 'destroy_nodes', '--design-ref',
      conftest.DEMO_SITE),
     'Invalid input: destroy_nodes needs a node filter, or all_nodes=true '
     'for every node of the design (drydock2 task create destroy_nodes '
     '--all-nodes)'),
    (('task', 'create', 'provision_nodes', '--design-ref',
      conftest.DEMO_SITE, '--all-nodes', '--nodes', 'node01'),
     'Invalid input: all_nodes and node_filter exclude each other'),
    (('task', 'show', '\u00b2'), 'Task \u00b2 not found'),
    (('task', 'create', 'deploy_nodes', '--design-ref',
      'file://relative.yaml'), 'needs an absolute path'),
    (('task', 'show', '12345'), 'Task 12345 not found'),
    (('task', 'delete', 'no-such-uuid'), 'Task no-such-uuid not found'),
])
def test_clear_one_line_errors(aio, args, message):
    result = conftest.drydock2(aio, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.parametrize('option', ['--nodes', '--racks', '--tags'])
def test_an_empty_selection_is_a_usage_error(embedded_config, option):
    """``--nodes "$UNSET"`` used to select every node of the site."""
    result = conftest.drydock2(embedded_config, 'task', 'create',
                               'destroy_nodes', '--design-ref',
                               conftest.DEMO_SITE, option, '')
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "drydock2 task create: error: %s is empty: name at least one (an "
        "empty value never means all) (see 'drydock2 task create --help')"
        % option)


def test_task_list_pages_by_id(aio):
    for _ in range(3):
        _json(aio, 'task', 'create', 'validate_design', '--design-ref',
              conftest.DEMO_SITE)
    everything = [t['id'] for t in _json(aio, 'task', 'list')]
    assert everything == sorted(everything, reverse=True)
    first = [t['id'] for t in _json(aio, 'task', 'list', '--limit', '2')]
    assert first == everything[:2]
    rest = [t['id'] for t in _json(aio, 'task', 'list', '--limit', '2',
                                   '--marker', str(first[-1]))]
    assert rest == everything[2:4]


def test_dry_run_prints_the_graph_and_touches_no_node(aio):
    result = conftest.drydock2(aio, 'task', 'create', 'deploy_nodes',
                               '--design-ref', conftest.DEMO_SITE, '--nodes',
                               '5,6', '--dry-run', '--wait', '-f', 'json')
    assert result.returncode == 0, result.stderr
    assert 'Dry run of task 1: 4 nodes, ' in result.stderr
    assert '  5: ' in result.stderr and 'netconfig' in result.stderr
    assert '  sync: ' in result.stderr and '  master: ' in result.stderr
    rows = _json(aio, 'task', 'history', 'show', '1')
    assert rows and {r['status'] for r in rows} == {'skipped'}
    assert _json(aio, 'task', 'show', '1')['dry_run'] is True
    # Not even registered: a dry run writes no node.
    assert _json(aio, 'node', 'list') == []


def test_history_of_more_than_a_page_is_one_json_document(aio, tmp_path):
    """The CLI fetches every page (10,000 rows each) and prints one
    document, in the history's order."""
    design = {'nodes': [{'id': i, 'name': 'n%04d' % i, 'roles': ['r']}
                        for i in range(1, 1281)],
              'deployment_tasks': [
                  {'id': 'task%d' % t, 'type': 'shell', 'roles': ['r'],
                   'requires': ['task%d' % (t - 1)] if t else [],
                   'parameters': {'command': 'x'}} for t in range(8)]}
    path = tmp_path / 'big.yaml'
    path.write_text(yaml.safe_dump(design))
    task = _json(aio, 'task', 'create', 'deploy_nodes', '--design-ref',
                 str(path), '--dry-run', '--wait')
    rows = _json(aio, 'task', 'history', 'show', str(task['id']))
    assert len(rows) == 1280 * 8 > client_lib.HISTORY_PAGE
    keys = [(int(r['node_id']), r['task_name']) for r in rows]
    assert len(set(keys)) == len(keys)
    assert {r['status'] for r in rows} == {'skipped'}
    one = _json(aio, 'task', 'history', 'show', str(task['id']), '--nodes',
                '7')
    assert [r['task_name'] for r in one] == ['task%d' % t for t in range(8)]


def test_design_validate_lists_every_problem(embedded_config, tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text(yaml.safe_dump({
        'nodes': [{'id': 1, 'name': 'a', 'oob': {'address': '300.1.1.1',
                                                 'account': 'x'}},
                  {'id': 1, 'name': 'a', 'roles': ['x']}],
        'deployment_tasks': [{'id': 't1', 'type': 'bogus',
                              'requires': ['zz']}]}))
    result = conftest.drydock2(embedded_config, 'design', 'validate',
                               str(bad), '-f', 'json')
    assert result.returncode == 1
    problems = {p['context'] for p in json.loads(result.stdout)}
    assert problems == {'node a.oob.address', 'node a.oob.credential',
                        'node a.name', 'node a.id',
                        'deployment_task t1.type',
                        'deployment_task t1.requires'}
    assert 'Design has 6 problems' in result.stderr
    good = conftest.drydock2(embedded_config, 'design', 'validate',
                             conftest.DEMO_SITE)
    assert good.returncode == 0, good.stderr


def test_power_graph_tasks_go_through_the_oob_driver(tmp_path, daemons):
    config = conftest.write_config(
        tmp_path / 'fake-oob.conf', DEFAULT={'state_path': tmp_path},
        executor={'report_interval': 0.05, 'oob_driver': 'fake'},
        receiver={'batch_window_ms': 20}, site=dict(conftest.TEST_SITE))
    daemons('all-in-one', config, tmp_path / 'aio.log').wait_ready()
    design = yaml.safe_load(open(conftest.DEMO_SITE))
    design['deployment_tasks'].append(
        {'id': 'reboot_into_new_kernel', 'type': 'reboot',
         'roles': ['compute'], 'requires': ['install_packages'],
         'required_for': ['compute_services']})
    path = tmp_path / 'reboot.yaml'
    path.write_text(yaml.safe_dump(design))
    done = _json(config, 'task', 'create', 'deploy_nodes', '--design-ref',
                 str(path), '--nodes', '5,6', '--wait')
    assert done['result']['status'] == 'success', done['result']
    rows = _json(config, 'task', 'history', 'show', str(done['id']),
                 '--tasks-names', 'reboot_into_new_kernel')
    assert [(r['node_id'], r['status']) for r in rows] == [('5', 'ready'),
                                                          ('6', 'ready')]
