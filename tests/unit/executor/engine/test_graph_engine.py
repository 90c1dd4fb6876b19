"""The graph engine's rules, one at a time, on hand-built tasks_graphs."""

import threading
import time

from drydockd.executor.engine import engine as engine_mod
from drydockd.executor.transports import base

import graph_history


def item(name, *requires, kind='shell', fail_on_error=True, **params):
    """A tasks_graph item; ``requires`` as ``(uid, name)`` pairs."""
    return {'id': name, 'type': kind, 'parameters': params,
            'fail_on_error': fail_on_error,
            'requires': [{'name': n, 'node_id': u} for u, n in requires]}


def run(graph, metadata=None, **kwargs):
    return graph_history.Run(graph, metadata, **kwargs).run()


class Silent(base.NodeTransport):
    """Never answers (a hung node agent)."""

    def __init__(self):
        self.started = []

    def start(self, uid, task, timeout, on_done):
        self.started.append((uid, task['id'], on_done))


class Broken(base.NodeTransport):
    def start(self, uid, task, timeout, on_done):
        raise OSError('no route to node %s' % uid)


def test_failure_fails_dependants_on_every_node_with_reason():
    graph = {'1': [item('a', fail=True), item('b', ('1', 'a'))],
             '2': [item('c', ('1', 'b')), item('free')],
             None: [item('stage', ('2', 'c'), kind='stage')]}
    result = run(graph)
    assert result.status == 'error'
    assert result.row(1, 'a')['error_msg'] == \
        'simulated failure of a on node 1'
    assert result.row(1, 'b')['error_msg'] == \
        'dependency a on node 1 failed'
    assert result.row(2, 'c')['error_msg'] == \
        'dependency b on node 1 failed'
    assert result.row('null', 'stage')['error_msg'] == \
        'dependency c on node 2 failed'
    assert result.row(2, 'free')['status'] == 'ready'
    for name in ('b', 'c'):
        row = result.row(1 if name == 'b' else 2, name)
        assert row['status'] == 'error' and not row['ran']
    assert result.final_node_status() == {'1': 'error', '2': 'error'}
    assert result.final[-1] == ('error', None)


def test_fail_on_error_false_is_skipped_and_dependants_go_on():
    graph = {'1': [item('a', fail=True, fail_on_error=False),
                   item('b', ('1', 'a'))]}
    result = run(graph)
    assert result.status == 'ready'
    assert result.row(1, 'a')['status'] == 'skipped'
    assert 'simulated failure' in result.row(1, 'a')['error_msg']
    assert result.row(1, 'b')['status'] == 'ready'
    assert result.final_node_status() == {'1': 'ready'}


def test_retries_keep_the_node_and_report_attempts():
    graph = {'1': [item('flaky', retries=2, fail_times=2, duration=0.02)],
             '2': [item('hopeless', retries=1, fail=True)]}
    result = run(graph)
    flaky = result.row(1, 'flaky')
    assert flaky['status'] == 'ready'
    assert flaky['summary']['attempts'] == 3
    assert (flaky['time_end'] - flaky['time_start']).total_seconds() >= 0.05
    hopeless = result.row(2, 'hopeless')
    assert hopeless['status'] == 'error'
    assert hopeless['summary']['attempts'] == 2


def test_timeout_from_parameters_and_default():
    graph = {'1': [item('slow', duration=5, timeout=0.05)],
             '2': [item('default', duration=5)]}
    started = time.monotonic()
    result = run(graph, default_timeout=0.05)
    assert time.monotonic() - started < 2
    for uid, name in (('1', 'slow'), ('2', 'default')):
        row = result.row(uid, name)
        assert row['status'] == 'error'
        assert row['error_msg'] == 'timed out after 0.05s'


def test_watchdog_fails_a_task_the_transport_never_answers():
    transport = Silent()
    graph = {'1': [item('hung', timeout=0.05), item('next', ('1', 'hung'))]}
    result = run(graph, transport=transport, watchdog_grace=0.05)
    assert result.row(1, 'hung')['status'] == 'error'
    assert 'no result from the node transport' in \
        result.row(1, 'hung')['error_msg']
    assert result.row(1, 'next')['status'] == 'error'
    # A late answer after the watchdog changes nothing.
    transport.started[0][2](True)


def test_transport_that_cannot_start_fails_the_task():
    result = run({'1': [item('a')]}, transport=Broken())
    assert result.row(1, 'a')['status'] == 'error'
    assert result.row(1, 'a')['error_msg'] == \
        'could not start: no route to node 1'


def test_instant_types_take_no_node():
    graph = {'1': [item('n', kind='noop'), item('s', kind='skipped'),
                   item('after', ('1', 'n'), ('1', 's'))],
             None: [item('stage', ('1', 'after'), kind='stage'),
                    item('sync', ('null', 'stage'), kind='sync')]}
    result = run(graph)
    assert result.status == 'ready'
    assert result.row(1, 's')['status'] == 'skipped'
    for uid, name in (('1', 'n'), ('null', 'stage'), ('null', 'sync')):
        row = result.row(uid, name)
        assert row['status'] == 'ready' and not row['ran']
        assert row['time_start'] == row['time_end']
    assert 'null' not in result.final_node_status()


def test_dry_run_touches_no_node():
    transport = Silent()
    graph = {'1': [item('a'), item('b', ('1', 'a'))], 'master': [item('m')]}
    result = run(graph, transport=transport, dry_run=True)
    assert result.status == 'ready'
    assert transport.started == []
    assert {r['status'] for r in result.rows.values()} == {'skipped'}
    assert {r['error_msg'] for r in result.rows.values()} == {'dry run'}
    assert result.nodes == {}


def test_cycle_in_tasks_graph_fails_every_row():
    graph = {'1': [item('a', ('2', 'b'))], '2': [item('b', ('1', 'a'))]}
    result = run(graph)
    assert result.status == 'error'
    assert {r['status'] for r in result.rows.values()} == {'error'}
    assert 'cycle' in result.final[-1][1]


def test_busy_node_limit_and_one_task_per_node():
    graph = {str(n): [item('a%d' % i, duration=0.01) for i in range(3)]
             for n in range(1, 6)}
    result = run(graph, max_busy=2)
    intervals = result.intervals()
    assert graph_history.max_overlap(intervals, key=lambda i: i[2]) == 2
    for uid in graph:
        mine = [i for i in intervals if i[2] == uid]
        assert graph_history.max_overlap(mine) == 1


def test_master_counts_as_busy_sync_node_does_not():
    graph = {'master': [item('m', duration=0.05)],
             '1': [item('a', duration=0.05)],
             None: [item('s', kind='stage')]}
    result = run(graph, max_busy=1)
    m, a = result.row('master', 'm'), result.row(1, 'a')
    assert m['time_end'] <= a['time_start'] or a['time_end'] <= \
        m['time_start']


def test_longest_chain_of_work_starts_first():
    chain = [item('head', duration=0.01)]
    chain += [item('c%d' % i, ('1', 'head' if i == 0 else 'c%d' % (i - 1)),
                   duration=0.01) for i in range(4)]
    graph = {'2': [item('lonely', duration=0.01)], '1': chain}
    result = run(graph, max_busy=1)
    assert result.row(1, 'head')['time_end'] <= \
        result.row(2, 'lonely')['time_start']


def test_more_dependants_breaks_ties():
    graph = {'1': [item('few', duration=0.01)],
             '2': [item('many', duration=0.01)],
             '3': [item('x', ('2', 'many')), item('y', ('2', 'many')),
                   item('z', ('1', 'few'), kind='noop')]}
    result = run(graph, max_busy=1)
    assert result.row(2, 'many')['time_end'] <= \
        result.row(1, 'few')['time_start']


def test_strategy_waiters_run_on_other_nodes_meanwhile():
    # 'serial' one_by_one on 3 nodes; each node also has independent work.
    graph = {str(n): [item('serial', duration=0.03,
                           strategy={'type': 'one_by_one'}),
                      item('other', duration=0.03)] for n in (1, 2, 3)}
    result = run(graph, max_busy=3)
    assert graph_history.max_overlap(result.intervals('serial')) == 1
    # Three serial slots of 0.03 s, the other tasks fitting around them.
    span = max(r['time_end'] for r in result.rows.values()) - \
        min(r['time_start'] for r in result.rows.values())
    assert span.total_seconds() < 0.09 + 0.25


def test_fault_tolerance_within_tolerance_goes_on():
    metadata = {'fault_tolerance_groups': [
        {'name': 'compute', 'node_ids': ['1', '2', '3'],
         'fault_tolerance': 1}]}
    graph = {str(n): [item('a', fail_on=['2']), item('b', ('%d' % n, 'a'))]
             for n in (1, 2, 3)}
    result = run(graph, metadata)
    assert result.status == 'error'
    assert result.final[-1] == ('error', None)
    assert result.row(1, 'b')['status'] == 'ready'
    assert result.final_node_status() == {'1': 'ready', '2': 'error',
                                          '3': 'ready'}


def test_fault_tolerance_exceeded_by_the_last_task_is_named():
    """The failure that exceeds the group is the deployment's last task:
    nothing is left to skip, and the result still names the group (it
    once did only when the engine's loop came round before the end)."""
    metadata = {'fault_tolerance_groups': [
        {'name': 'compute', 'node_ids': ['1'], 'fault_tolerance': 0}]}
    for _ in range(20):
        result = run({'1': [item('a', fail_on=['1'])]}, metadata)
        assert result.final[-1] == (
            'error', 'fault tolerance of group compute exceeded: 1 of 1 '
            'nodes failed, 0 allowed')
        assert result.final_node_status() == {'1': 'error'}


def test_stop_from_another_thread_before_anything_runs():
    graph = {'1': [item('a', duration=0.2), item('b', ('1', 'a'))],
             '2': [item('c', duration=0.2)]}
    result = graph_history.Run(graph, max_busy=1)
    result.engine.stop()
    result.run()
    assert result.status == 'stopped'
    assert {r['status'] for r in result.rows.values()} == {'skipped'}
    assert set(result.final_node_status().values()) == {'stopped'}


def test_reports_published_within_the_interval_during_quiet_periods():
    # After 'short' ends nothing happens for 0.75 s: its entries must not
    # wait for the next event (they would lag 0.75 s).
    graph = {'1': [item('long', duration=0.8)],
             '2': [item('short', duration=0.05)]}
    result = run(graph, interval=0.05)
    lags = []
    for body, published in zip(result.bodies, result.published):
        for entry in body['args'].get('nodes', []):
            seen = graph_history.schemas.parse_time(entry['time'])
            lags.append((published - seen).total_seconds())
    assert max(lags) <= 0.05 + 0.25, lags
    assert len(result.bodies) >= 3


def test_stop_is_safe_from_any_thread_while_running():
    graph = {str(n): [item('a', duration=0.05), item('b', ('%d' % n, 'a'),
                                                     duration=0.05)]
             for n in range(1, 4)}
    result = graph_history.Run(graph).start()
    threading.Timer(0.02, result.engine.stop).start()
    result.join()
    assert result.status == 'stopped'
    assert {result.row(n, 'a')['status'] for n in (1, 2, 3)} == {'ready'}
    assert {result.row(n, 'b')['status'] for n in (1, 2, 3)} == {'skipped'}


def test_engine_statuses_constant_names():
    assert engine_mod.STATUS[engine_mod.SKIPPED] == 'skipped'
    assert engine_mod.STOPPED == 'deployment stopped'
