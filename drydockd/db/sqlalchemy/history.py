"""The deployment-history query behind ``drydock2 task history show``."""

import sqlalchemy as sa

from drydockd.db import models

H = models.DeploymentHistory

# Node names users may give for the sync pseudo-node.
SYNC_NODE_NAMES = ('null', 'sync', 'None')


def _node_clause(nodes):
    ids = [n for n in nodes if n not in SYNC_NODE_NAMES]
    clauses = [H.node_id.in_(ids)] if ids else []
    if len(ids) != len(nodes):
        clauses.append(H.node_id.is_(None))
    return sa.or_(*clauses)


def query(session, task_id, nodes, statuses, names, include_summary):
    """Rows as dicts; see ``Connection.get_history``."""
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
    # Numeric node ids sort as numbers (shorter strings first); the sync
    # node (NULL) last on every database, as Fuel shows it.
    stmt = stmt.order_by(sa.nulls_last(H.time_start.asc()),
                         sa.nulls_last(sa.func.length(H.node_id).asc()),
                         sa.nulls_last(H.node_id.asc()),
                         H.deployment_graph_task_name)
    rows = [_row(r, include_summary) for r in session.execute(stmt)]
    if not nodes and (not statuses or 'skipped' in statuses):
        rows.extend(_surrogates(session, task_id, names, include_summary))
    return rows


def _row(r, include_summary):
    row = {'task_name': r.deployment_graph_task_name,
           'node_id': r.node_id, 'status': r.status,
           'time_start': r.time_start, 'time_end': r.time_end,
           'custom': r.custom or {}}
    if include_summary:
        row['summary'] = r.summary or {}
    return row


def _surrogates(session, task_id, names, include_summary):
    """Graph tasks that never got a row, shown as skipped on node '-'."""
    graph = session.execute(sa.select(models.Task.graph)
                            .where(models.Task.id == task_id)).scalar()
    all_names = (graph or {}).get('task_names', [])
    if names:
        all_names = [n for n in all_names if n in names]
    if not all_names:
        return []
    seen = set(session.scalars(
        sa.select(H.deployment_graph_task_name).distinct()
        .where(H.task_id == task_id,
               H.deployment_graph_task_name.in_(all_names))))
    extra = {'summary': {}} if include_summary else {}
    return [dict({'task_name': name, 'node_id': '-', 'status': 'skipped',
                  'time_start': None, 'time_end': None, 'custom': {}},
                 **extra)
            for name in sorted(set(all_names) - seen)]
