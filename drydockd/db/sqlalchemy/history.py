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
  one ``columns`` list, or on PostgreSQL one JSON text of rows or of
  columns that the database wrote): the manager does almost no work per
  row, which is what lets many readers page through a 50,000-row history
  at once.
"""

import json

import sqlalchemy as sa

from drydockd.db import history_pages as pages
from drydockd.db import models
from drydockd.db.history_pages import SURROGATE_NODE
from drydockd.db.history_pages import SYNC_NODE
from drydockd.db.history_pages import SYNC_NODE_NAMES

H = models.DeploymentHistory


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


def query(session, task_id, nodes, statuses, names, include_summary):
    """Rows as dicts; see ``Connection.get_history``."""
    columns = [H.deployment_graph_task_name, H.node_id, H.status,
               H.time_start, H.time_end, _json_text(H.custom)]
    if include_summary:
        columns.append(_json_text(H.summary))
    stmt = _select(columns, task_id, nodes, statuses, names)
    rows = [_row(r, include_summary) for r in session.execute(stmt)]
    if pages.surrogates_wanted(nodes, statuses):
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
           'custom': pages.decoded(r.custom)}
    if include_summary:
        row['summary'] = pages.decoded(r.summary)
    return row


def page(session, task_id, nodes, statuses, names, include_summary, limit,
         marker, layout='rows'):
    """One page; see ``Connection.get_history_page``."""
    def scan(limit):
        stmt = _select(_page_columns(session, include_summary), task_id,
                       nodes, statuses, names)
        if marker is not None:
            stmt = stmt.where(_after(marker))
        if session.get_bind().dialect.name == 'postgresql':
            written = _columnar if layout == 'columns' else _aggregated
            return [], *written(session, stmt, limit)
        # Core, not the ORM: these are plain columns, and the ORM's row
        # loading would cost as much as everything else on the page. One
        # row more than the page tells whether another page follows.
        return pages.listed(session.connection().execute(
            stmt.limit(limit + 1)), limit)

    def missing(after, limit):
        return _missing(session, task_id, names, after, limit)

    return pages.page(scan, missing, nodes, statuses, include_summary,
                      limit, marker, layout)


def _aggregated(session, stmt, limit):
    """PostgreSQL writes the page as one JSON text (``json_agg``).

    Nothing is built per row in Python: the manager passes the text on
    (RPC 1.5), and the reader decodes it in C. Returns the text, whether
    more rows follow, the page's last row (decoded, for the marker) and
    its widest output (``_widest``).
    """
    from sqlalchemy.dialects import postgresql  # not for SQLite's CLI reads
    numbered = stmt.add_columns(sa.func.row_number().over(
        order_by=models.HISTORY_ORDER).label('rn')).limit(limit + 1)
    numbered = numbered.subquery()
    row = sa.func.json_build_array(*[c for c in numbered.c if c.key != 'rn'])
    rn = numbered.c.rn

    def agg(*where):
        return sa.cast(sa.func.json_agg(postgresql.aggregate_order_by(
            row, rn)).filter(*where), sa.Text)

    text, count, last, widest = session.connection().execute(sa.select(
        sa.func.coalesce(agg(rn <= limit), '[]'), sa.func.count(),
        agg(rn == limit), _widest(numbered.c))).one()
    more = count > limit
    return text, more, json.loads(last)[0] if more else None, widest


def _widest(columns):
    """The longest JSON text among the ``custom`` and ``summary`` values
    of ``columns`` (the row past the page counts too: never less)."""
    return sa.func.greatest(0, *[
        sa.func.max(sa.func.length(sa.cast(c, sa.Text)))
        for c in columns if c.key in ('custom', 'summary')])


def _columnar(session, stmt, limit):
    """PostgreSQL writes the page as one columnar JSON text: a list of
    values per column (RPC 1.6).

    Each column is gathered once (``array_agg``) from the ordered, limited
    scan, then cut to ``limit`` values: no window function and no sort
    inside the aggregates, which together cost a third of the 1.5 page.
    The aggregate reads the rows as the subquery's ``ORDER BY ... LIMIT``
    hands them over (nothing is joined or run in parallel below a
    ``Limit``); the paging tests compare every page with the ordered
    whole history. Returns the text, whether more rows follow, the
    page's last row (its name, node and start, for the marker) and its
    widest output (``_widest``).
    """
    from sqlalchemy.dialects import postgresql  # not for SQLite's CLI reads
    scan = stmt.limit(limit + 1).subquery()
    arrays = sa.select(sa.func.count().label('n'),
                       _widest(scan.c).label('widest'), *[
        postgresql.array_agg(c).label(c.key) for c in scan.c]).subquery()
    values = [c for c in arrays.c if c.key not in ('n', 'widest')]
    names, node_ids, starts = (arrays.c.task_name, arrays.c.node_id,
                               arrays.c.time_start)
    text, count, widest, name, node_id, start = session.connection().execute(
        sa.select(sa.cast(sa.func.json_build_array(*[
            sa.func.to_json(c[1:limit]) for c in values]), sa.Text),
            arrays.c.n, arrays.c.widest, names[limit], node_ids[limit],
            starts[limit])).one()
    if not count:
        return json.dumps([[] for _ in values]), False, None, 0
    more = count > limit
    return (text, more, [name, node_id, None, start] if more else None,
            widest)


def _page_columns(session, include_summary):
    dialect = session.get_bind().dialect.name
    # JSON columns as JSON where the database builds the page, else text.
    json_column = _json_object if dialect == 'postgresql' else _json_text
    columns = [H.deployment_graph_task_name.label('task_name'),
               sa.func.coalesce(H.node_id, SYNC_NODE).label('node_id'),
               H.status.label('status'),
               _time_text(H.time_start, dialect).label('time_start'),
               _time_text(H.time_end, dialect).label('time_end'),
               json_column(H.custom)]
    if include_summary:
        columns.append(json_column(H.summary))
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


def _json_object(column):
    """A JSON column as JSON, ``{}`` where it holds null (as
    ``pages.decoded`` reads it). The stored text is passed on as it is,
    not parsed again (a ``json`` column's text is already checked)."""
    return sa.case((sa.or_(column.is_(None),
                           sa.cast(column, sa.Text) == 'null'),
                    sa.literal_column("'{}'::json", sa.JSON)),
                   else_=column).label(column.key)


def _json_text(column):
    """A JSON column read as its text (decoded by ``pages.decoded``)."""
    return sa.cast(column, sa.Text).label(column.key)


def _after(marker):
    """Rows after ``(time_start, node_id, task_name)`` in the order."""
    return sa.tuple_(*models.HISTORY_ORDER) > sa.tuple_(*[
        sa.literal(value, expr.type)
        for value, expr in zip(pages.marker_key(marker),
                               models.HISTORY_ORDER)])


def _missing(session, task_id, names, after=None, limit=None):
    """Names of graph tasks that never got a row, sorted, after ``after``.

    Only the graph's list of task names is read, not the whole graph.
    """
    graph_names = session.execute(
        sa.select(models.Task.graph['task_names'])
        .where(models.Task.id == task_id)).scalar()

    def seen_of(wanted):
        return session.scalars(
            sa.select(H.deployment_graph_task_name).distinct()
            .where(H.task_id == task_id,
                   H.deployment_graph_task_name.in_(wanted)))

    return pages.missing_names(graph_names, names, after, seen_of, limit)
