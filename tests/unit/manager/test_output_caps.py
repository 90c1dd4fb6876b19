"""manager.caps and views: outputs over the API are bounded and marked."""

import datetime

import pytest

from drydockd.manager import caps
from drydockd.manager import views


def test_a_short_value_is_the_same_object():
    summary = {'stdout_tail': 'ok\n', 'exit_code': 0}
    assert caps.bound(summary, 100) is summary
    assert caps.text('short', 100) == 'short'
    assert caps.text(None, 10) is None


def test_a_long_string_is_cut_and_marked():
    out = caps.text('x' * 1000, 100)
    assert len(out) == 100 and out.endswith(caps.MARK)


@pytest.mark.parametrize('value', [
    {'stdout_tail': 'A' * 100000, 'exit_code': 1},
    {'k%d' % i: i for i in range(100000)},
    {'nested': {'list': ['y' * 500] * 1000}},
    {'items': list(range(100000))},
])
def test_every_shape_is_bounded(value):
    out = caps.bound(value, 1000)
    assert out['truncated'] is True
    assert caps._size(out, 10 ** 9) <= 1000 + len('truncatedTrue')
    assert len(repr(out)) < 5000


def test_what_fits_is_kept_in_order():
    out = caps.bound({'exit_code': 3, 'stdout_tail': 'z' * 5000,
                      'stderr_tail': 'e' * 10}, 200)
    assert out['exit_code'] == 3
    assert out['stdout_tail'].endswith(caps.MARK)
    assert list(out) == ['exit_code', 'stdout_tail', 'truncated']


NOW = datetime.datetime(2026, 11, 30, 12, 0, 0)


def _task(message):
    return {'id': 1, 'uuid': 'u', 'action': 'deploy_nodes',
            'design_ref': 'file:///x', 'status': 'complete',
            'node_filter': None, 'progress': 100, 'dry_run': False,
            'created': NOW, 'created_by': 'me', 'updated': NOW,
            'terminated': None, 'terminated_by': None, 'deleted_at': None,
            'result_status': 'failure', 'result_message': message,
            'result_reason': None, 'result_error_count': 1,
            'messages': [{'message': message, 'error': True,
                          'context_type': 'node', 'context': 'node05',
                          'ts': NOW}]}


def test_task_messages_are_cut():
    doc = views.task_document(_task('m' * 50000), 1000)
    assert len(doc['result']['message']) == 1000
    (msg,) = doc['result']['details']['messageList']
    assert msg['message'].endswith(caps.MARK) and len(msg['message']) == 1000


def test_history_rows_and_pages_are_cut():
    row = {'task_name': 't', 'node_id': 'master', 'status': 'error',
           'time_start': NOW, 'time_end': NOW,
           'custom': {'error_msg': 'e' * 9000},
           'summary': {'stdout_tail': 'root:$6$secret' * 5000}}
    out = views.history_row(row, 1000)
    assert out['summary']['truncated'] is True
    assert out['custom']['truncated'] is True
    assert len(out['summary']['stdout_tail']) <= 1000
    page = {'columns': [], 'next': None,
            'rows': [['t', '5', 'ready', None, None, {'a': 'b'},
                      {'stdout_tail': 's' * 5000}]]}
    (got,) = views.history_page(page, 1000)['rows']
    assert got[5] == {'a': 'b'}
    assert got[6]['truncated'] is True and len(got[6]['stdout_tail']) < 1000


def test_node_errors_are_cut():
    out = views.node({'id': 5, 'updated': NOW, 'error_msg': 'n' * 5000}, 300)
    assert len(out['error_msg']) == 300


def _text_page(rows):
    """A 1.5 page as the database writes it: text and widest output."""
    import json
    return {'columns': [], 'next': None, 'rows_json': json.dumps(rows),
            'widest': max(len(json.dumps(v)) for r in rows for v in r[5:])}


def test_json_text_pages_pass_through_unless_an_output_may_be_long():
    import json
    rows = [['t', '5', 'ready', None, None, {'a': 'b'},
             {'stdout_tail': 'ok'}]] * 50
    page = _text_page(rows)
    text = page['rows_json']
    out = views.history_page(page, 300)
    assert out['rows_json'] is text and 'widest' not in out
    # One long string, escaped quotes, or many small values over the
    # limit together (each under it).
    for long_out in ({'stdout_tail': 's' * 5000},
                     {'stdout_tail': '"' * 5000},
                     {'exit_codes': [0] * 3000},
                     {'lines': ['ok'] * 3000}):
        rows[7:8] = [['t', '6', 'error', None, None, {}, long_out]]
        got = json.loads(views.history_page(_text_page(rows),
                                            300)['rows_json'])
        assert got[7][6]['truncated'] is True, long_out.keys()
        assert caps._size(got[7][6], 10 ** 9) <= 300 + len('truncatedTrue')
        assert got[0][6] == {'stdout_tail': 'ok'}
    # A page without the database's figure is cut whenever it is long.
    page = _text_page(rows)
    del page['widest']
    got = json.loads(views.history_page(page, 300)['rows_json'])
    assert got[7][6]['truncated'] is True


def test_no_value_counts_more_than_its_json_text():
    """What lets a page whose longest output text is within the limit
    pass uncut (views._bounded_text)."""
    import json
    for value in ({'exit_code': 0, 'ok': True, 'none': None, 'x': 1.5},
                  [0] * 100, {'k%d' % i: i for i in range(100)},
                  {'s': 'é"\\' * 10, 'nested': [[], {}, [False]]}):
        assert caps._size(value, 10 ** 9) <= len(json.dumps(value))
        assert caps._size(value, 10 ** 9) <= len(json.dumps(
            value, separators=(',', ':'), ensure_ascii=False))
