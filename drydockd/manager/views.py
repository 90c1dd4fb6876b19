"""What the API returns: DB dicts shaped for callers (JSON-safe).

Outputs that nodes and executors decide the length of (status messages,
history ``custom`` and ``summary``) are cut to ``limit`` characters
(manager.caps).
"""

import base64
import json
import zlib

from drydockd.manager import caps
from drydockd.messaging.schemas import format_time

_TIMES = ('created', 'updated', 'time_start', 'time_end', 'terminated',
          'deleted_at', 'heartbeat')


def task_summary(task):
    """The flat form used by listings."""
    return {
        'id': task['id'], 'task_id': task['uuid'], 'action': task['action'],
        'status': task['status'], 'result': task['result_status'],
        'progress': task['progress'], 'created': format_time(task['created']),
        'design_ref': task['design_ref'], 'dry_run': task['dry_run'],
        'deleted': task['deleted_at'] is not None,
    }


def task_document(task, limit):
    """The Drydock Task Status document (docs/tasks.md)."""
    messages = [{'message': caps.text(m['message'], limit),
                 'error': m['error'],
                 'context_type': m['context_type'], 'context': m['context'],
                 'ts': format_time(m['ts'])}
                for m in task.get('messages', [])]
    return {
        'Kind': 'Task', 'apiVersion': 'v1', 'id': task['id'],
        'task_id': task['uuid'], 'action': task['action'],
        'design_ref': task['design_ref'],
        'parent_task_id': task.get('parent_uuid'),
        'subtask_id_list': [t['uuid'] for t in task.get('subtasks', [])],
        'status': task['status'], 'node_filter': task['node_filter'],
        'progress': task['progress'], 'dry_run': task['dry_run'],
        'created': format_time(task['created']),
        'created_by': task['created_by'],
        'updated': format_time(task['updated']),
        'terminated': format_time(task['terminated']),
        'terminated_by': task['terminated_by'],
        'deleted': format_time(task['deleted_at']),
        'result': {
            'Kind': 'Status', 'apiVersion': 'v1', 'metadata': {},
            'status': task['result_status'],
            'message': caps.text(task['result_message'], limit),
            'reason': task['result_reason'],
            'details': {'errorCount': task['result_error_count'],
                        'messageList': messages},
        },
    }


def history_row(row, limit):
    out = dict(row)
    for key in ('custom', 'summary'):
        if key in out:
            out[key] = caps.bound(out[key], limit)
    out['node_id'] = row['node_id'] if row['node_id'] is not None else 'null'
    out['time_start'] = format_time(row['time_start'])
    out['time_end'] = format_time(row['time_end'])
    return out


def history_page(page, limit):
    """A page of rows as lists (``custom``, then ``summary`` when asked,
    are the columns from the sixth on), as the JSON text the database
    wrote (``rows_json``, RPC 1.5), or as the columnar JSON text the
    database wrote, compressed (``columns_z``, RPC 1.6).

    A text is passed on untouched unless one of its ``custom`` or
    ``summary`` values may be over ``limit``: the database reports the
    longest such value's JSON text (``widest``), and a value counts no
    more characters than its JSON text has (caps). Only then is the page
    decoded, cut and encoded again, so a page of many small values over
    the limit together is cut as surely as one long string.

    ``columns_z`` is zlib (level 1) of the UTF-8 text, in base64: about a
    tenth of the text, and base64 has nothing JSON escapes, so the
    messaging layer's two JSON encodings of a reply (and the reader's two
    decodings) no longer copy and escape every quote of every row.
    """
    widest = page.pop('widest', None)
    if 'rows_json' in page:
        page['rows_json'] = _bounded_text(page['rows_json'], limit, widest,
                                          _bound_rows)
    elif 'columns_json' in page:
        text = _bounded_text(page.pop('columns_json'), limit, widest,
                             _bound_columns)
        page['columns_z'] = base64.b64encode(
            zlib.compress(text.encode(), 1)).decode('ascii')
    else:
        _bound_rows(page['rows'], limit)
    return page


def _bounded_text(text, limit, widest, bound):
    # Without the database's figure, any text over the limit may hold one.
    if (len(text) if widest is None else widest) > limit:
        decoded = json.loads(text)
        bound(decoded, limit)
        return json.dumps(decoded)
    return text


def _bound_rows(rows, limit):
    for row in rows:
        row[5:] = [caps.bound(value, limit) for value in row[5:]]


def _bound_columns(columns, limit):
    for values in columns[5:]:
        values[:] = [caps.bound(value, limit) for value in values]


def node(node_row, limit):
    out = dict(node_row)
    if 'error_msg' in out:
        out['error_msg'] = caps.text(out['error_msg'], limit)
    for key in ('updated', 'power_read_at', 'power_drift_at'):
        out[key] = format_time(node_row.get(key))
    return out
