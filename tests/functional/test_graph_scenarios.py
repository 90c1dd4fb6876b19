"""Hand-checked deployment graphs: order and timing from the history rows.

Each scenario goes design tasks -> serializer -> Engine with the fake
transport -> the real Reporter -> rows replayed with the receiver's
transition rule (graph_history.Run). Tasks take 50 ms; timing assertions
allow generous slack above the ideal (CI machines are shared) but none
below it.
"""

import os
import sys
import time

import pytest

from drydockd.common import exception
from drydockd.site import design as design_mod
from drydockd.graph import serializer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir,
                                'unit', 'executor', 'engine'))
import graph_history  # noqa: E402

D = 0.05          # every task's duration
SLACK = 0.35      # scheduling slack allowed above an ideal makespan
EPS = 0.004       # wall clock vs the transport's monotonic clock

DEMO_SITE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                         'etc', 'drydock', 'demo-site.yaml')


def _nodes(*roles):
    return [{'id': i, 'name': 'node%02d' % i, 'roles': [role]}
            for i, role in enumerate(roles, 1)]


def _shell(name, roles, duration=D, **extra):
    params = dict(extra.pop('parameters', {}), command=name,
                  duration=duration)
    return dict({'id': name, 'type': 'shell', 'roles': roles,
                 'parameters': params}, **extra)


def _run(tasks, nodes, roles=None, **kwargs):
    graph, metadata = serializer.serialize(tasks, nodes, roles)
    return graph_history.Run(graph, metadata, **kwargs).run()


def _span(run, rows):
    return (max(r['time_end'] for r in rows)
            - min(r['time_start'] for r in rows)).total_seconds()


def test_diamond_across_three_nodes():
    tasks = [
        _shell('top', ['a']),
        _shell('left', ['b'], cross_depends=[{'name': 'top', 'role': 'a'}]),
        _shell('right', ['c'], cross_depends=[{'name': 'top', 'role': 'a'}]),
        _shell('bottom', ['a'], requires=['top'],
               cross_depends=[{'name': 'left', 'role': 'b'},
                              {'name': 'right', 'role': 'c'}]),
    ]
    run = _run(tasks, _nodes('a', 'b', 'c'))
    assert run.status == 'ready'
    top, left = run.row(1, 'top'), run.row(2, 'left')
    right, bottom = run.row(3, 'right'), run.row(1, 'bottom')
    for row in (top, left, right, bottom):
        assert row['status'] == 'ready'
        assert (row['time_end'] - row['time_start']).total_seconds() \
            >= D - EPS
    assert left['time_start'] >= top['time_end']
    assert right['time_start'] >= top['time_end']
    assert bottom['time_start'] >= max(left['time_end'], right['time_end'])
    # The two arms run side by side, not one after the other.
    assert abs((left['time_start'] - right['time_start'])
               .total_seconds()) < D / 2
    assert 3 * D - EPS <= _span(run, run.rows.values()) <= 3 * D + SLACK
    assert run.final_node_status() == {'1': 'ready', '2': 'ready',
                                       '3': 'ready'}


def test_one_by_one_over_five_nodes():
    tasks = [_shell('serial', ['*'],
                    parameters={'strategy': {'type': 'one_by_one'}})]
    run = _run(tasks, _nodes(*['x'] * 5), max_busy=10)
    intervals = sorted(run.intervals('serial'))
    assert len(intervals) == 5
    assert graph_history.max_overlap(intervals) == 1
    for (_, end, _, _), (start, _, _, _) in zip(intervals, intervals[1:]):
        assert start >= end       # strictly one after another
    assert 5 * D - EPS <= _span(run, run.rows.values()) <= 5 * D + SLACK


def test_parallel_amount_two():
    tasks = [_shell('pair', ['*'], parameters={
        'strategy': {'type': 'parallel', 'amount': 2}})]
    run = _run(tasks, _nodes(*['x'] * 6), max_busy=10)
    intervals = run.intervals('pair')
    assert len(intervals) == 6
    assert graph_history.max_overlap(intervals) == 2
    assert 3 * D - EPS <= _span(run, run.rows.values()) <= 3 * D + SLACK


def test_critical_node_failing_stops_its_group():
    roles = [{'name': 'controller', 'fault_tolerance': 0},
             {'name': 'compute', 'fault_tolerance': '50%'}]
    nodes = _nodes('controller', 'controller', 'compute', 'compute',
                   'compute', 'compute')
    tasks = [_shell('step1', ['*']),
             _shell('step2', ['*'], requires=['step1'], parameters={
                 'fail_on': ['1'], 'duration_on': {'1': 0.02},
                 'duration': 0.15}),
             _shell('step3', ['*'], requires=['step2']),
             _shell('step4', ['*'], requires=['step3'])]
    run = _run(tasks, nodes, roles, max_busy=10)

    assert run.status == 'error'
    assert 'fault tolerance of group controller exceeded' in run.final[-1][1]
    failed = run.row(1, 'step2')
    assert failed['status'] == 'error'
    assert 'simulated failure' in failed['error_msg']
    for name in ('step3', 'step4'):
        assert run.row(1, name)['status'] == 'error'
        assert run.row(1, name)['error_msg'].startswith('dependency ')
    for uid in range(2, 7):
        # Running when the controller failed: finished, not cut short.
        step2 = run.row(uid, 'step2')
        assert step2['status'] == 'ready'
        assert step2['time_end'] > failed['time_end']
        for name in ('step3', 'step4'):
            row = run.row(uid, name)
            assert row['status'] == 'skipped' and not row['ran']
            assert 'fault tolerance of group controller' in row['error_msg']
    # Nothing started after the failure.
    assert all(start <= failed['time_end']
               for start, _, _, _ in run.intervals())
    assert all(r['status'] in graph_history.TERMINAL
               for r in run.rows.values())
    assert run.final_node_status() == {
        '1': 'error', '2': 'stopped', '3': 'stopped', '4': 'stopped',
        '5': 'stopped', '6': 'stopped'}


def test_cycle_rejected_with_its_path():
    tasks = [_shell('a', ['*'], requires=['c']),
             _shell('b', ['*'], requires=['a']),
             _shell('c', ['*'], requires=['b'])]
    with pytest.raises(exception.GraphCycle) as caught:
        serializer.serialize(tasks, _nodes('x'))
    assert 'a -> c -> b -> a' in str(caught.value)

    across = [_shell('x', ['r1'], cross_depends=[{'name': 'y',
                                                  'role': 'r2'}]),
              _shell('y', ['r2'], cross_depends=[{'name': 'x',
                                                  'role': 'r1'}])]
    with pytest.raises(exception.GraphCycle) as caught:
        serializer.serialize(across, _nodes('r1', 'r2'))
    assert 'x@1 -> y@2 -> x@1' in str(caught.value)


def test_stop_mid_deployment_leaves_nothing_running_or_pending():
    tasks = [_shell('s1', ['*'])]
    tasks += [_shell('s%d' % i, ['*'], requires=['s%d' % (i - 1)])
              for i in range(2, 6)]
    graph, metadata = serializer.serialize(tasks, _nodes(*['x'] * 6))
    run = graph_history.Run(graph, metadata, max_busy=3).start()
    time.sleep(0.12)
    stopped_at = graph_history.schemas.utcnow()
    run.engine.stop()
    run.join()

    assert run.status == 'stopped'
    assert run.final[-1][0] == 'stopped'
    statuses = [r['status'] for r in run.rows.values()]
    assert 'pending' not in statuses and 'running' not in statuses
    assert 'ready' in statuses and 'skipped' in statuses
    for (uid, name), row in run.rows.items():
        if row['ran']:
            assert row['time_start'] <= stopped_at
            assert row['status'] == 'ready'
        else:
            assert row['status'] == 'skipped'
            assert row['error_msg'] == 'deployment stopped'
    last = run.final_node_status()
    assert set(last) == {str(i) for i in range(1, 7)}
    assert 'deploying' not in last.values()
    for uid, status in last.items():
        halted = any(not run.row(uid, t['id'])['ran'] for t in tasks)
        assert status == ('stopped' if halted else 'ready')


def test_demo_site_runs_to_all_ready():
    site = design_mod.load('file://' + os.path.abspath(DEMO_SITE))
    graph, metadata = serializer.serialize(
        site['deployment_tasks'], site['nodes'], site.get('roles'))
    run = graph_history.Run(graph, metadata).run()
    assert run.status == 'ready'
    assert {r['status'] for r in run.rows.values()} == {'ready'}
    last = run.final_node_status()
    assert last == {uid: 'ready' for uid in last}
    assert set(last) == {str(i) for i in range(1, 9)} | {'master'}
    repos = run.row('master', 'upload_repos')
    stage = run.row('null', 'pre_deployment_end')
    for uid in range(1, 9):
        install = run.row(uid, 'install_packages')
        assert install['time_start'] >= repos['time_end']
        assert install['time_start'] >= stage['time_end']
        assert stage['time_start'] >= run.row(uid, 'netconfig')['time_end']


def test_demo_site_partial_deploy_leaves_other_roles_out():
    site = design_mod.load('file://' + os.path.abspath(DEMO_SITE))
    computes = [n for n in site['nodes'] if n['id'] in (5, 6)]
    with pytest.raises(exception.GraphInvalid) as caught:
        serializer.serialize(site['deployment_tasks'], computes)
    assert 'task controller_services: no selected node has role ' \
        'controller' in str(caught.value)
    graph, metadata = serializer.serialize(
        site['deployment_tasks'], computes, site.get('roles'),
        design_nodes=site['nodes'])
    assert sorted(graph, key=str) == ['5', '6', 'master', 'null']
    run = graph_history.Run(graph, metadata).run()
    assert run.status == 'ready'
    assert {r['status'] for r in run.rows.values()} == {'ready'}
