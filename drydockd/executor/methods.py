"""The executor's methods: what each work message does.

A fixed table (never ``getattr`` on a name from the wire). Every method
reports ``running`` before it runs and a final status after; an unknown
method gets an error reply to its ``respond_to`` so no task waits on it.
Control messages (``stop_deploy_task``) act at once and reply nothing of
their own: the stopped deployment reports ``stopped`` itself.
"""

import collections
import logging
import threading

from drydockd.executor import node_methods
from drydockd.executor import reporting
from drydockd.executor.engine import engine as engine_mod
from drydockd.executor.transports import loader
from drydockd.executor.transports import oob
from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)
# Stopped task uuids remembered so a queued copy never starts later.
TOMBSTONES = 10000


class Methods:

    def __init__(self, conf, publisher):
        self.conf = conf
        self.publisher = publisher
        self.transport = loader.load(conf)
        self.engines = {}
        self.stopped = collections.OrderedDict()
        self._lock = threading.Lock()
        self.nodes = node_methods.NodeMethods(conf)
        self.table = {'task_deploy': self.task_deploy, 'echo': self.echo}
        self.table.update(self.nodes.table())

    def _reporter(self, item):
        return reporting.Reporter(
            self.publisher.to_receiver, item['args']['task_uuid'],
            method=item.get('respond_to') or 'deploy_resp',
            interval=self.conf.executor.report_interval,
            executor=self.conf.host,
            heartbeat=self.conf.executor.heartbeat_interval)

    def accept(self, item):
        """Decide before the ack: run (report ``running``) or refuse.

        :returns: True if ``run`` should be called for the item.
        """
        uuid = item['args']['task_uuid']
        if item['method'] in schemas.CONTROL:
            self.stop_deploy(uuid)
            return False
        reporter = self._reporter(item)
        refusal = self._refusal(item)
        if refusal:
            LOG.warning('Refusing %s for task %s: %s', item['method'], uuid,
                        refusal)
            reporter.finish('stopped' if uuid in self.stopped else 'error',
                            100, error=refusal)
            return False
        reporter.running()
        return True

    def _refusal(self, item):
        if item['method'] not in self.table:
            return 'unknown executor method %r' % item['method'][:100]
        if item['args']['task_uuid'] in self.stopped:
            return 'task was stopped before it ran'
        deadline = item['args'].get('deadline')
        if deadline and schemas.parse_time(deadline) < schemas.utcnow():
            return 'task expired before an executor took it'
        return None

    def run(self, item):
        try:
            self.table[item['method']](item, self._reporter(item))
        except Exception as exc:  # noqa: BLE001 - report, never vanish
            LOG.exception('Method %s of task %s failed', item['method'],
                          item['args']['task_uuid'])
            self._reporter(item).finish(
                'error', 100, error='executor failure: %s: %s'
                % (type(exc).__name__, str(exc)[:300]))

    def _transport(self, args):
        """The node transport, with power tasks routed to the BMCs."""
        graph = args.get('tasks_graph') or {}
        if not oob.needs_oob(graph) or args.get('dry_run'):
            return self.transport
        return oob.OOBRouting(
            self.transport, self.nodes.driver,
            self.nodes.oob_by_uid(args.get('design_ref')),
            node_methods.describe, self.conf.ipmi.max_concurrency)

    def task_deploy(self, item, reporter):
        args = item['args']
        transport = self._transport(args)
        engine = engine_mod.Engine(
            args.get('tasks_graph') or {}, transport, reporter,
            tasks_metadata=args.get('tasks_metadata') or {},
            max_busy=self.conf.graph.max_busy_nodes,
            default_timeout=self.conf.graph.default_task_timeout,
            dry_run=bool(args.get('dry_run')))
        with self._lock:
            self.engines[args['task_uuid']] = engine
        try:
            status = engine.run()
        finally:
            with self._lock:
                self.engines.pop(args['task_uuid'], None)
            if transport is not self.transport:
                transport.close()
        LOG.info('Task %s deployment ended %s', args['task_uuid'], status)

    def echo(self, item, reporter):
        reporter.finish('ready', 100)

    def stop_deploy(self, uuid):
        """Stop a deployment this executor runs; remember the uuid."""
        with self._lock:
            self.stopped[uuid] = True
            while len(self.stopped) > TOMBSTONES:
                self.stopped.popitem(last=False)
            engine = self.engines.get(uuid)
        if engine is not None:
            LOG.info('Stopping deployment of task %s', uuid)
            engine.stop()

    def busy(self):
        with self._lock:
            return len(self.engines)

    def stop_all(self):
        with self._lock:
            engines = list(self.engines.values())
        for engine in engines:
            engine.stop()
