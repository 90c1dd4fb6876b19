"""The power-state sweep (``sync_power``): read every node's BMC, say
what it read, and put back a state someone changed behind drydock's back
when ``[oob] force_power_state`` asks for it.

The leader manager sends one work message per design every
``[oob] sync_interval`` seconds, listing the design's nodes with the
state drydock expects of each (``power_expected``) and whether a task
holds it (``locked``). A sweep belongs to no task: its reports
(``power_sync_resp``) carry node readings only, in batches of
``[oob] sync_report_batch``, and the receiver records them as events.
At most ``[oob] sync_workers`` BMC calls are in flight.

A node a running task holds is read but never corrected: the task may be
powering it right now.
"""

from concurrent import futures
import logging
import threading

from drydockd.executor import node_methods
from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)


class SweepReporter:
    """What the executor's bookkeeping needs of a run's reporter, for a
    sweep: it publishes node readings and has no task to end."""

    def __init__(self, publish, batch):
        self.publish = publish
        self.batch = batch
        self.done = threading.Event()
        self._entries = []
        self._lock = threading.Lock()

    def add(self, entry):
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) < self.batch:
                return
            entries, self._entries = self._entries, []
        self._send(entries)

    def _send(self, entries):
        try:
            self.publish(schemas.report(schemas.POWER_SYNC_REPORT, None,
                                        nodes=entries))
        except Exception as exc:  # noqa: BLE001 - the next sweep reads again
            LOG.warning('Could not report %d power readings (%s); the next '
                        'sweep reads them again', len(entries), exc)

    def finish(self, status=None, progress=None, error=None):
        """Send what is left; ``error`` (a halted sweep) is only logged."""
        if error:
            LOG.warning('Power sweep ended early: %s', error)
        with self._lock:
            entries, self._entries = self._entries, []
        if entries:
            self._send(entries)
        self.done.set()

    def abandon(self):
        self.done.set()


def _one(driver, node, info, force):
    """Read one node; correct it when asked and allowed. Returns its
    report entry."""
    entry = {}
    try:
        found = driver.get_power_state(info)
    except Exception as exc:  # noqa: BLE001 - a reading that failed
        return {'power_error': node_methods.describe(exc, info)}
    entry['power_read'] = found
    expected = None if node.get('locked') else node.get('power_expected')
    if expected and found != expected:
        entry['power_expected'] = expected
        LOG.warning('Node %s is %s but drydock expects %s', info.name,
                    found, expected)
        if force:
            try:
                driver.set_power_state(info, expected)
                entry['power_restored'] = True
            except Exception as exc:  # noqa: BLE001 - reported as drift
                entry['power_restored'] = False
                entry['power_error'] = node_methods.describe(exc, info)
    return entry


def run(conf, nodes_methods, item, reporter):
    """Sweep the message's nodes; report each reading as it comes."""
    args = item['args']
    nodes, infos, missing = nodes_methods.resolve(args)
    for node, reason in missing:
        reporter.add(schemas.node_entry(node['uid'], schemas.utcnow(),
                                        power_error=reason))
    force = conf.oob.force_power_state
    driver = nodes_methods.driver
    workers = min(len(infos), conf.oob.sync_workers) or 1
    started = schemas.utcnow()
    with futures.ThreadPoolExecutor(workers, 'power-sync') as pool:
        pending = {pool.submit(_one, driver, node, info, force): node
                   for node, info in zip(nodes, infos)}
        for future in futures.as_completed(pending):
            node = pending[future]
            reporter.add(schemas.node_entry(node['uid'], schemas.utcnow(),
                                            **future.result()))
    reporter.finish()
    LOG.info('Power sweep of %d nodes took %.1fs', len(nodes) + len(missing),
             (schemas.utcnow() - started).total_seconds())
