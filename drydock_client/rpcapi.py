"""Client side of drydock's public RPC API (topic ``drydock``).

This class is the only code that knows RPC method names and versions.

API version history:

    1.0 - Initial version: create_task, get_task, list_tasks, delete_task,
          get_deployment_history.
    1.1 - Added stop_task.
"""

import oslo_messaging as messaging

from drydockd.common import exception


class DrydockAPI:
    """Synchronous (call) and asynchronous (cast) access to the manager.

    :param transport: an oslo.messaging RPC transport.
    :param topic: the manager's topic.
    :param version_cap: highest version to send (rolling upgrades).
    :param timeout: seconds to wait for a reply.
    """

    # NOTE: must be in sync with drydockd.manager.manager.RPC_API_VERSION
    RPC_API_VERSION = '1.1'

    def __init__(self, transport, topic='drydock', version_cap=None,
                 timeout=60):
        target = messaging.Target(topic=topic, version='1.0')
        self.client = messaging.get_rpc_client(
            transport, target, version_cap=version_cap or self.RPC_API_VERSION,
            timeout=timeout)

    def _prepare(self, version):
        return self.client.prepare(version=version)

    def create_task(self, context, action, design_ref, node_filter=None,
                    dry_run=False, cast=False):
        """Create and start a task (sync; async with ``cast=True``).

        :returns: the task document, or None when cast.
        :raises: InvalidInput, UnsupportedAction, DesignError, GraphCycle,
            NodeLocked.
        """
        cctxt = self._prepare('1.0')
        method = cctxt.cast if cast else cctxt.call
        return method(context, 'create_task', action=action,
                      design_ref=design_ref, node_filter=node_filter,
                      dry_run=dry_run)

    def get_task(self, context, task_id):
        """The task document (sync). :raises: TaskNotFound."""
        return self._prepare('1.0').call(context, 'get_task', task_id=task_id)

    def list_tasks(self, context, statuses=None, include_deleted=False):
        """Task summaries, newest first (sync). :raises: InvalidInput."""
        return self._prepare('1.0').call(context, 'list_tasks',
                                         statuses=statuses,
                                         include_deleted=include_deleted)

    def delete_task(self, context, task_id):
        """Soft-delete a task (sync). :raises: TaskNotFound."""
        return self._prepare('1.0').call(context, 'delete_task',
                                         task_id=task_id)

    def get_deployment_history(self, context, task_id, nodes=None,
                               statuses=None, tasks_names=None,
                               include_summary=False):
        """History rows of a task (sync). :raises: TaskNotFound,
        InvalidInput."""
        return self._prepare('1.0').call(
            context, 'get_deployment_history', task_id=task_id, nodes=nodes,
            statuses=statuses, tasks_names=tasks_names,
            include_summary=include_summary)

    def stop_task(self, context, task_id):
        """Stop a task (sync): running graph tasks finish, the rest are
        skipped, the task ends ``terminated``.

        :raises: TaskNotFound; InvalidInput if it already ended or the
            server is older than 1.1 (version_cap).
        """
        if not self.client.can_send_version('1.1'):
            raise exception.InvalidInput(
                reason='stop_task needs RPC API 1.1; version_cap is lower')
        return self._prepare('1.1').call(context, 'stop_task',
                                         task_id=task_id)
