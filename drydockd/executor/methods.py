"""The executor's methods: what each work message does.

A fixed table (never ``getattr`` on a name from the wire). Every method
reports ``running`` before it runs and a final status after; an unknown
method gets an error reply to its ``respond_to`` so no task waits on it.
Control messages (``stop_deploy_task``) act at once and reply nothing of
their own: the stopped run reports ``stopped`` itself.

Every accepted run is *live* here until its last report is out, with the
control the outside may use on it: ``stop`` (an operator, or the reaper
after it failed the task: start nothing more) and ``abort`` (the drain
deadline: end what runs, with the reason).
"""

import collections
import logging
import threading

from drydockd.executor import node_methods
from drydockd.executor import power_sync
from drydockd.executor import reporting
from drydockd.executor.engine import engine as engine_mod
from drydockd.executor.transports import loader
from drydockd.executor.transports import master
from drydockd.executor.transports import oob
from drydockd.graph import serializer
from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)
# Stopped task uuids remembered so a queued copy never starts later, and
# taken ones so a second copy of a work message never runs twice.
TOMBSTONES = 10000


class Live:
    """One accepted run: its reporter, and once it runs, its control."""

    def __init__(self, reporter):
        self.reporter = reporter
        self.control = None
        self.halt = None        # asked to stop before it started


class Methods:

    def __init__(self, conf, publisher):
        self.conf = conf
        self.publisher = publisher
        self.nodes = node_methods.NodeMethods(conf)
        self.transport = master.MasterGuard(loader.load(conf),
                                            self.nodes.policy)
        self.live = {}
        self.stopped = collections.OrderedDict()
        self.taken = collections.OrderedDict()   # uuids accepted here
        self._lock = threading.Lock()
        self._sweeping = threading.Lock()
        self.nodes = node_methods.NodeMethods(conf)
        self.table = {'task_deploy': self.task_deploy, 'echo': self.echo,
                      schemas.POWER_SYNC: self.power_sync}
        self.table.update(dict.fromkeys(self.nodes.table(), self.node_run))

    def reporter(self, task_uuid, method):
        return reporting.Reporter(
            self.publisher.to_receiver, task_uuid,
            method=method or 'deploy_resp',
            interval=self.conf.executor.report_interval,
            executor=self.conf.host,
            heartbeat=self.conf.executor.heartbeat_interval)

    def accept(self, item):
        """Decide before the ack: run (report ``running``) or refuse.

        :returns: the run's Reporter if ``run`` should be called for the
            item, else None.
        :raises: WorkPlaneUnavailable if the verdict could not be
            reported (the message must not be acknowledged).
        """
        uuid = item['args']['task_uuid']
        if item['method'] in schemas.CONTROL:
            self.stop_deploy(uuid)
            return None
        with self._lock:
            if uuid in self.taken:
                LOG.warning('Task %s was taken here already; a second copy '
                            'of its work message is dropped', uuid)
                return None
        if item['method'] == schemas.POWER_SYNC:
            # A sweep has no task: nothing to report running or refused.
            reporter = power_sync.SweepReporter(
                self.publisher.to_receiver, self.conf.oob.sync_report_batch)
            with self._lock:
                self.live[uuid] = Live(reporter)
                _remember(self.taken, uuid)
            return reporter
        reporter = self.reporter(uuid, item.get('respond_to'))
        refusal = self._refusal(item)
        if refusal:
            LOG.warning('Refusing %s for task %s: %s', item['method'], uuid,
                        refusal)
            reporter.finish('stopped' if uuid in self.stopped else 'error',
                            100, error=refusal)
            return None
        reporter.running()
        with self._lock:
            self.live[uuid] = Live(reporter)
            _remember(self.taken, uuid)
        return reporter

    def refuse(self, task_uuid, method, reason):
        """Tell the receiver a task's work message was refused unread (it
        is dead-lettered): the task ends instead of waiting."""
        with self._lock:
            if task_uuid in self.taken:
                return      # a copy of work taken here: it reports itself
            _remember(self.stopped, task_uuid)   # a replay must not run it
        self.reporter(task_uuid, method).finish('error', 100, error=reason)

    def _refusal(self, item):
        args = item['args']
        if item['method'] not in self.table:
            return 'unknown executor method %r' % item['method'][:100]
        if args['task_uuid'] in self.stopped:
            return 'task was stopped before it ran'
        deadline = args.get('deadline')
        if deadline and schemas.parse_time(deadline) < schemas.utcnow():
            return 'task expired before an executor took it'
        size = _node_tasks(args)
        limit = self.conf.graph.max_deployment_tasks
        if size > limit:
            return ('deployment of %d node tasks is over this executor\'s '
                    '[graph] max_deployment_tasks (%d)' % (size, limit))
        return None

    def run(self, item, reporter):
        uuid = item['args']['task_uuid']
        try:
            halt = self.live[uuid].halt
            if halt:
                reporter.finish('error', 100, error=halt)
                return
            self.table[item['method']](item, reporter)
        except Exception as exc:  # noqa: BLE001 - report, never vanish
            LOG.exception('Method %s of task %s failed', item['method'], uuid)
            reporter.finish('error', 100, error='executor failure: %s: %s'
                            % (type(exc).__name__, str(exc)[:300]))
        finally:
            with self._lock:
                self.live.pop(uuid, None)

    def _control(self, uuid, control):
        """Register what stops a run; False if it was halted already."""
        with self._lock:
            live = self.live[uuid]
            live.control = control
            return live.halt is None

    def _transport(self, args, graph):
        """The node transport, with power tasks routed to the BMCs."""
        if not oob.needs_oob(graph) or args.get('dry_run'):
            return self.transport
        return oob.OOBRouting(
            self.transport, self.nodes.driver,
            self.nodes.oob_by_uid(args.get('design_ref')),
            node_methods.describe, self.nodes.driver.max_concurrency)

    def task_deploy(self, item, reporter):
        args = item['args']
        if 'graph_spec' in args:
            graph, metadata = serializer.expand(args['graph_spec'])
        else:
            graph = args.get('tasks_graph') or {}
            metadata = args.get('tasks_metadata') or {}
        transport = self._transport(args, graph)
        reap_after = args.get('reap_after')
        engine = engine_mod.Engine(
            graph, transport, reporter, tasks_metadata=metadata,
            max_busy=self.conf.graph.max_busy_nodes,
            default_timeout=self.conf.graph.default_task_timeout,
            dry_run=bool(args.get('dry_run')),
            fence=lambda: reporter.fenced(reap_after))
        del graph, metadata
        if not self._control(args['task_uuid'], engine):
            engine.stop(self.live[args['task_uuid']].halt)
        try:
            status = engine.run()
        finally:
            if transport is not self.transport:
                transport.close()
        LOG.info('Task %s deployment ended %s', args['task_uuid'], status)

    def node_run(self, item, reporter):
        """An OOB method (verify, power, provision, remove) on its nodes."""
        uuid = item['args']['task_uuid']
        control = node_methods.NodeRun(reporter, item['args'].get(
            'reap_after'))
        if not self._control(uuid, control):
            control.stop(self.live[uuid].halt)
        self.nodes.run(item, reporter, control)

    def power_sync(self, item, reporter):
        """A power-state sweep over the message's nodes; one at a time
        here (a sweep still correcting nodes must not be overtaken)."""
        if not self._sweeping.acquire(blocking=False):
            LOG.warning('Power sweep %s dropped: the last one still runs',
                        item['args']['task_uuid'])
            reporter.finish()
            return
        try:
            power_sync.run(self.conf, self.nodes, item, reporter)
        finally:
            self._sweeping.release()

    def echo(self, item, reporter):
        reporter.finish('ready', 100)

    def stop_deploy(self, uuid):
        """Stop a run of this executor; remember the uuid."""
        with self._lock:
            _remember(self.stopped, uuid)
            live = self.live.get(uuid)
            control = live.control if live else None
            if live is not None and control is None:
                live.halt = 'task was stopped before it ran'
        if control is not None:
            LOG.info('Stopping task %s', uuid)
            control.stop()

    def busy(self):
        """Runs whose last report is not out yet."""
        with self._lock:
            return sum(1 for live in self.live.values()
                       if not live.reporter.done.is_set())

    def halt_all(self, reason):
        """Start nothing new in any run; what runs may finish."""
        for live in self._lives():
            if live.control is not None:
                live.control.stop(reason)
            else:
                live.halt = reason

    def abort_all(self, reason):
        """End every run now, what still runs included, with ``reason``."""
        for live in self._lives():
            if live.control is not None:
                live.control.abort(reason)
            else:
                live.halt = live.halt or reason

    def abandon_reports(self):
        """Stop retrying undeliverable reports (the drain is over)."""
        for live in self._lives():
            live.reporter.abandon()

    def _lives(self):
        with self._lock:
            return list(self.live.values())


def _node_tasks(args):
    """How many node tasks a deployment's work message holds."""
    if isinstance(args.get('graph_spec'), dict):
        return args['graph_spec'].get('vertices') or 0
    graph = args.get('tasks_graph')
    return serializer.vertex_count(graph) if isinstance(graph, dict) else 0


def _remember(seen, uuid):
    seen[uuid] = True
    while len(seen) > TOMBSTONES:
        seen.popitem(last=False)
