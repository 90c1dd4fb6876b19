"""The words of a deployment graph, defined once.

A ``tasks_graph`` is keyed by node uid: a node id as a string, ``master``
for the master node, or ``null`` for the sync pseudo-node that holds
cluster-wide stage tasks (``None`` on the wire and in the database).
"""

SYNC = 'null'       # tasks_graph key of the sync pseudo-node
MASTER = 'master'   # tasks_graph key of the master node

TASK_TYPES = ('shell', 'master_shell', 'reboot', 'power_on', 'power_off',
              'sync', 'stage', 'skipped', 'noop')
# Placed on the sync pseudo-node whatever their roles.
SYNC_TYPES = frozenset(('stage', 'sync'))
# End the moment their dependencies do; they take no node.
INSTANT_TYPES = frozenset(('stage', 'sync', 'noop', 'skipped'))
# Act on the machine through its BMC rather than through the node.
POWER_TYPES = frozenset(('reboot', 'power_on', 'power_off'))
# Need no node with one of their roles.
UNPLACED_TYPES = frozenset(('stage', 'sync', 'master_shell', 'skipped',
                            'noop'))


def roles_of(task):
    """A task's roles (``roles`` or Fuel's ``groups``) as a list."""
    roles = task.get('roles', task.get('groups')) or []
    return [roles] if isinstance(roles, str) else list(roles)


def wire_uid(uid):
    """tasks_graph key -> report/database uid (the sync node is None)."""
    return None if uid == SYNC else uid
