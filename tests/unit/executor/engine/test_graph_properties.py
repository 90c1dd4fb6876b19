"""Properties of the engine over random deployments (hypothesis).

A random design (up to 30 nodes x 15 tasks: shell, master_shell, stage,
noop, skipped; random roles, requires, required_for, cross_depends,
cross_depended_by, strategies, failures, retries, fail_on_error and
fault-tolerance groups) goes through the serializer and the engine with
the fake transport (tasks of 0-3 ms). Every edge points from a task to a
later one, so the designs are acyclic. From the replayed history rows:

1. every row ends terminal (ready, error, skipped);
2. no task started (or an instant ended ready) before every one of its
   dependencies ended, and none of those ended error;
3. limits hold at every instant (intervals [time_start, time_end) of the
   rows that ran): one task per node, at most ``max_busy`` nodes busy
   (the sync node excluded), at most K nodes on a task of strategy K;
4. a row ends error without running iff one of its dependencies ended
   error, with the reason "dependency ..." (or a halt skipped it before
   that dependency failed);
5. the result agrees with the rows: the final status is ``error`` iff
   some row is ``error`` (equivalently, some row on a node or master: the
   sync node only fails through them); a node's last status is ``error``
   iff one of its rows is, else ``stopped`` iff a fault-tolerance halt
   skipped one of its rows, else ``ready``; the final report's error
   names a group iff some group has more failed nodes than it tolerates
   (a halt happened; it may have found nothing left to skip).
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drydockd.graph import serializer

import graph_history

ROLES = ('r0', 'r1', 'r2')
DURATIONS = (0, 0, 0, 0.001, 0.003)


@st.composite
def deployments(draw):
    node_count = draw(st.integers(1, 30))
    nodes = [{'id': i, 'name': 'n%d' % i,
              'roles': draw(st.lists(st.sampled_from(ROLES), min_size=1,
                                     max_size=2, unique=True))}
             for i in range(1, node_count + 1)]
    count = draw(st.integers(1, 15))
    names = ['t%d' % i for i in range(count)]
    tasks = [_task(draw, i, names, node_count) for i in range(count)]
    roles = [{'name': role, 'fault_tolerance': draw(st.integers(0, 3))}
             for role in draw(st.lists(st.sampled_from(ROLES), unique=True,
                                       max_size=2))]
    return tasks, nodes, roles, draw(st.integers(1, 8))


def _task(draw, i, names, node_count):
    earlier, later = names[:i], names[i + 1:]
    kind = draw(st.sampled_from(('shell',) * 6 + (
        'master_shell', 'stage', 'noop', 'skipped')))
    task = {'id': names[i], 'type': kind, 'optional': True,
            'roles': draw(st.sampled_from([['*'], ['r0'], ['r1', 'r2'],
                                           ['r2'], ['master']])),
            'requires': draw(st.lists(st.sampled_from(earlier), unique=True,
                                      max_size=3)) if earlier else [],
            'required_for': draw(st.lists(st.sampled_from(later),
                                          unique=True, max_size=1))
            if later else [],
            'fail_on_error': draw(st.booleans()) or draw(st.booleans())}
    if earlier and draw(st.booleans()):
        task['cross_depends'] = [{'name': draw(st.sampled_from(earlier)),
                                  'role': draw(st.sampled_from(
                                      ('*',) + ROLES))}]
    if later and draw(st.integers(0, 4)) == 0:
        task['cross_depended_by'] = [{'name': draw(st.sampled_from(later)),
                                      'role': draw(st.sampled_from(ROLES))}]
    params = {'duration': draw(st.sampled_from(DURATIONS))}
    strategy = draw(st.sampled_from((None, None, 'one_by_one', 1, 2, 3)))
    if strategy == 'one_by_one':
        params['strategy'] = {'type': 'one_by_one'}
    elif strategy:
        params['strategy'] = {'type': 'parallel', 'amount': strategy}
    failing = draw(st.lists(st.integers(1, node_count), max_size=3))
    if failing:
        params['fail_on'] = [str(u) for u in failing]
        if draw(st.booleans()):
            params['fail_times'] = draw(st.integers(1, 2))
            params['retries'] = draw(st.integers(0, 2))
    task['parameters'] = params
    return task


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(deployments())
def test_random_deployments_keep_every_rule(deployment):
    tasks, nodes, roles, max_busy = deployment
    graph, metadata = serializer.serialize(tasks, nodes, roles)
    run = graph_history.Run(graph, metadata, max_busy=max_busy).run()
    rows = run.rows
    requires = {(_uid(uid), item['id']): [
        (_uid(d['node_id']), d['name']) for d in item['requires']]
        for uid, items in graph.items() for item in items}

    assert all(r['status'] in graph_history.TERMINAL for r in rows.values())
    for key, row in rows.items():
        deps = [rows[d] for d in requires[key]]
        if row['ran'] or row['status'] == 'ready':
            for dep in deps:
                assert dep['status'] in ('ready', 'skipped'), (key, dep)
                assert dep['time_end'] <= row['time_start'], key
        if row['status'] == 'error' and not row['ran']:
            assert row['error_msg'].startswith('dependency '), key
            assert any(dep['status'] == 'error' for dep in deps), key
        if any(dep['status'] == 'error' for dep in deps):
            assert not row['ran'], key
            # Skipped by a halt that came before the dependency failed.
            assert row['status'] == 'error' or _halted(row), key
    _check_limits(run, graph, max_busy)
    _check_result(run, rows, metadata)


def _halted(row):
    return row['status'] == 'skipped' and (row['error_msg'] or '') \
        .startswith('fault tolerance of group')


def _uid(uid):
    return 'null' if uid is None else str(uid)


def _check_limits(run, graph, max_busy):
    intervals = [i for i in run.intervals() if i[0] < i[1]]
    real = [i for i in intervals if i[2] != 'null']
    assert graph_history.max_overlap(real, key=lambda i: i[2]) <= max_busy
    for uid in {i[2] for i in real}:
        assert graph_history.max_overlap(
            [i for i in real if i[2] == uid]) <= 1, uid
    items = {item['id']: item for its in graph.values() for item in its}
    for name, item in items.items():
        strategy = item['parameters'].get('strategy')
        if strategy:
            limit = strategy.get('amount', 1)
            assert graph_history.max_overlap(
                [i for i in intervals if i[3] == name]) <= limit, name


def _exceeded(metadata, failed):
    """The groups whose failed nodes outnumber their tolerance."""
    return {g['name'] for g in metadata.get('fault_tolerance_groups') or ()
            if len({str(u) for u in g['node_ids']} & failed)
            > g['fault_tolerance']}


def _check_result(run, rows, metadata):
    errors = {uid for (uid, _), r in rows.items() if r['status'] == 'error'}
    status, error = run.final[-1]
    assert run.status == status
    assert (status == 'error') == bool(errors)
    assert (status == 'error') == bool(errors - {'null'})
    halted = {uid for (uid, _), r in rows.items() if _halted(r)}
    exceeded = _exceeded(metadata, errors)
    assert (error is not None) == bool(exceeded)
    if halted:
        assert exceeded
    if error is not None:
        assert error.split(' exceeded:')[0] in {
            'fault tolerance of group %s' % name for name in exceeded}
    last = run.final_node_status()
    assert set(last) == {uid for uid, _ in rows} - {'null'}
    for uid, node_status in last.items():
        if uid in errors:
            assert node_status == 'error', uid
        elif uid in halted:
            assert node_status == 'stopped', uid
        else:
            assert node_status == 'ready', uid
