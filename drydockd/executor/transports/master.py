"""Graph tasks on the master node run only as the site allows.

The manager refuses a design whose master tasks the site does not allow
(site.policy), but the executor is the one that would run them, as its
own user on the master node: it checks every master task again against
its own config before the node transport sees it, so a work message from
anyone who can write to the executor queue, or from a manager configured
differently, runs nothing on the master that this executor's config does
not list.
"""

import logging

from drydockd.executor.transports import base
from drydockd.graph.vocabulary import MASTER

LOG = logging.getLogger(__name__)


class MasterGuard(base.NodeTransport):
    """:param inner: the node transport that runs allowed tasks.
    :param policy: this executor's site.policy.Policy.
    """

    def __init__(self, inner, policy):
        self.inner = inner
        self.policy = policy

    def start(self, uid, task, timeout, on_done):
        if str(uid) == MASTER:
            reason = self.policy.master_refusal(task)
            if reason is not None:
                LOG.warning('Refused master task %s: %s', task.get('id'),
                            reason)
                on_done(False, 'refused on this executor: task %s %s'
                        % (task.get('id'), reason))
                return None
        return self.inner.start(uid, task, timeout, on_done)

    def close(self):
        self.inner.close()
