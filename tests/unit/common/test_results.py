"""A task's result: the vote and its words (drydockd.common.results)."""

import datetime

import pytest

from drydockd.common import results


@pytest.mark.parametrize('outcomes,expected', [
    ([True], 'success'),
    ([True, True, True], 'success'),
    ([False], 'failure'),
    ([False, False], 'failure'),
    ([True, False], 'partial_success'),
    ([False, True, True], 'partial_success'),
    ([None], 'incomplete'),
    ([None, None], 'incomplete'),
    # Some finished ok, others never finished: not all success.
    ([True, None], 'partial_success'),
    ([True, True, None], 'partial_success'),
    # Nothing succeeded: a failure, not a partial success.
    ([False, None], 'failure'),
    ([True, False, None], 'partial_success'),
    # No node at all (e.g. only master tasks): nothing failed.
    ([], 'success'),
])
def test_vote(outcomes, expected):
    assert results.vote(outcomes) == expected
    assert results.vote(list(reversed(outcomes))) == expected
    assert expected in results.RESULT_STATUSES


@pytest.mark.parametrize('outcomes,expected', [
    ([True], 'failure'),
    ([], 'failure'),
    # Not a success already: a failure elsewhere changes nothing.
    ([True, False], 'partial_success'),
    ([False], 'failure'),
    ([None], 'incomplete'),
])
def test_a_failure_elsewhere_is_never_a_success(outcomes, expected):
    assert results.vote(outcomes, failed_elsewhere=True) == expected


def test_summary_counts_nodes_and_names_other_failures():
    assert results.summarize([True]) == '1 of 1 nodes succeeded, 0 failed'
    assert results.summarize([True, False, False]) == \
        '1 of 3 nodes succeeded, 2 failed'
    assert results.summarize([True], ['master']) == \
        '1 of 1 nodes succeeded, 0 failed; graph tasks failed on master'
    assert results.summarize([False], [None, 'master', None]) == (
        '0 of 1 nodes succeeded, 1 failed; graph tasks failed on master '
        'and the sync node')


def test_other_texts():
    assert results.stopped('1 of 1 nodes succeeded, 0 failed', None) == \
        'Stopped by drydock: 1 of 1 nodes succeeded, 0 failed'
    assert results.stopped('x', 'alice') == 'Stopped by alice: x'
    assert results.agent_reported('node05') == \
        'node node05 reported provisioned'
    assert results.agent_overdue(
        'node05', datetime.datetime(2026, 11, 22, 10, 0, 1)) == \
        'node node05 did not report back before 2026-11-22T10:00:01.000000Z'
