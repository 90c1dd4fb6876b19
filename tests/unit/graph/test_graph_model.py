"""Graph model, strategy limits and fault-tolerance groups."""

import pytest

from drydockd.executor.engine import fault_tolerance
from drydockd.graph import model
from drydockd.graph import strategy


def item(name, *requires, kind='shell', **params):
    return {'id': name, 'type': kind, 'parameters': params,
            'requires': [{'name': n, 'node_id': u} for u, n in requires]}


def test_vertices_edges_and_sync_key():
    graph = model.Graph({
        '1': [item('a'), item('b', ('1', 'a'))],
        'null': [item('s', ('1', 'b'), kind='stage')],
        '2': [item('c', (None, 's'), ('3', 'ghost'))]})
    assert len(graph) == 4
    assert graph.uids == ['1', 'null', '2']
    named = {(graph.uid_of(v), graph.names[v]): v for v in range(4)}
    assert graph.requires[named[('2', 'c')]] == [named[('null', 's')]]
    assert graph.dependants[named[('1', 'a')]] == [named[('1', 'b')]]
    assert graph.missing == 1
    assert graph.cycle is None
    assert graph.is_instant(named[('null', 's')])


def test_none_key_is_the_sync_node():
    graph = model.Graph({None: [item('s', kind='stage')],
                         '1': [item('a', (None, 's'))]})
    assert graph.uids == ['null', '1']
    assert graph.requires[1] == [0]


def test_ranks_follow_the_longest_chain_of_work():
    graph = model.Graph({
        '1': [item('short', duration=5)],
        '2': [item('head', duration=1), item('mid', ('2', 'head'),
                                             duration=2),
              item('tail', ('2', 'mid'), duration=3)]})
    order = [graph.names[v] for v in graph.by_rank]
    # head (1+2+3=6) before short (5) before mid (5, fewer dependants? no:
    # mid has one) ... ties broken by dependants, then topological order.
    assert order[0] == 'head'
    assert order.index('short') < order.index('tail')
    assert graph.chain[graph.by_rank[0]] == 6


def test_instants_weigh_nothing_and_default_weight_is_one():
    graph = model.Graph({'1': [item('a'), item('n', ('1', 'a'),
                                               kind='noop')]})
    assert graph.weight(0) == 1.0 and graph.weight(1) == 0.0
    assert graph.chain[0] == 1.0


def test_cycle_found_with_path():
    graph = model.Graph({'1': [item('a', ('2', 'b'))],
                         '2': [item('b', ('1', 'a')), item('c')]})
    assert graph.cycle in ('a@1 -> b@2 -> a@1', 'b@2 -> a@1 -> b@2')
    assert graph.rank == []


def test_node_facts_attached_to_items():
    facts = {'1': {'name': 'n1', 'ssh': {'host': 'h'}}}
    graph = model.Graph({'1': [item('a')], 'master': [item('m')]}, facts)
    assert graph.items[0]['node'] == facts['1']
    assert 'node' not in graph.items[1]


@pytest.mark.parametrize('spec,count,limit', [
    (None, 5, None), ({}, 5, None), ({'type': 'one_by_one'}, 5, 1),
    ({'type': 'parallel'}, 5, None), ({'type': 'parallel', 'amount': 3}, 5,
                                      3),
    ({'type': 'parallel', 'amount': '50%'}, 5, 3),
    ({'type': 'parallel', 'amount': '1%'}, 5, 1)])
def test_parse_limit(spec, count, limit):
    assert strategy.parse_limit(spec, count) == limit


@pytest.mark.parametrize('spec', [
    'fast', {'type': 'sideways'}, {'type': 'parallel', 'amount': 0},
    {'type': 'parallel', 'amount': True}, {'type': 'parallel', 'amount': 'x%'},
    {'type': 'parallel', 'amount': '0%'}, {'type': 'parallel', 'amount': 1.5}])
def test_parse_limit_rejects(spec):
    with pytest.raises(ValueError):
        strategy.parse_limit(spec, 5)


def test_limits_group_only_limited_tasks():
    graph = model.Graph({
        str(n): [item('one', strategy={'type': 'one_by_one'}),
                 item('free'), item('bad', strategy={'type': 'sideways'}),
                 item('wide', strategy={'type': 'parallel', 'amount': 9})]
        for n in (1, 2, 3)})
    limits = strategy.Limits(graph)
    assert limits.limit == [1]
    ones = [v for v in range(len(graph)) if graph.names[v] == 'one']
    assert not limits.blocked(ones[0])
    limits.acquire(ones[0])
    assert limits.blocked(ones[1]) and limits.free(0) == 0
    assert limits.release(ones[0]) == 0 and limits.free(0) == 1
    free = [v for v in range(len(graph)) if graph.names[v] == 'free']
    assert limits.release(free[0]) == -1


def test_fault_tolerance_tracker():
    uids = ['1', '2', '3', 'master', 'null']
    tracker = fault_tolerance.Tracker([
        {'name': 'ctl', 'node_ids': ['1', 2], 'fault_tolerance': 1},
        {'name': 'crit', 'node_ids': ['3'], 'fault_tolerance': 0},
        {'name': 'gone', 'node_ids': ['99'], 'fault_tolerance': 0},
        {'name': 'odd', 'node_ids': ['2'], 'fault_tolerance': 'x'}], uids)
    assert tracker.names == ['ctl', 'crit', 'odd']
    assert tracker.node_failed(0) is None
    assert tracker.node_failed(1) == ('fault tolerance of group ctl '
                                      'exceeded: 2 of 2 nodes failed, '
                                      '1 allowed')
    assert tracker.node_failed(2).startswith('fault tolerance of group crit')
    assert tracker.node_failed(3) is None
