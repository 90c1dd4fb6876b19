"""Set-based history reads and writes: the receiver's batches, and the
pending rows a deployment starts with.

A batch names thousands of (task, node, graph task) rows, a deployment
hundreds of thousands. Both databases get one statement per direction,
whatever the batch size:

- PostgreSQL: a join against ``unnest()`` of key arrays, and one
  ``UPDATE ... FROM unnest()`` keyed by id. A long row-value ``IN`` list
  costs PostgreSQL more to plan than to run (about 50 ms per 500 keys),
  and an executemany UPDATE one statement per row.
- SQLite (the embedded default): chunked row-value ``IN`` lists, and an
  executemany UPDATE, which is cheap in-process.
"""

import json

import sqlalchemy as sa

from drydockd.db import models

H = models.DeploymentHistory
_CHUNK = 500
# Pending rows of one task past which the table's statistics are
# refreshed at once (insert_pending).
ANALYZE_AFTER = 10000
_COLUMNS = ('id', 'task_id', 'node_id', 'deployment_graph_task_name',
            'status', 'time_start', 'time_end', 'custom')

_PG_LOAD = """
    SELECT h.id, h.task_id, h.node_id, h.deployment_graph_task_name,
           h.status, h.time_start, h.time_end, h.custom %s
    FROM unnest(CAST(:t AS integer[]), CAST(:n AS text[]),
                CAST(:m AS text[])) AS k(t, n, m)
    JOIN deployment_history AS h
      ON h.task_id = k.t AND COALESCE(h.node_id, '') = k.n
     AND h.deployment_graph_task_name = k.m"""
_PG_WRITE = """
    UPDATE deployment_history AS h
    SET status = v.status, time_start = v.ts, time_end = v.te,
        custom = CAST(v.custom AS json) %s
    FROM unnest(CAST(:id AS integer[]), CAST(:st AS text[]),
                CAST(:ts AS timestamp[]), CAST(:te AS timestamp[]),
                CAST(:cu AS text[]), CAST(:su AS text[]))
         AS v(id, status, ts, te, custom, summary)
    WHERE h.id = v.id"""


_PG_PENDING = """
    INSERT INTO deployment_history
        (task_id, node_id, deployment_graph_task_name, status, custom,
         summary)
    SELECT :t, k.n, k.m, 'pending', CAST('{}' AS json), CAST('{}' AS json)
    FROM unnest(CAST(:n AS text[]), CAST(:m AS text[])) AS k(n, m)"""


def insert_pending(session, task_id, history):
    """One ``pending`` row per ``(node_id, name)`` of ``history``.

    PostgreSQL gets one ``INSERT ... SELECT FROM unnest()`` (240,000 rows
    of a 5,000-node deployment in a few seconds, where an executemany
    INSERT took about half a minute); SQLite an executemany.

    Past ``ANALYZE_AFTER`` rows PostgreSQL's statistics of the table are
    refreshed in the same transaction: until autovacuum gets to it (a
    minute or more), the planner does not know the rows are there and
    hash-joins a scan of the whole table into every receiver batch's
    UPDATE (106 ms per 500-row batch at 100,000 rows, 34 ms through the
    primary key), so a large deployment's reports cost the square of
    its size (decision 53).
    """
    if not history:
        return
    if _postgres(session):
        nodes, names = zip(*history)
        session.execute(sa.text(_PG_PENDING),
                        {'t': task_id, 'n': list(nodes), 'm': list(names)})
        if len(history) >= ANALYZE_AFTER:
            session.execute(sa.text('ANALYZE deployment_history'))
        return
    session.execute(sa.insert(H), [
        {'task_id': task_id, 'node_id': node_id,
         'deployment_graph_task_name': name, 'status': 'pending',
         'custom': {}, 'summary': {}} for node_id, name in history])


def _postgres(session):
    return session.get_bind().dialect.name == 'postgresql'


def load_rows(session, keys, with_summary):
    """Rows for ``(task_id, node_id or '', name)`` keys, as dicts."""
    keys = list(keys)
    if not keys:
        return []
    if _postgres(session):
        t, n, m = zip(*keys)
        sql = _PG_LOAD % (', h.summary' if with_summary else '')
        return [dict(r) for r in session.execute(
            sa.text(sql), {'t': list(t), 'n': list(n), 'm': list(m)})
            .mappings()]
    columns = [getattr(H, c) for c in _COLUMNS]
    if with_summary:
        columns.append(H.summary)
    rows = []
    for start in range(0, len(keys), _CHUNK):
        stmt = sa.select(*columns).where(
            sa.tuple_(H.task_id, sa.func.coalesce(H.node_id, ''),
                      H.deployment_graph_task_name)
            .in_(keys[start:start + _CHUNK]))
        rows.extend(dict(r) for r in session.execute(stmt).mappings())
    return rows


def write_rows(session, rows):
    """Write back changed rows (dicts with id, status, times, custom and,
    when loaded, summary)."""
    if not rows:
        return
    if not _postgres(session):
        session.execute(sa.update(H), rows)
        return
    summary = 'summary' in rows[0]
    sql = _PG_WRITE % (', summary = CAST(v.summary AS json)'
                       if summary else '')
    session.execute(sa.text(sql), {
        'id': [r['id'] for r in rows],
        'st': [r['status'] for r in rows],
        'ts': [r['time_start'] for r in rows],
        'te': [r['time_end'] for r in rows],
        'cu': [json.dumps(r['custom']) for r in rows],
        'su': [json.dumps(r.get('summary')) for r in rows]})
