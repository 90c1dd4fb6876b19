"""The deployment-history query behind ``drydock2 task history show``.

Rows come in the order of ``models.HISTORY_ORDER``, then the surrogate
``skipped`` rows of graph tasks that never got a row (node ``-``, by
name). A page is keyset-paged: the rows after the marker (the previous
page's last row) in that order, found by one range scan of the
``ix_deployment_history_order`` index, so reading page 50 costs what
reading page 1 does.
"""

import datetime

import sqlalchemy as sa

from drydockd.db import models

H = models.DeploymentHistory

# Node names users may give for the sync pseudo-node.
SYNC_NODE_NAMES = ('null', 'sync', 'None')
# The node_id of surrogate rows (never-run graph tasks).
SURROGATE_NODE = '-'
_NOT_STARTED = datetime.datetime.strptime(models.NOT_STARTED,
                                          '%Y-%m-%d %H:%M:%S.%f')


def _node_clause(nodes):
    ids = [n for n in nodes if n not in SYNC_NODE_NAMES]
    clauses = [H.node_id.in_(ids)] if ids else []
    if len(ids) != len(nodes):
        clauses.append(H.node_id.is_(None))
    return sa.or_(*clauses)


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


def query(session, task_id, nodes, statuses, names, include_summary,
          limit=None, marker=None):
    """Rows as dicts; see ``Connection.get_history``."""
    rows = []
    in_surrogates = marker is not None and marker[1] == SURROGATE_NODE
    if not in_surrogates:
        rows = _rows(session, task_id, nodes, statuses, names,
                     include_summary, limit, marker)
        if limit is not None and len(rows) >= limit:
            return rows
    if not nodes and (not statuses or 'skipped' in statuses):
        rows.extend(_surrogates(
            session, task_id, names, include_summary,
            after=marker[2] if in_surrogates else None,
            limit=None if limit is None else limit - len(rows)))
    return rows


def _rows(session, task_id, nodes, statuses, names, include_summary, limit,
          marker):
    columns = [H.deployment_graph_task_name, H.node_id, H.status,
               H.time_start, H.time_end, H.custom]
    if include_summary:
        columns.append(H.summary)
    stmt = sa.select(*columns).where(H.task_id == task_id)
    if nodes:
        stmt = stmt.where(_node_clause(nodes))
    if statuses:
        stmt = stmt.where(H.status.in_(statuses))
    if names:
        stmt = stmt.where(H.deployment_graph_task_name.in_(names))
    if marker is not None:
        stmt = stmt.where(_after(marker))
    stmt = stmt.order_by(*models.HISTORY_ORDER)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_row(r, include_summary) for r in session.execute(stmt)]


def _row(r, include_summary):
    row = {'task_name': r.deployment_graph_task_name,
           'node_id': r.node_id, 'status': r.status,
           'time_start': r.time_start, 'time_end': r.time_end,
           'custom': r.custom or {}}
    if include_summary:
        row['summary'] = r.summary or {}
    return row


def _surrogates(session, task_id, names, include_summary, after=None,
                limit=None):
    """Graph tasks that never got a row, shown as skipped on node '-'.

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
    extra = {'summary': {}} if include_summary else {}
    missing = sorted(set(wanted) - seen)
    return [dict({'task_name': name, 'node_id': SURROGATE_NODE,
                  'status': 'skipped', 'time_start': None, 'time_end': None,
                  'custom': {}}, **extra)
            for name in missing[:limit]]
