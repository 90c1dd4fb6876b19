"""Deployment-history pages: the rules that need no SQL library.

A page is the rows after a marker in the history order, then the
surrogate ``skipped`` rows of graph tasks that never got a row (node
``-``, by name), in one of three layouts (``Connection.get_history_page``).
Two readers fetch the rows: the SQLAlchemy backend
(``db.sqlalchemy.history``) and the embedded CLI's SQLite reader
(``db.sqlite_reads``), which answers reads without importing SQLAlchemy.
Both give :func:`page` the same two callables, so paging, surrogates and
layouts are decided once, here.
"""

import datetime
import json

# Node names users may give for the sync pseudo-node.
SYNC_NODE_NAMES = ('null', 'sync', 'None')
# How the sync node's id is written in API rows.
SYNC_NODE = 'null'
# The node_id of surrogate rows (never-run graph tasks).
SURROGATE_NODE = '-'
PAGE_COLUMNS = ('task_name', 'node_id', 'status', 'time_start', 'time_end',
                'custom')
LAYOUTS = ('rows', 'json', 'columns')
# The history order's stand-ins (models.HISTORY_ORDER): never-started
# rows sort last, as this time, as both databases store it (SQLite as
# text, in SQLAlchemy's format); the sync node (NULL) after every node id
# (at most 64 characters).
NOT_STARTED = '9999-12-31 23:59:59.999999'
STORED_TIME = '%Y-%m-%d %H:%M:%S.%f'
SYNC_NODE_LENGTH = 65
_NOT_STARTED = datetime.datetime.strptime(NOT_STARTED, STORED_TIME)


def surrogates_wanted(nodes, statuses):
    return not nodes and (not statuses or 'skipped' in statuses)


def marker_key(marker):
    """The history-order key of a marker ``(time_start, node_id,
    task_name)``: rows after it are the rows whose key is greater."""
    time_start, node_id, name = marker
    sync = node_id in SYNC_NODE_NAMES
    return (time_start or _NOT_STARTED,
            SYNC_NODE_LENGTH if sync else len(node_id),
            '' if sync else node_id, name)


def decoded(text):
    """A JSON column's text as data, ``{}`` for none. Most rows carry
    ``{}``: decoding it is a third of a page's cost."""
    if not text or text == '{}':
        return {}
    return json.loads(text) or {}


def page(scan, missing, nodes, statuses, include_summary, limit, marker,
         layout='rows'):
    """One page.

    :param scan: ``scan(limit)`` -> ``(rows, text, more, last,
        widest)``: up to ``limit`` rows after ``marker`` as lists (or
        ``text``, the database's JSON text in ``layout``), whether more
        follow, the last row (for the next marker) when they do, and the
        length of the longest JSON text among the rows' ``custom`` and
        ``summary`` values (the page's ``widest``: the manager cuts a
        page's outputs only when one may be over its limit).
    :param missing: ``missing(after, limit)`` -> names of graph tasks
        with no row, sorted, after the name ``after``.
    """
    columns = list(PAGE_COLUMNS) + (['summary'] if include_summary else [])
    rows, text, last, more, widest = [], None, None, False, 0
    in_surrogates = marker is not None and marker[1] == SURROGATE_NODE
    if not in_surrogates:
        rows, text, more, last, widest = scan(limit)
    if not more and surrogates_wanted(nodes, statuses):
        after = marker[2] if in_surrogates else None
        names = missing(after, limit + 1 - len(rows))
        if names and text is not None:
            rows, text = _decoded_rows(text, layout), None
        extra = [{}] if include_summary else []
        rows.extend([name, SURROGATE_NODE, 'skipped', None, None, {}] + extra
                    for name in names)
        more = len(rows) > limit
        del rows[limit:]
        last = rows[-1] if more else None
    return dict(_body(rows, text, layout, len(columns)), columns=columns,
                widest=widest, next=None if last is None else {
                    'time_start': last[3], 'node_id': last[1],
                    'task_name': last[0]})


def missing_names(graph_names, names, after, seen_of, limit):
    """Names of graph tasks that never got a row, sorted, after
    ``after``, at most ``limit``.

    :param graph_names: the task's graph task names.
    :param names: the names asked for (all when empty).
    :param seen_of: ``seen_of(wanted)`` -> the names among ``wanted``
        that have a row.
    """
    wanted = [n for n in graph_names or () if (not names or n in names)
              and (after is None or n > after)]
    if not wanted:
        return []
    return sorted(set(wanted) - set(seen_of(wanted)))[:limit]


def listed(rows, limit):
    """Rows read one more than ``limit`` (whether a page follows), their
    JSON columns as text, as a ``scan`` result with those decoded."""
    rows = [list(r) for r in rows]
    more = len(rows) > limit
    del rows[limit:]
    widest = max((len(text) for row in rows for text in row[5:] if text),
                 default=0)
    for row in rows:
        row[5:] = map(decoded, row[5:])
    return rows, None, more, rows[-1] if more else None, widest


def _body(rows, text, layout, width):
    """The page's rows in ``layout`` (text: what the database wrote)."""
    if layout == 'rows':
        return {'rows': rows if text is None else json.loads(text)}
    if text is None:
        text = json.dumps(rows if layout == 'json' else
                          [[row[i] for row in rows] for i in range(width)])
    return {'rows_json' if layout == 'json' else 'columns_json': text}


def _decoded_rows(text, layout):
    decoded_text = json.loads(text)
    if layout != 'columns':
        return decoded_text
    return [list(row) for row in zip(*decoded_text)]
