"""The deployment-history query behind ``drydock2 task history show``.

Rows come in the order of ``models.HISTORY_ORDER``, then the surrogate
``skipped`` rows of graph tasks that never got a row (node ``-``, by
name). Two forms:

- :func:`query`, every row as a dict (``Connection.get_history``);
- :func:`page`, one keyset page (``Connection.get_history_page``): the
  rows after a marker (the previous page's last row), found by one range
  scan of the ``ix_deployment_history_order`` index, so page 50 costs
  what page 1 does. A page is compact and already in the API's form
  (times and the sync node written by the database, rows as lists under
  one ``columns`` list): the manager does almost no work per row, which
  is what lets many readers page through a 50,000-row history at once.
"""

import datetime
import json

import sqlalchemy as sa

from drydockd.db import models

H = models.DeploymentHistory

# Node names users may give for the sync pseudo-node.
SYNC_NODE_NAMES = ('null', 'sync', 'None')
# How the sync node's id is written in API rows.
SYNC_NODE = 'null'
# The node_id of surrogate rows (never-run graph tasks).
SURROGATE_NODE = '-'
PAGE_COLUMNS = ('task_name', 'node_id', 'status', 'time_start', 'time_end',
                'custom')
_NOT_STARTED = datetime.datetime.strptime(models.NOT_STARTED,
                                          '%Y-%m-%d %H:%M:%S.%f')


def _node_clause(nodes):
    ids = [n for n in nodes if n not in SYNC_NODE_NAMES]
    clauses = [H.node_id.in_(ids)] if ids else []
    if len(ids) != len(nodes):
        clauses.append(H.node_id.is_(None))
    return sa.or_(*clauses)


def _select(columns, task_id, nodes, statuses, names):
    stmt = sa.select(*columns).where(H.task_id == task_id)
    if nodes:
        stmt = stmt.where(_node_clause(nodes))
    if statuses:
        stmt = stmt.where(H.status.in_(statuses))
    if names:
        stmt = stmt.where(H.deployment_graph_task_name.in_(names))
    return stmt.order_by(*models.HISTORY_ORDER)


def _surrogates_wanted(nodes, statuses):
    return not nodes and (not statuses or 'skipped' in statuses)


def query(session, task_id, nodes, statuses, names, include_summary):
    """Rows as dicts; see ``Connection.get_history``."""
    columns = [H.deployment_graph_task_name, H.node_id, H.status,
               H.time_start, H.time_end, _json_text(H.custom)]
    if include_summary:
        columns.append(_json_text(H.summary))
    stmt = _select(columns, task_id, nodes, statuses, names)
    rows = [_row(r, include_summary) for r in session.execute(stmt)]
    if _surrogates_wanted(nodes, statuses):
        extra = {'summary': {}} if include_summary else {}
        rows.extend(dict({'task_name': name, 'node_id': SURROGATE_NODE,
                          'status': 'skipped', 'time_start': None,
                          'time_end': None, 'custom': {}}, **extra)
                    for name in _missing(session, task_id, names))
    return rows


def _row(r, include_summary):
    row = {'task_name': r.deployment_graph_task_name,
           'node_id': r.node_id, 'status': r.status,
           'time_start': r.time_start, 'time_end': r.time_end,
           'custom': _decoded(r.custom)}
    if include_summary:
        row['summary'] = _decoded(r.summary)
    return row


def page(session, task_id, nodes, statuses, names, include_summary, limit,
         marker):
    """One page; see ``Connection.get_history_page``."""
    columns = list(PAGE_COLUMNS) + (['summary'] if include_summary else [])
    rows = []
    in_surrogates = marker is not None and marker[1] == SURROGATE_NODE
    if not in_surrogates:
        dialect = session.get_bind().dialect.name
        stmt = _select(_page_columns(dialect, include_summary), task_id,
                       nodes, statuses, names)
        if marker is not None:
            stmt = stmt.where(_after(marker))
        # One row more than asked tells whether another page follows.
        # Core, not the ORM: these are plain columns, and the ORM's row
        # loading would cost as much as everything else on the page.
        rows = [list(r) for r in session.connection().execute(
            stmt.limit(limit + 1))]
        for row in rows:
            row[5:] = map(_decoded, row[5:])
    if len(rows) <= limit and _surrogates_wanted(nodes, statuses):
        after = marker[2] if in_surrogates else None
        extra = [{}] if include_summary else []
        rows.extend([name, SURROGATE_NODE, 'skipped', None, None, {}] + extra
                    for name in _missing(session, task_id, names, after,
                                         limit + 1 - len(rows)))
    more = len(rows) > limit
    del rows[limit:]
    last = rows[-1] if more else None
    return {'columns': columns, 'rows': rows,
            'next': None if last is None else {
                'time_start': last[3], 'node_id': last[1],
                'task_name': last[0]}}


def _page_columns(dialect, include_summary):
    columns = [H.deployment_graph_task_name,
               sa.func.coalesce(H.node_id, SYNC_NODE), H.status,
               _time_text(H.time_start, dialect),
               _time_text(H.time_end, dialect), _json_text(H.custom)]
    if include_summary:
        columns.append(_json_text(H.summary))
    return columns


def _time_text(column, dialect):
    """A time written by the database as the API shows it
    (``2026-11-22T10:00:01.123456Z``, like ``schemas.format_time``)."""
    if dialect == 'postgresql':
        return sa.func.to_char(column, sa.literal_column(
            '\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\''), type_=sa.Text)
    # SQLite keeps SQLAlchemy's text form, 2026-11-22 10:00:01.123456.
    return sa.func.replace(sa.cast(column, sa.Text), ' ', 'T',
                           type_=sa.Text).op('||')('Z')


def _json_text(column):
    """A JSON column read as its text (decoded by :func:`_decoded`)."""
    return sa.cast(column, sa.Text).label(column.key)


def _decoded(text):
    """Most rows carry ``{}``: decoding it is a third of a page's cost."""
    if not text or text == '{}':
        return {}
    return json.loads(text) or {}


def _after(marker):
    """Rows after ``(time_start, node_id, task_name)`` in the order."""
    time_start, node_id, name = marker
    sync = node_id in SYNC_NODE_NAMES
    key = (time_start or _NOT_STARTED,
           models.SYNC_NODE_LENGTH if sync else len(node_id),
           '' if sync else node_id, name)
    return sa.tuple_(*models.HISTORY_ORDER) > sa.tuple_(*[
        sa.literal(value, expr.type)
        for value, expr in zip(key, models.HISTORY_ORDER)])


def _missing(session, task_id, names, after=None, limit=None):
    """Names of graph tasks that never got a row, sorted, after ``after``.

    Only the graph's list of task names is read, not the whole graph.
    """
    all_names = session.execute(
        sa.select(models.Task.graph['task_names'])
        .where(models.Task.id == task_id)).scalar() or []
    wanted = [n for n in all_names if (not names or n in names)
              and (after is None or n > after)]
    if not wanted:
        return []
    seen = set(session.scalars(
        sa.select(H.deployment_graph_task_name).distinct()
        .where(H.task_id == task_id,
               H.deployment_graph_task_name.in_(wanted))))
    return sorted(set(wanted) - seen)[:limit]
