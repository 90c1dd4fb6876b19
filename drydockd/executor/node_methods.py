"""The executor's OOB methods: verify_nodes, power, image_provision,
inspect_nodes, remove_nodes.

The work message names the nodes and the design; each node's BMC address
and credential are read from the design here, so no password ever rides
on the work plane. The design is fetched for every message (an edit takes
effect at once) but parsed and validated only when its bytes changed
(site.design caches validated designs by their digest). Every node runs
concurrently under the driver's limits (a dead BMC delays only its own
result), and each node's outcome settles its subtask. ``image_provision``
ends a node's part at the PXE power cycle: the node's agent reports
``provisioned`` to the receiver, and the leader fails the subtask if that
report misses its deadline. ``remove_nodes`` does the same for a node
that can boot the deploy ramdisk (a ``boot.mac``): its agent wipes the
disks and powers it off; any other node is powered off here.
"""

from concurrent import futures
import datetime
import logging
import queue

from drydockd.common import actions
from drydockd.common import exception
from drydockd.messaging import schemas
from drydockd import oob
from drydockd.oob import base
from drydockd.site import design as design_mod
from drydockd.site import policy as policy_mod

LOG = logging.getLogger(__name__)


def _verify(driver, node, args):
    state = driver.get_power_state(node)
    return 'BMC reachable, credentials accepted, power %s' % state, \
        {'power_state': state}


def _power(driver, node, args):
    action = args.get('power', 'status')
    if action == 'status':
        state = driver.get_power_state(node)
        return 'power is %s' % state, {'power_state': state}
    if action == 'cycle':
        driver.reboot(node)
        return 'power cycled', {'power_state': 'on'}
    driver.set_power_state(node, action)
    return 'powered %s' % action, {'power_state': action}


def _provision(driver, node, args):
    driver.set_boot_device(node, base.BOOT_PXE)
    driver.reboot(node)
    return 'PXE boot set and power cycled; waiting for the node agent', \
        {'power_state': 'on', 'status': 'provisioning', 'progress': 50}


def _remove(driver, node, args):
    if args.get('agent'):
        driver.set_boot_device(node, base.BOOT_PXE)
        driver.reboot(node)
        return 'PXE boot set and power cycled; waiting for the node ' \
            'agent to wipe the disks', {'power_state': 'on'}
    driver.set_power_state(node, base.POWER_OFF)
    return 'powered off and returned to discover', \
        {'power_state': 'off', 'status': 'discover'}


# Executor method -> what it does to one node: ``handler(driver, OOBInfo,
# args)`` returns (message, node fields) or raises. One per method of
# common.actions.NODE_ACTIONS.
HANDLERS = {'verify_nodes': _verify, 'power': _power,
            'image_provision': _provision, 'remove_nodes': _remove,
            'inspect_nodes': _provision}


class NodeRun:
    """What the outside may tell a run of an OOB method.

    ``stop`` (an operator, the reaper, the drain): nodes not started yet
    are not started, and fail with the reason; ``abort`` (the drain
    deadline): nodes still waiting on their BMC fail with the reason at
    once too. The reporter's fence stops new nodes the same way.
    """

    def __init__(self, reporter, reap_after=None):
        self.reporter = reporter
        self.reap_after = reap_after
        self._stop = None
        self.aborted = None

    def stop(self, reason=None):
        self._stop = reason or 'task stopped before this node was handled'

    def abort(self, reason):
        self.aborted = reason

    def refusal(self):
        """Why no further node may start, or None."""
        return (self.aborted or self._stop
                or self.reporter.fenced(self.reap_after))


class NodeMethods:
    """Runs OOB methods; ``table()`` maps method names to handlers."""

    def __init__(self, conf):
        self.conf = conf
        self.policy = policy_mod.Policy.from_conf(conf)
        self._driver = None

    @property
    def driver(self):
        # Built on first use: the IPMI driver starts pyghmi's threads.
        if self._driver is None:
            self._driver = oob.load_driver(self.conf)
        return self._driver

    def table(self):
        return dict.fromkeys(HANDLERS, self.run)

    def run(self, item, reporter, control=None):
        """Run the item's handler on every node; record each outcome as
        soon as it is known: the reporter publishes it within the report
        interval, so a slow or dead BMC never delays the others'."""
        args = item['args']
        control = control or NodeRun(reporter)
        handler = HANDLERS[item['method']]
        await_agent = None
        if actions.awaits_agent(item['method']):
            await_agent = float(args.get('timeout') or 1800)
        nodes, infos, missing, agents = self.resolve_for(
            args, actions.of_method(item['method']))
        for node, reason in missing:
            reporter.node_result(node, False, reason)
        failed = len(missing)
        total = len(nodes) + len(missing)
        workers = min(len(infos), self.driver.max_concurrency) or 1
        waits = any(agents) and await_agent
        pool = futures.ThreadPoolExecutor(workers, 'oob')
        # Each node's end comes through a queue: futures.wait() over the
        # pending set locks and walks all of it on every wake, which made
        # verify_nodes of 5,000 BMCs cost the executor most of 47 s of CPU.
        ended = queue.SimpleQueue()
        try:
            pending = {pool.submit(_unless_halted, control, handler,
                                   self.driver, info,
                                   dict(args, agent=agent)):
                       (node, info, await_agent if agent else None)
                       for node, info, agent in zip(nodes, infos, agents)}
            for future in pending:
                future.add_done_callback(ended.put)
            done = len(missing)
            while pending and not control.aborted:
                try:
                    future = ended.get(timeout=0.5)
                except queue.Empty:
                    continue
                node, info, wait = pending.pop(future)
                failed += self._report(reporter, node, info, future, wait)
                done += 1
                reporter.progress(int(100 * done / total))
            for node, info, _ in pending.values():
                reporter.node_result(node, False, 'node %s: %s' % (
                    info.name, control.aborted))
                failed += 1
        finally:
            # Never wait here for a BMC call the drain gave up on.
            pool.shutdown(wait=not control.aborted, cancel_futures=True)
        if waits and not control.aborted:
            reporter.hand_over(50)
        else:
            reporter.finish('error' if failed else 'ready', 100,
                            error=control.aborted)

    @staticmethod
    def _report(reporter, node, info, future, await_agent):
        """Report one node's outcome; returns 1 if it failed."""
        exc = future.exception()
        if exc is not None:
            reporter.node_result(node, False, describe(exc, info))
            return 1
        message, extra = future.result()
        if await_agent:
            until = schemas.utcnow() + datetime.timedelta(seconds=await_agent)
            reporter.node_wait(node, message, until, **extra)
        else:
            reporter.node_result(node, True, message, **extra)
        return 0

    def oob_by_uid(self, design_ref):
        """``{uid: OOBInfo}`` of every design node with an OOB entry."""
        design = design_mod.load(design_ref, policy=self.policy)
        return {str(n['id']): base.OOBInfo.from_design(n)
                for n in design['nodes'] if n.get('oob')}

    def resolve(self, args):
        """Match the message's nodes with their OOB data in the design."""
        return self.resolve_for(args)[:3]

    def resolve_for(self, args, action=None):
        """``resolve``, and for each node whether its part ends with its
        agent under node ``action`` (a ``common.actions.NodeAction``)."""
        wanted = args.get('nodes', [])
        try:
            design = design_mod.load(args.get('design_ref'),
                                     policy=self.policy)
        except exception.DrydockException as exc:
            return [], [], [(n, exc.message) for n in wanted], []
        by_name = {n['name']: n for n in design['nodes']}
        nodes, infos, missing, agents = [], [], [], []
        for node in wanted:
            found = by_name.get(node['name'])
            if found is None or not found.get('oob'):
                missing.append((node, 'node %s has no OOB entry in the '
                                      'design' % node['name']))
                continue
            nodes.append(node)
            infos.append(base.OOBInfo.from_design(found))
            agents.append(bool(action and action.uses_agent(found)))
        return nodes, infos, missing, agents


def _unless_halted(control, handler, driver, info, args):
    """The handler, unless the run may start no further node."""
    reason = control.refusal()
    if reason:
        raise exception.DrydockException('node %s not handled: %s'
                                         % (info.name, reason))
    return handler(driver, info, args)


def describe(exc, info):
    """A one-line failure naming the node, never the credential."""
    if isinstance(exc, exception.DrydockException):
        text = exc.message
    else:
        text = 'BMC of node %s failed: %s' % (info.name, type(exc).__name__)
    if info.credential:
        text = text.replace(info.credential, '****')
    return text
