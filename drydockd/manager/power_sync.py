"""The leader's side of the power-state sync: when to sweep, and what.

Every ``[oob] sync_interval`` seconds the leader sends one ``sync_power``
work message per design: that design's nodes with a BMC, the state
drydock expects of each (its ``power_state``, None when drydock never
knew it) and whether a task holds it. An executor sweeps them
(``drydockd.executor.power_sync``); the receiver records the readings.
The first sweep runs one interval after a manager becomes leader, so a
restart storm does not sweep the fleet at once.
"""

import collections
import logging
import time
import uuid

from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)


def requests(nodes):
    """``sync_power`` work messages for ``nodes`` (``list_nodes`` dicts),
    one per design that describes some of them."""
    by_design = collections.defaultdict(list)
    for node in nodes:
        if node.get('oob_address') and node.get('design_ref'):
            by_design[node['design_ref']].append({
                'uid': str(node['id']), 'name': node['name'],
                'power_expected': node.get('power_state'),
                'locked': node.get('reservation') is not None})
    return [schemas.request(schemas.POWER_SYNC,
                            'power-sync-%s' % uuid.uuid4().hex,
                            design_ref=ref, nodes=entries)
            for ref, entries in by_design.items()]


class Schedule:
    """Says when the next sweep is due; restarts when leadership does."""

    def __init__(self, interval, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self.due = None

    def lost(self):
        self.due = None

    def ready(self):
        """True once per interval while leading (never if it is 0)."""
        if not self.interval:
            return False
        now = self.clock()
        if self.due is None:
            self.due = now + self.interval
            return False
        if now < self.due:
            return False
        self.due = now + self.interval
        return True


def sweep(db, publisher, timeout):
    """Send this round's sweep requests; returns how many nodes."""
    total = 0
    for message in requests(db.list_nodes()):
        publisher.to_executor(message, timeout=timeout)
        total += len(message['args']['nodes'])
    LOG.info('Asked for a power sweep of %d nodes', total)
    return total
