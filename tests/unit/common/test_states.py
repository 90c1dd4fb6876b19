"""State rules of tasks, nodes and history rows (drydockd.common.states).

The history cases are DESIGN's "Deployment history rules" table, cell by
cell, rejected cells included.
"""

import datetime
import itertools

import pytest

from drydockd.common import states

T0 = datetime.datetime(2026, 11, 22, 10, 0, 0)
T1 = T0 + datetime.timedelta(seconds=1)
T2 = T0 + datetime.timedelta(seconds=2)
T3 = T0 + datetime.timedelta(seconds=3)

# A row as it stands in each "from" state of the table.
ROWS = {
    'pending': {'status': 'pending', 'time_start': None, 'time_end': None},
    'running': {'status': 'running', 'time_start': T1, 'time_end': None},
    'ready': {'status': 'ready', 'time_start': T1, 'time_end': T2},
    'error': {'status': 'error', 'time_start': T1, 'time_end': T2},
    'skipped': {'status': 'skipped', 'time_start': T1, 'time_end': T1},
}
REPORTED = ('running', 'ready', 'error', 'skipped')


def _apply(row, status, time, time_start=None):
    row = dict(row)
    changes = states.history_transition(row, status, time, time_start)
    if changes is not None:
        row.update(changes)
    return changes, row


# -- history rows: the transition table --------------------------------------

def test_pending_to_running_sets_time_start():
    changes, row = _apply(ROWS['pending'], 'running', T3)
    assert changes is not None
    assert row == {'status': 'running', 'time_start': T3, 'time_end': None}


@pytest.mark.parametrize('status', ['ready', 'error'])
def test_pending_to_terminal_sets_both_times(status):
    # The report overtook its 'running' and carries no start time.
    changes, row = _apply(ROWS['pending'], status, T3)
    assert changes is not None
    assert row == {'status': status, 'time_start': T3, 'time_end': T3}


@pytest.mark.parametrize('status', ['ready', 'error'])
def test_pending_to_terminal_uses_carried_time_start(status):
    _, row = _apply(ROWS['pending'], status, T3, time_start=T1)
    assert row == {'status': status, 'time_start': T1, 'time_end': T3}


def test_pending_to_skipped_sets_both_times():
    changes, row = _apply(ROWS['pending'], 'skipped', T3)
    assert changes is not None
    assert row == {'status': 'skipped', 'time_start': T3, 'time_end': T3}


def test_running_to_running_is_rejected():
    changes, row = _apply(ROWS['running'], 'running', T3)
    assert changes is None
    assert row == ROWS['running']


@pytest.mark.parametrize('status', ['ready', 'error'])
def test_running_to_terminal_sets_time_end_only(status):
    _, row = _apply(ROWS['running'], status, T3)
    assert row == {'status': status, 'time_start': T1, 'time_end': T3}


@pytest.mark.parametrize('status', ['ready', 'error'])
def test_running_to_terminal_with_carried_time_start(status):
    # The executor's start time wins when it is earlier than the time
    # the 'running' report recorded; a later one never moves it.
    for carried, expected in ((T1, T1), (T0, T0), (T2, T1)):
        _, row = _apply(ROWS['running'], status, T3, time_start=carried)
        assert row == {'status': status, 'time_start': expected,
                       'time_end': T3}, carried


def test_running_to_skipped_is_rejected():
    changes, row = _apply(ROWS['running'], 'skipped', T3, time_start=T3)
    assert changes is None
    assert row == ROWS['running']


@pytest.mark.parametrize('current,status', list(itertools.product(
    ('ready', 'error', 'skipped'), REPORTED)))
def test_terminal_rows_never_change(current, status):
    for time_start in (None, T0, T3):
        changes, row = _apply(ROWS[current], status, T3, time_start)
        assert changes is None, (current, status, time_start)
        assert row == ROWS[current]


def test_every_cell_is_covered():
    """The table has exactly these accepted cells; all others reject."""
    accepted = {('pending', s) for s in REPORTED} | {
        ('running', 'ready'), ('running', 'error')}
    for current, status in itertools.product(ROWS, REPORTED):
        changes = states.history_transition(dict(ROWS[current]), status, T3)
        assert (changes is not None) == ((current, status) in accepted), (
            current, status)


@pytest.mark.parametrize('status', ['ready', 'error'])
def test_terminal_overtaking_running_gives_in_order_row(status):
    in_order = dict(ROWS['pending'])
    for rep in (('running', T1, None), (status, T2, T1)):
        in_order = _apply(in_order, *rep)[1]
    overtaken = dict(ROWS['pending'])
    for rep in ((status, T2, T1), ('running', T1, None)):
        overtaken = _apply(overtaken, *rep)[1]
    assert in_order == overtaken == {'status': status, 'time_start': T1,
                                     'time_end': T2}


def test_history_statuses():
    assert set(states.HISTORY_STATUSES) == set(ROWS)
    assert states.HISTORY_FINAL == {'ready', 'error', 'skipped'}


# -- tasks: never backwards, final is final ----------------------------------

LIFECYCLE = ['requested', 'queued', 'running', 'terminating']
FINAL = ['complete', 'terminated']


def test_task_statuses_are_the_design_ones():
    assert set(states.TASK_STATUSES) == set(LIFECYCLE + FINAL)
    assert states.TASK_FINAL == set(FINAL)


@pytest.mark.parametrize('current,proposed', list(itertools.product(
    LIFECYCLE + FINAL, LIFECYCLE + FINAL)))
def test_task_status_never_backwards(current, proposed):
    result = states.next_task_status(current, proposed)
    if current in FINAL:
        expected = current
    elif proposed in FINAL:
        expected = proposed
    elif LIFECYCLE.index(proposed) > LIFECYCLE.index(current):
        expected = proposed
    else:
        expected = current
    assert result == expected


@pytest.mark.parametrize('path', [
    ['requested', 'queued', 'running', 'complete'],
    ['requested', 'queued', 'running', 'terminating', 'terminated'],
    ['requested', 'running', 'complete'],       # 'queued' came late
    ['requested', 'terminated'],
])
def test_task_lifecycle_paths(path):
    status = path[0]
    for proposed in path[1:]:
        status = states.next_task_status(status, proposed)
        assert status == proposed
    for late in path:
        assert states.next_task_status(status, late) == path[-1]


# -- nodes: forward order within a task --------------------------------------

NODE_ORDER = ['discover', 'provisioning', 'provisioned', 'deploying',
              'ready']


def test_node_statuses_are_the_design_ones():
    assert set(states.NODE_STATUSES) == {
        'discover', 'provisioning', 'provisioned', 'deploying', 'ready',
        'error', 'removing', 'stopped'}


@pytest.mark.parametrize('current,proposed', list(itertools.product(
    NODE_ORDER, NODE_ORDER)))
def test_node_status_moves_forward_only(current, proposed):
    expected = proposed if NODE_ORDER.index(proposed) > \
        NODE_ORDER.index(current) else current
    assert states.next_node_status(current, proposed) == expected


@pytest.mark.parametrize('current', NODE_ORDER)
def test_node_error_wins_and_sticks(current):
    assert states.next_node_status(current, 'error') == 'error'
    for proposed in NODE_ORDER + ['stopped']:
        assert states.next_node_status('error', proposed) == 'error'


def test_node_order_replayed_in_any_order_ends_at_the_furthest():
    for perm in itertools.permutations(NODE_ORDER):
        status = 'discover'
        for proposed in perm:
            status = states.next_node_status(status, proposed)
        assert status == 'ready', perm


def test_node_unknown_status_is_ignored():
    assert states.next_node_status('deploying', 'bogus') == 'deploying'


def test_node_removal_goes_on_to_discover():
    # destroy_nodes starts its nodes at 'removing' and reports 'discover'.
    assert states.next_node_status('removing', 'discover') == 'discover'
    assert states.next_node_status('discover', 'removing') == 'discover'


@pytest.mark.parametrize('proposed', states.NODE_STATUSES)
def test_node_statuses_before_is_the_same_rule(proposed):
    """The set form (for UPDATEs) agrees with next_node_status."""
    before = states.node_statuses_before(proposed)
    for current in states.NODE_STATUSES:
        moves = states.next_node_status(current, proposed) != current
        assert (current in before) == moves, (current, proposed)
