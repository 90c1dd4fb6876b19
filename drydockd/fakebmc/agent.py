"""The simulated node agent: tells drydock a node finished provisioning.

A real node's agent reports from the freshly booted OS; the simulator
reports from the BMC process instead, on the same work plane and in the
same message (``node_agent_resp``, on the agent-report exchange, as the
broker user of ``config_file``), so the receiver cannot tell the two
apart.
"""

import logging

from drydockd.fakebmc import fleet
from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)


class Agent:
    """``on_provisioned`` callback for :class:`fleet.Fleet`.

    :param config_file: a drydock config naming the work plane
        (``work_transport_url``, ``[receiver] queue``).
    :param specs: the fleet's node specs; their node ids are those of
        the design ``--write-design`` writes (``fleet.node_ids``).
    """

    def __init__(self, config_file, specs):
        from drydockd.conf import config
        from drydockd.messaging import publisher
        conf = config.parse_args(['--config-file', config_file])
        self._publisher = publisher.Publisher(conf)
        self._uids = {spec.name: str(node_id)
                      for node_id, spec in fleet.node_ids(specs)}

    def __call__(self, node_name):
        uid = self._uids[node_name]
        body = schemas.report('node_agent_resp', None, nodes=[
            schemas.node_entry(uid, schemas.utcnow(), status='provisioned',
                               progress=100)])
        try:
            # Bounded retries: this runs on the fleet's timer thread.
            self._publisher.agent_to_receiver(body)
        except Exception:  # noqa: BLE001 - a lost report is a node that
            # never came back: drydock's deadline handles it, as it would
            # for a real agent that cannot reach the master.
            LOG.exception('Could not report %s provisioned', node_name)
            return
        LOG.info('Reported %s (node %s) provisioned', node_name, uid)

    def close(self):
        self._publisher.close()
