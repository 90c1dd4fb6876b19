"""Graph tasks of type reboot, power_on and power_off go to the BMC.

They act on the machine rather than through it (the node may be off or
hung), so they run through the OOB driver with the node's BMC details
from the site design, never over the node transport. Every other graph
task goes to the wrapped transport unchanged.
"""

from concurrent import futures

from drydockd.executor.transports import base
from drydockd.graph import vocabulary
from drydockd.oob import base as drivers

ACTIONS = {
    'power_on': lambda driver, node: driver.set_power_state(
        node, drivers.POWER_ON),
    'power_off': lambda driver, node: driver.set_power_state(
        node, drivers.POWER_OFF),
    'reboot': lambda driver, node: driver.reboot(node),
}
assert set(ACTIONS) == vocabulary.POWER_TYPES


def needs_oob(tasks_graph):
    return any(item['type'] in ACTIONS
               for items in tasks_graph.values() for item in items)


class OOBRouting(base.NodeTransport):
    """:param inner: the node transport for every other task type.
    :param driver: the OOB driver (power and management interfaces).
    :param oob: ``{uid: OOBInfo}`` of the deployment's nodes.
    :param describe: ``describe(exc, info)`` -> one-line failure text.
    """

    def __init__(self, inner, driver, oob, describe, workers=16):
        self.inner = inner
        self.driver = driver
        self.oob = oob
        self.describe = describe
        self._pool = futures.ThreadPoolExecutor(workers, 'oob-graph')

    def start(self, uid, task, timeout, on_done):
        action = ACTIONS.get(task['type'])
        if action is None:
            return self.inner.start(uid, task, timeout, on_done)
        info = self.oob.get(str(uid))
        if info is None:
            on_done(False, 'node %s has no OOB entry in the design for %s'
                    % (uid, task['type']))
            return None
        self._pool.submit(self._run, action, info, task['type'], on_done)
        return None

    def _run(self, action, info, kind, on_done):
        try:
            action(self.driver, info)
        except Exception as exc:  # noqa: BLE001 - a node failure, reported
            on_done(False, self.describe(exc, info))
            return
        on_done(True, None, {'oob': kind})

    def close(self):
        self._pool.shutdown(wait=False)
