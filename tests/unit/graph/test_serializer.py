"""The deployment graph serializer (drydockd.graph.serializer)."""

import pytest

from drydockd.common import exception
from drydockd.graph import model
from drydockd.graph import serializer

NODES = [{'id': 1, 'name': 'ctl1', 'roles': ['controller'], 'rack': 'r1'},
         {'id': 2, 'name': 'ctl2', 'roles': ['controller']},
         {'id': 3, 'name': 'cmp3', 'roles': ['compute'],
          'ssh': {'host': '10.0.0.3', 'port': 2222, 'user': 'deploy'},
          'oob': {'credential': 'secret'}},
         {'id': 4, 'name': 'cmp4', 'roles': ['compute', 'storage']}]


def _task(name, kind='shell', roles=('*',), **extra):
    task = {'id': name, 'type': kind}
    if roles is not None:
        task['roles'] = roles if isinstance(roles, str) else list(roles)
    task.update(extra)
    return task


def _requires(graph, uid, name):
    item = next(i for i in graph[uid] if i['id'] == name)
    return {(d['node_id'], d['name']) for d in item['requires']}


def _problems(tasks, nodes=NODES, roles=None):
    with pytest.raises(exception.DrydockException) as caught:
        serializer.serialize(tasks, nodes, roles)
    return str(caught.value)


def test_placement_sync_master_roles_and_groups():
    tasks = [_task('stage1', 'stage', roles=None),
             _task('sync1', 'sync', roles=None),
             _task('repos', 'master_shell', roles=None),
             _task('on_master', roles=['master']),
             _task('everywhere'),
             _task('ctl', roles=['controller']),
             {'id': 'grp', 'type': 'shell', 'groups': ['storage']},
             _task('single', roles='compute')]
    graph, _ = serializer.serialize(tasks, NODES)
    names = {uid: [i['id'] for i in items] for uid, items in graph.items()}
    assert names['null'] == ['stage1', 'sync1']
    assert names['master'] == ['repos', 'on_master']
    assert names['1'] == ['everywhere', 'ctl']
    assert names['3'] == ['everywhere', 'single']
    assert names['4'] == ['everywhere', 'grp', 'single']


def test_items_carry_parameters_and_fail_on_error():
    params = {'command': 'x', 'timeout': 5, 'retries': 2,
              'strategy': {'type': 'parallel', 'amount': 2}}
    graph, _ = serializer.serialize(
        [_task('a', parameters=params, fail_on_error=False)], NODES[:1])
    item = graph['1'][0]
    assert item == {'id': 'a', 'type': 'shell', 'parameters': params,
                    'fail_on_error': False, 'requires': []}


def test_requires_and_required_for_same_node():
    tasks = [_task('a'), _task('b', requires=['a']),
             _task('c', required_for=['b'])]
    graph, _ = serializer.serialize(tasks, NODES)
    for uid in ('1', '2', '3', '4'):
        assert _requires(graph, uid, 'b') == {(uid, 'a'), (uid, 'c')}
        assert _requires(graph, uid, 'a') == set()


def test_requires_passes_through_tasks_absent_on_a_node():
    tasks = [_task('base'),
             _task('ctl_only', roles=['controller'], requires=['base']),
             _task('after', requires=['ctl_only'])]
    graph, _ = serializer.serialize(tasks, NODES)
    assert _requires(graph, '1', 'after') == {('1', 'ctl_only')}
    # compute nodes do not run ctl_only: they still wait for base.
    assert _requires(graph, '3', 'after') == {('3', 'base')}


def test_requires_through_stage_and_master():
    tasks = [_task('net'), _task('stage', 'stage', roles=None,
                                 requires=['net']),
             _task('repos', 'master_shell', roles=None),
             _task('pkgs', requires=['stage', 'repos'])]
    graph, _ = serializer.serialize(tasks, NODES)
    assert _requires(graph, 'null', 'stage') == {
        (str(i), 'net') for i in range(1, 5)}
    assert _requires(graph, '2', 'pkgs') == {(None, 'stage'),
                                             ('master', 'repos')}


def test_cross_depends_and_cross_depended_by():
    tasks = [_task('db', roles=['controller']),
             _task('svc', roles=['compute'],
                   cross_depends=[{'name': 'db', 'role': 'controller'}]),
             _task('any', roles=['compute'],
                   cross_depends=[{'name': 'svc'}]),
             _task('late', roles=['compute'],
                   cross_depended_by=[{'name': 'db', 'role': 'controller'}])]
    graph, _ = serializer.serialize(tasks, NODES)
    assert _requires(graph, '3', 'svc') == {('1', 'db'), ('2', 'db')}
    # No role: every node running it, the same node included, never itself.
    assert _requires(graph, '3', 'any') == {('3', 'svc'), ('4', 'svc')}
    assert _requires(graph, '1', 'db') == {('3', 'late'), ('4', 'late')}
    assert _requires(graph, '2', 'db') == {('3', 'late'), ('4', 'late')}


def test_cross_depends_role_self_and_list():
    tasks = [_task('a', roles=['compute', 'controller']),
             _task('b', roles=['controller'],
                   cross_depends=[{'name': 'a', 'role': 'self'}]),
             _task('c', roles=['storage'],
                   cross_depends=[{'name': 'a',
                                   'role': ['storage', 'controller']}])]
    graph, _ = serializer.serialize(tasks, NODES)
    assert _requires(graph, '1', 'b') == {('1', 'a'), ('2', 'a')}
    assert _requires(graph, '4', 'c') == {('1', 'a'), ('2', 'a'),
                                          ('4', 'a')}


def test_every_problem_reported_at_once():
    tasks = [_task('a', requires=['ghost']),
             _task('b', required_for=['phantom'],
                   cross_depends=[{'name': 'spirit'}]),
             _task('c', roles=['nobody']),
             _task('d', roles=['nobody'], optional=True),
             _task('e', roles=['*'], requires=['f']),
             _task('f', roles=['*'], requires=['e'])]
    message = _problems(tasks, roles=[{'name': 'compute',
                                       'fault_tolerance': 'many'}])
    assert message.startswith('Deployment graph rejected: ')
    for part in ("task a: requires unknown task 'ghost'",
                 "task b: required_for unknown task 'phantom'",
                 "task b: cross_depends unknown task 'spirit'",
                 'task c: no selected node has role nobody',
                 'cycle e -> f -> e',
                 "role compute: fault_tolerance 'many' is not a count"):
        assert part in message
    assert 'task d' not in message


def test_graph_invalid_is_invalid_input():
    with pytest.raises(exception.InvalidInput):
        serializer.serialize([_task('a', roles=['nobody'])], NODES)


def test_every_cycle_named_one_per_component():
    tasks = [_task('a', requires=['b']), _task('b', requires=['a']),
             _task('c', requires=['c']), _task('d', requires=['a'])]
    message = _problems(tasks)
    assert message.startswith('Deployment graph has a cycle: ')
    assert 'a -> b -> a' in message
    assert 'c -> c' in message
    assert 'd ->' not in message


def test_required_for_cycle():
    tasks = [_task('a', required_for=['b']), _task('b', required_for=['a'])]
    assert 'a -> b -> a' in _problems(tasks) or 'b -> a -> b' in \
        _problems(tasks)


def test_cycles_of_a_placed_graph_are_named_by_the_model():
    graph = {'1': [{'id': 'x', 'requires': [{'name': 'y', 'node_id': '2'}]}],
             '2': [{'id': 'y', 'requires': [{'name': 'x', 'node_id': '1'}]}],
             'null': [{'id': 's', 'requires': []}]}
    assert model.Graph(graph).cycle == 'x@1 -> y@2 -> x@1'
    assert model.Graph({'1': [{'id': 'x', 'requires': [
        {'name': 's', 'node_id': None}]}], 'null': [{'id': 's',
                                                     'requires': []}]}
    ).cycle is None


def test_bad_strategy_and_parameters_are_problems():
    message = _problems([
        _task('a', parameters={'strategy': {'type': 'sideways'}}),
        _task('b', parameters={'strategy': {'type': 'parallel',
                                            'amount': 0}}),
        _task('c', parameters={'timeout': 'soon', 'retries': -1})])
    assert "task a: unknown strategy type 'sideways'" in message
    assert 'task b: strategy amount 0' in message
    assert 'task c: timeout must be' in message
    assert 'task c: retries must be' in message


def test_fault_tolerance_groups_count_and_percentage():
    roles = ['storage', {'name': 'controller', 'fault_tolerance': 1},
             {'name': 'compute', 'fault_tolerance': '50%'},
             {'name': 'storage', 'fault_tolerance': '20%'},
             {'name': 'absent', 'fault_tolerance': 0},
             {'name': 'untolerated'}]
    _, metadata = serializer.serialize([_task('a')], NODES, roles)
    assert metadata['fault_tolerance_groups'] == [
        {'name': 'controller', 'node_ids': ['1', '2'], 'fault_tolerance': 1},
        {'name': 'compute', 'node_ids': ['3', '4'], 'fault_tolerance': 1},
        {'name': 'storage', 'node_ids': ['4'], 'fault_tolerance': 0}]


@pytest.mark.parametrize('value,size,expected', [
    (0, 5, 0), (3, 5, 3), ('2', 5, 2), ('20%', 5, 1), ('20%', 4, 0),
    ('100%', 7, 7), ('0%', 7, 0), ('33.3%', 10, 3)])
def test_tolerance_count(value, size, expected):
    assert serializer.tolerance_count(value, size) == expected


@pytest.mark.parametrize('value', [-1, True, 'lots', '120%', 1.5, None])
def test_tolerance_count_rejects(value):
    with pytest.raises(ValueError):
        serializer.tolerance_count(value, 5)


def test_metadata_task_names_and_node_facts_without_oob():
    tasks = [_task('a'), _task('s', 'stage', roles=None)]
    _, metadata = serializer.serialize(tasks, NODES)
    assert metadata['task_names'] == ['a', 's']
    facts = metadata['node_facts']
    assert facts['1'] == {'id': 1, 'name': 'ctl1', 'roles': ['controller'],
                          'rack': 'r1'}
    assert facts['3']['ssh'] == {'host': '10.0.0.3', 'port': 2222,
                                 'user': 'deploy'}
    assert 'secret' not in repr(metadata)


def test_empty_tasks_and_skipped_types():
    graph, metadata = serializer.serialize([], NODES)
    assert graph == {} and metadata['task_names'] == []
    # A skipped task whose role has no node is not a problem.
    graph, _ = serializer.serialize(
        [_task('x', 'skipped', roles=['nobody'])], NODES)
    assert graph == {}


def test_empty_role_judged_on_the_design_when_given():
    tasks = [_task('ctl', roles=['controller']), _task('all')]
    computes = [n for n in NODES if 'compute' in n['roles']]
    message = _problems(tasks, nodes=computes)
    assert 'task ctl: no selected node has role controller' in message
    # A partial deploy of the design's computes: ctl is left out.
    graph, _ = serializer.serialize(tasks, computes, design_nodes=NODES)
    assert sorted(graph) == ['3', '4']
    assert [i['id'] for i in graph['3']] == ['all']
    message = _problems([_task('x', roles=['storage2'])], nodes=computes)
    assert 'no selected node has role storage2' in message
    with pytest.raises(exception.GraphInvalid) as caught:
        serializer.serialize([_task('x', roles=['storage2'])], computes,
                             design_nodes=NODES)
    assert 'task x: no node in the design has role storage2' in \
        str(caught.value)
