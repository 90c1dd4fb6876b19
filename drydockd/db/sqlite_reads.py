"""Reads of the embedded database without SQLAlchemy (``drydock2``).

On the embedded default every ``drydock2`` command hosts the API in its
own process. Importing SQLAlchemy and the models costs more than half of
the half second a read may take (issue 11), so the reads an operator
types most, ``task show`` and ``task history show``, are answered here
with the standard library's ``sqlite3``. :class:`ReadFirst` is the DB
API the embedded CLI gets: these reads from here, every other call from
the SQLAlchemy backend, loaded on first use.

The SQL is SQLAlchemy's for SQLite, written out: the same columns, the
same history order (the key of ``ix_deployment_history_order``), and
values as the backend returns them (times as naive datetimes, JSON
decoded, booleans as booleans), by each column's declared type. A test
runs every read through both and compares the answers.
"""

import contextlib
import datetime
import json
import sqlite3

from drydockd.common import exception
from drydockd.db import api
from drydockd.db import history_pages as pages

# A column's value as the SQLAlchemy backend returns it, by declared type.
_READ = {'DATETIME': datetime.datetime.fromisoformat, 'JSON': json.loads,
         'BOOLEAN': bool}
# The history order (models.HISTORY_ORDER), as SQLAlchemy writes it.
_ORDER = ("coalesce(time_start, '%s'), coalesce(length(node_id), %d), "
          "coalesce(node_id, ''), deployment_graph_task_name"
          % (pages.NOT_STARTED, pages.SYNC_NODE_LENGTH))
_TIME = "replace(CAST(%s AS TEXT), ' ', 'T') || 'Z'"
_TASK_MESSAGE = ('message', 'error', 'context_type', 'context', 'ts',
                 'extra')


def is_current(path, head):
    """True if the SQLite file at ``path`` exists and records ``head``."""
    try:
        conn = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
    except sqlite3.Error:
        return False
    try:
        return conn.execute(
            'SELECT version_num FROM alembic_version').fetchone() == (head,)
    except sqlite3.Error:
        return False
    finally:
        conn.close()


class Reader:
    """``get_task`` and ``get_history_page`` on one SQLite file."""

    def __init__(self, path):
        # Transactions are begun here (_snapshot), not by the module.
        self.conn = sqlite3.connect(path, isolation_level=None)
        # As the backend's engine does (db.sqlalchemy.engine): wait for a
        # writer rather than fail.
        self.conn.execute('PRAGMA busy_timeout=30000')
        self._types = {}

    def close(self):
        self.conn.close()

    @contextlib.contextmanager
    def _snapshot(self):
        """One read transaction: every query of a call sees the same
        commit of the daemon's, as in the backend's session."""
        self.conn.execute('BEGIN')
        try:
            yield
        finally:
            self.conn.execute('COMMIT')

    def _columns(self, table, skip=()):
        """Names and readers of a table's columns, as declared."""
        if table not in self._types:
            self._types[table] = [
                (name, _READ.get(declared.upper()))
                for _, name, declared, *_ in self.conn.execute(
                    'PRAGMA table_info(%s)' % table)]
        return [c for c in self._types[table] if c[0] not in skip]

    def _rows(self, table, columns, where, params, order=''):
        """Dicts of ``columns`` (name, reader) of the rows matched."""
        names = [name for name, _ in columns]
        found = self.conn.execute('SELECT %s FROM %s WHERE %s%s' % (
            ', '.join(names), table, where, order), params)
        return [{name: value if read is None or value is None
                 else read(value)
                 for (name, read), value in zip(columns, row)}
                for row in found]

    def get_task(self, ident, with_messages=False):
        """As ``Connection.get_task``."""
        with self._snapshot():
            return self._task(ident, with_messages)

    def _task(self, ident, with_messages):
        by_id = api.is_row_id(ident)
        tasks = self._rows('tasks', self._columns('tasks', skip=('graph',)),
                           'id = ?' if by_id else 'uuid = ?',
                           (int(ident) if by_id else str(ident),))
        if not tasks:
            raise exception.TaskNotFound(task=ident)
        task = tasks[0]
        columns = dict(self._columns('tasks'))
        task['subtasks'] = self._rows(
            'tasks', [(c, columns[c]) for c in ('uuid', 'node_id', 'status',
                                                'result_status')],
            'parent_id = ?', (task['id'],), ' ORDER BY node_id')
        if task['parent_id'] is not None:
            task['parent_uuid'] = self.conn.execute(
                'SELECT uuid FROM tasks WHERE id = ?',
                (task['parent_id'],)).fetchone()[0]
        if with_messages:
            columns = dict(self._columns('result_message'))
            task['messages'] = self._rows(
                'result_message', [(c, columns[c]) for c in _TASK_MESSAGE],
                'task_id = ?', (task['id'],), ' ORDER BY sequence')
        return task

    def get_history_page(self, task_id, limit, marker=None, nodes=None,
                         statuses=None, names=None, include_summary=False,
                         layout='rows'):
        """As ``Connection.get_history_page``."""
        with self._snapshot():
            return self._page(task_id, limit, marker, nodes, statuses,
                              names, include_summary, layout)

    def _page(self, task_id, limit, marker, nodes, statuses, names,
              include_summary, layout):
        if self.conn.execute('SELECT id FROM tasks WHERE id = ?',
                             (task_id,)).fetchone() is None:
            raise exception.TaskNotFound(task=task_id)
        where, params = _filters(task_id, nodes, statuses, names)

        def scan(limit):
            clauses, values = list(where), list(params)
            if marker is not None:
                key = list(pages.marker_key(marker))
                key[0] = key[0].strftime(pages.STORED_TIME)
                clauses.append('(%s) > (?, ?, ?, ?)' % _ORDER)
                values += key
            summary = ', CAST(summary AS TEXT)' if include_summary else ''
            return pages.listed(self.conn.execute(
                "SELECT deployment_graph_task_name, coalesce(node_id, "
                "'%s'), status, %s, %s, CAST(custom AS TEXT)%s FROM "
                "deployment_history WHERE %s ORDER BY %s LIMIT ?" % (
                    pages.SYNC_NODE, _TIME % 'time_start',
                    _TIME % 'time_end', summary, ' AND '.join(clauses),
                    _ORDER), values + [limit + 1]), limit)

        def missing(after, limit):
            return self._missing(task_id, names, after, limit)

        return pages.page(scan, missing, nodes, statuses, include_summary,
                          limit, marker, layout)

    def _missing(self, task_id, names, after, limit):
        """As ``db.sqlalchemy.history._missing``."""
        found = self.conn.execute(
            "SELECT json_extract(graph, '$.task_names') FROM tasks "
            "WHERE id = ?", (task_id,)).fetchone()[0]

        def seen_of(wanted):
            return [name for name, in self.conn.execute(
                'SELECT DISTINCT deployment_graph_task_name FROM '
                'deployment_history WHERE task_id = ? AND '
                'deployment_graph_task_name IN (%s)' % _marks(wanted),
                [task_id] + wanted)]

        return pages.missing_names(json.loads(found or '[]'), names, after,
                                   seen_of, limit)


def _marks(values):
    return ', '.join('?' * len(values))


def _filters(task_id, nodes, statuses, names):
    """WHERE clauses and parameters, as ``history._select`` filters."""
    where, params = ['task_id = ?'], [task_id]
    if nodes:
        ids = [n for n in nodes if n not in pages.SYNC_NODE_NAMES]
        either = ['node_id IN (%s)' % _marks(ids)] if ids else []
        if len(ids) != len(nodes):
            either.append('node_id IS NULL')
        where.append('(%s)' % ' OR '.join(either))
        params += ids
    for column, values in (('status', statuses),
                           ('deployment_graph_task_name', names)):
        if values:
            where.append('%s IN (%s)' % (column, _marks(values)))
            params += list(values)
    return where, params


class ReadFirst:
    """The embedded CLI's DB API: :class:`Reader`'s reads, and every
    other method from the full backend that ``load()`` returns, loaded
    the first time one is called."""

    READS = ('get_task', 'get_history_page')

    def __init__(self, path, load):
        self._reader = Reader(path)
        self._load = load
        self._full = None

    def __getattr__(self, name):
        if name in self.READS:
            return getattr(self._reader, name)
        if self._full is None:
            self._full = self._load()
        return getattr(self._full, name)

    def close(self):
        self._reader.close()
