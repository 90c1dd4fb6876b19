"""The power-state sync's events applied to nodes (``apply.apply``).

A reading only moves forward in time (a late report of an older sweep
changes nothing). A drift counts only for a node no task holds and whose
expected state is still the one the sweep compared with: a task that
powered the node meanwhile changed what drydock expects, and its own
reports say the node's state.
"""

import logging

from drydockd.common import events as ev

LOG = logging.getLogger(__name__)


def drift_text(event):
    """The drift in words, for ``node list`` and ``node show``."""
    text = 'found %s, expected %s: ' % (event.found, event.expected)
    if event.restored:
        return text + 'powered %s again' % event.expected
    if event.restored is False:
        return (text + 'could not power %s again (%s)'
                % (event.expected, event.error or 'unknown error'))[:512]
    return text + 'taken as the node\'s state'


def apply(nodes, reads, drifts):
    """Apply ``PowerRead`` then ``PowerDrift`` events to loaded nodes."""
    for event in reads:
        node = nodes.get(event.node)
        if node is None or event.state is None:
            continue
        if node.power_read_at is not None and event.at < node.power_read_at:
            continue
        node.power_read = event.state
        node.power_read_at = event.at
        if node.power_state is None and node.reservation is None:
            node.power_state = event.state
    for event in drifts:
        node = nodes.get(event.node)
        if node is None or node.reservation is not None \
                or node.power_state != event.expected:
            continue
        if node.power_drift_at is not None \
                and event.at <= node.power_drift_at:
            continue
        node.power_drift = drift_text(event)
        node.power_drift_at = event.at
        if not event.restored:
            node.power_state = event.found
        LOG.warning('Power drift on node %s: %s', node.name,
                    node.power_drift)


KINDS = (ev.PowerRead, ev.PowerDrift)
