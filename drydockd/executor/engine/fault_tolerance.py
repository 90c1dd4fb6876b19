"""Fault-tolerance groups: when too many nodes of a role fail, stop.

``tasks_metadata['fault_tolerance_groups']`` is Astute's list of
``{name, node_ids, fault_tolerance}``; ``fault_tolerance`` is how many of
the group's nodes may fail (the manager turned a design percentage into a
count). A node fails the first time one of its rows ends ``error``, its
own failure or a failed dependency alike: either way it was not deployed.
When a group's failed count goes above its tolerance the engine stops the
deployment gracefully (Engine._halt). Nodes outside every group never stop
the deployment; their failure only fails their dependants.
"""

import logging

LOG = logging.getLogger(__name__)


class Tracker:

    def __init__(self, groups, uids):
        """:param groups: the metadata list (None or [] for none).
        :param uids: node index -> uid, as in model.Graph.uids.
        """
        self.names, self.tolerance, self.size = [], [], []
        self.failed = []
        self.groups_of = [[] for _ in uids]
        index = {uid: n for n, uid in enumerate(uids)}
        for group in groups or ():
            members = [index[str(u)] for u in group.get('node_ids') or ()
                       if str(u) in index]
            if not members:
                continue
            g = len(self.names)
            self.names.append(str(group.get('name', 'group%d' % g)))
            self.tolerance.append(_count(group.get('fault_tolerance')))
            self.size.append(len(members))
            self.failed.append(0)
            for n in members:
                self.groups_of[n].append(g)

    def node_failed(self, node):
        """Count a newly failed node; returns the reason to stop, or None.

        Call once per node (the engine remembers which nodes failed).
        """
        reason = None
        for g in self.groups_of[node]:
            self.failed[g] += 1
            if self.failed[g] == self.tolerance[g] + 1 and reason is None:
                reason = ('fault tolerance of group %s exceeded: %d of %d '
                          'nodes failed, %d allowed'
                          % (self.names[g], self.failed[g], self.size[g],
                             self.tolerance[g]))
        return reason


def _count(value):
    """A tolerance count; anything unusable is 0 (the safe reading)."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        LOG.warning('Fault tolerance %r is not a count; using 0', value)
        return 0
