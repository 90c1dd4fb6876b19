"""The one DB API: an abstract Connection and the factory for its backend.

Callers (the manager's endpoints and leader duties, the receiver) only
ever use these methods; only ``drydockd.db.sqlalchemy`` opens sessions
(and ``drydockd.db.sqlite_reads`` answers the embedded CLI's commonest
reads without SQLAlchemy).
Every method returns plain dicts so results can cross RPC unchanged.
"""

import abc


def is_row_id(ident):
    """True if ``ident`` names a row by its integer id (an int, or ASCII
    digits), not by its uuid or name."""
    return isinstance(ident, int) or (str(ident).isascii()
                                      and str(ident).isdigit())


def get_instance(conf):
    """Return the Connection for ``conf.database.connection``."""
    from drydockd.db.sqlalchemy import api as sqla_api
    return sqla_api.get_connection(conf)


class Connection(abc.ABC):

    @abc.abstractmethod
    def sync_nodes(self, nodes, design_ref=None):
        """Insert or update nodes from a site design (by id).

        :param nodes: dicts with id, name, roles, labels, tags, rack and oob.
        :param design_ref: the design they came from (kept per node).
        :raises: InvalidInput if a name is already used by another id.
        """

    @abc.abstractmethod
    def list_nodes(self, ids=None):
        """Nodes (without credentials), ordered by id."""

    @abc.abstractmethod
    def get_node(self, ident):
        """A node by id or name, without its credential.

        :raises: NodeNotFound.
        """

    @abc.abstractmethod
    def list_agent_work(self):
        """Nodes whose agent has work now: an agent action's subtask of
        theirs is open and its parent holds them.

        :returns: dicts with node_id, node_name, task (the parent's uuid),
            action, design_ref and since (when the executor handed the
            node to its agent, right after its power cycle; None before),
            ordered by node id.
        """

    @abc.abstractmethod
    def start_task(self, values, node_ids, history=(), node_status=None,
                   subtasks=False):
        """Create a task, lock its nodes and write its pending history.

        One transaction: the task row (status ``requested``; ``values``
        may give its ``uuid``, else a new one is drawn), a
        reservation of every node in ``node_ids`` (refused if a running
        task holds one), the nodes' status reset to ``node_status``, and
        one ``pending`` history row per ``(node_id, task_name)``, and
        with ``subtasks`` one queued subtask per node.

        :raises: NodeLocked naming the nodes and the holding task.
        :returns: the task dict.
        """

    @abc.abstractmethod
    def record_task(self, values, result_status, message, messages=()):
        """Create a task that is already over, in one transaction.

        For actions that end at once (design validation): the task row,
        its status messages (dicts with message, error, context_type,
        context) and its end are written together, so a failure leaves no
        task behind.

        :returns: the task dict.
        """

    @abc.abstractmethod
    def update_task(self, task_id, **values):
        """Update columns of a task; ``status`` never moves backwards and
        an ended task does not change. Like every write of a task row,
        it is a compare-and-set on the status it read (models.Task)."""

    @abc.abstractmethod
    def finish_task(self, task_id, result_status, message, reason=None,
                    status='complete'):
        """End a task, release its nodes and fail its unfinished rows."""

    @abc.abstractmethod
    def get_task(self, ident, with_messages=False):
        """A task by integer id or uuid. :raises: TaskNotFound."""

    @abc.abstractmethod
    def list_tasks(self, statuses=None, include_deleted=False, limit=None,
                   marker=None):
        """Tasks newest first; filters: statuses (list); pages by id:
        at most ``limit`` tasks with ids below ``marker``."""

    @abc.abstractmethod
    def soft_delete_task(self, task_id):
        """Hide a task from listings; its history stays. :raises:
        TaskNotFound."""

    @abc.abstractmethod
    def add_result_messages(self, task_id, messages):
        """Append status messages to a task in one transaction.

        :param messages: dicts with ``message`` and optionally ``error``,
            ``context_type``, ``context`` (at most 255 characters) and
            ``extra``.
        """

    @abc.abstractmethod
    def get_history(self, task_id, nodes=None, statuses=None, names=None,
                    include_summary=False):
        """Deployment history rows of a task, filtered in SQL.

        Ordered by time_start, node, task name. Graph tasks of the task's
        graph with no row at all come back as ``skipped`` with node ``-``
        only when ``nodes`` is not given, after every other row.
        :raises: TaskNotFound.
        """

    @abc.abstractmethod
    def get_history_page(self, task_id, limit, marker=None, nodes=None,
                         statuses=None, names=None, include_summary=False,
                         layout='rows'):
        """One keyset page of :meth:`get_history`, in the API's form.

        :param limit: at most this many rows.
        :param marker: ``(time_start, node_id, task_name)`` of the last
            row of the previous page as the API showed it (``node_id``
            ``null`` for the sync node, ``-`` for a never-run graph task;
            ``time_start`` a datetime or None): only rows after it.
        :returns: ``{'columns': [...], 'rows': [[...], ...], 'next':
            marker dict or None, 'widest': int}``; values JSON-safe
            (times as ``2026-11-22T10:00:01.123456Z``), ``next`` None on
            the last page, ``widest`` the length of the longest JSON text
            among the rows' ``custom`` and ``summary`` values (at least;
            for the manager's output caps, not the API). ``layout``
            ``json``: ``rows_json``, the rows as one JSON text, instead of
            ``rows``; ``columns``: ``columns_json``, one JSON text of a
            list of values per column (in ``columns`` order).
        :raises: TaskNotFound.
        """

    @abc.abstractmethod
    def apply_events(self, events):
        """Apply a batch of events in one transaction.

        :param events: ``drydockd.common.events`` instances, as the
            receiver translated them from reports. The batch is applied as
            a set at a fixed number of statements; applying it again, or
            in another order or cut, gives the same rows.
        :returns: dict of counts: ``applied`` and ``rejected`` graph-task
            events (a rejected one changed no history row), and
            ``unknown_task``, events of a task that does not exist (logged
            and dropped).
        :raises: DatabaseUnavailable when the database (not the events)
            failed; any other exception means an event could not be
            applied.
        """

    @abc.abstractmethod
    def acquire_lease(self, identity, grace):
        """Take or renew the leader lease; True if ``identity`` holds it.

        Taken when free, held by ``identity``, or not renewed for
        ``grace`` seconds.
        """

    @abc.abstractmethod
    def release_lease(self, identity):
        """Give the lease up at once if ``identity`` holds it."""

    @abc.abstractmethod
    def reap_tasks(self, executor_timeout, deploy_timeout):
        """Fail tasks nobody will end, whatever their status.

        ``requested`` tasks no executor reported on within
        ``executor_timeout`` of their creation, tasks whose executor went
        silent that long, and tasks past their deadline end
        ``complete``/``failure`` with the reason (``executor HOST stopped
        reporting``), their nodes ``error`` and released, their unfinished
        history rows ``error``.

        :returns: list of (task id, task uuid, reason); the uuid is None
            for a subtask failed at its deadline.
        """

    @abc.abstractmethod
    def tasks_still_reported(self, window):
        """Ended tasks whose executor still reports on them.

        :param window: only tasks ended within this many seconds.
        :returns: list of (task id, task uuid, time of the last report).
        """

    @abc.abstractmethod
    def stop_task(self, task_id, user):
        """Move a task to ``terminating`` (or end it if none runs it).

        :raises: TaskNotFound; InvalidInput if it already ended.
        """
