"""Client side of drydock's public RPC API (topic ``drydock``).

This class is the only code that knows RPC method names and versions.

API version history:

    1.0 - Initial version: create_task, get_task, list_tasks, delete_task,
          get_deployment_history.
    1.1 - Added stop_task.
    1.2 - Added list_nodes, get_node, set_node_power; create_task takes
          verify_site, prepare_site, verify_nodes, prepare_nodes,
          provision_nodes and destroy_nodes.
    1.3 - list_tasks takes limit and marker (pagination by id).
    1.4 - create_task takes all_nodes (required for prepare_nodes,
          provision_nodes and destroy_nodes over the whole site);
          set_node_power takes dry_run; get_deployment_history takes
          limit and marker (keyset pages).
"""

import oslo_messaging as messaging

from drydockd.common import exception


class DrydockAPI:
    """Synchronous (call) and asynchronous (cast) access to the manager.

    :param transport: an oslo.messaging RPC transport.
    :param topic: the manager's topic.
    :param version_cap: highest version to send (rolling upgrades).
    :param timeout: seconds to wait for a reply.
    :param retry: connection retries per message (None: forever).
    """

    # NOTE: must be in sync with drydockd.manager.manager.RPC_API_VERSION
    RPC_API_VERSION = '1.4'
    # Rows per get_deployment_history page when fetching every page.
    HISTORY_PAGE = 5000

    def __init__(self, transport, topic='drydock', version_cap=None,
                 timeout=60, retry=None):
        target = messaging.Target(topic=topic, version='1.0')
        self.client = messaging.get_rpc_client(
            transport, target, version_cap=version_cap or self.RPC_API_VERSION,
            timeout=timeout, retry=retry)

    def _prepare(self, version):
        return self.client.prepare(version=version)

    def create_task(self, context, action, design_ref, node_filter=None,
                    dry_run=False, cast=False, all_nodes=False):
        """Create and start a task (sync; async with ``cast=True``).

        ``all_nodes`` (1.4) asks for every node of the design.

        :returns: the task document, or None when cast.
        :raises: InvalidInput, UnsupportedAction, DesignError, GraphCycle,
            NodeLocked.
        """
        kwargs = {'action': action, 'design_ref': design_ref,
                  'node_filter': node_filter, 'dry_run': dry_run}
        version = '1.0'
        if all_nodes:
            version = self._require('1.4', 'create_task with all_nodes')
            kwargs['all_nodes'] = all_nodes
        cctxt = self._prepare(version)
        method = cctxt.cast if cast else cctxt.call
        return method(context, 'create_task', **kwargs)

    def get_task(self, context, task_id):
        """The task document (sync). :raises: TaskNotFound."""
        return self._prepare('1.0').call(context, 'get_task', task_id=task_id)

    def list_tasks(self, context, statuses=None, include_deleted=False,
                   limit=None, marker=None):
        """Task summaries, newest first (sync). ``limit``/``marker`` (1.3)
        page by id: at most ``limit`` tasks with ids below ``marker``.

        :raises: InvalidInput.
        """
        if limit is None and marker is None:
            return self._prepare('1.0').call(
                context, 'list_tasks', statuses=statuses,
                include_deleted=include_deleted)
        self._require('1.3', 'list_tasks with limit or marker')
        return self._prepare('1.3').call(
            context, 'list_tasks', statuses=statuses,
            include_deleted=include_deleted, limit=limit, marker=marker)

    def delete_task(self, context, task_id):
        """Soft-delete a task (sync). :raises: TaskNotFound."""
        return self._prepare('1.0').call(context, 'delete_task',
                                         task_id=task_id)

    def get_deployment_history(self, context, task_id, nodes=None,
                               statuses=None, tasks_names=None,
                               include_summary=False, limit=None,
                               marker=None):
        """History rows of a task (sync).

        Without ``limit`` and ``marker``: every row, fetched page by page
        from a 1.4 manager (in one call from an older one). With either
        (1.4): one page, ``{'columns': [...], 'rows': [[...]], 'next':
        marker or None}``, of the rows after ``marker`` (the previous
        page's ``next``).

        :raises: TaskNotFound, InvalidInput.
        """
        query = {'task_id': task_id, 'nodes': nodes, 'statuses': statuses,
                 'tasks_names': tasks_names,
                 'include_summary': include_summary}
        if limit is not None or marker is not None:
            self._require('1.4', 'get_deployment_history with limit or '
                                 'marker')
            return self._prepare('1.4').call(
                context, 'get_deployment_history', limit=limit,
                marker=marker, **query)
        if not self.client.can_send_version('1.4'):
            return self._prepare('1.0').call(
                context, 'get_deployment_history', **query)
        rows, marker = [], None
        while True:
            page = self._prepare('1.4').call(
                context, 'get_deployment_history', limit=self.HISTORY_PAGE,
                marker=marker, **query)
            columns = page['columns']
            rows.extend(dict(zip(columns, row)) for row in page['rows'])
            marker = page['next']
            if marker is None:
                return rows

    def stop_task(self, context, task_id):
        """Stop a task (sync): running graph tasks finish, the rest are
        skipped, the task ends ``terminated``.

        :raises: TaskNotFound; InvalidInput if it already ended or the
            server is older than 1.1 (version_cap).
        """
        self._require('1.1', 'stop_task')
        return self._prepare('1.1').call(context, 'stop_task',
                                         task_id=task_id)

    def _require(self, version, method):
        if not self.client.can_send_version(version):
            raise exception.InvalidInput(
                reason='%s needs RPC API %s; version_cap is lower'
                % (method, version))
        return version

    def list_nodes(self, context):
        """Every node, without credentials (sync)."""
        self._require('1.2', 'list_nodes')
        return self._prepare('1.2').call(context, 'list_nodes')

    def get_node(self, context, node_id):
        """One node by id or name (sync). :raises: NodeNotFound."""
        self._require('1.2', 'get_node')
        return self._prepare('1.2').call(context, 'get_node',
                                         node_id=node_id)

    def set_node_power(self, context, node_id, power, dry_run=False):
        """Power on/off/cycle/status one node (sync: returns the task).
        ``dry_run`` (1.4) touches nothing and says what it would do.

        :raises: NodeNotFound, InvalidInput, NodeLocked.
        """
        if dry_run:
            return self._prepare(self._require(
                '1.4', 'set_node_power with dry_run')).call(
                context, 'set_node_power', node_id=node_id, power=power,
                dry_run=dry_run)
        self._require('1.2', 'set_node_power')
        return self._prepare('1.2').call(context, 'set_node_power',
                                         node_id=node_id, power=power)
