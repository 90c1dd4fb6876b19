"""The executor's methods: what each work message does.

A fixed table (never ``getattr`` on a name from the wire). Every method
reports ``running`` before it runs and a final status after; an unknown
method gets an error reply to its ``respond_to`` so no task waits on it.
"""

import logging
import threading

from drydockd.executor import reporting
from drydockd.executor.graph import engine as engine_mod
from drydockd.executor.transports import loader

LOG = logging.getLogger(__name__)


class Methods:

    def __init__(self, conf, publisher):
        self.conf = conf
        self.publisher = publisher
        self.transport = loader.load(conf)
        self.engines = {}
        self._lock = threading.Lock()
        self.table = {'task_deploy': self.task_deploy, 'echo': self.echo}

    def _reporter(self, item):
        return reporting.Reporter(self.publisher.to_receiver,
                                  item['args']['task_uuid'],
                                  method=item.get('respond_to')
                                  or 'deploy_resp',
                                  interval=self.conf.executor.report_interval)

    def accept(self, item):
        """Report ``running`` (or the unknown-method error) before acking."""
        reporter = self._reporter(item)
        if item['method'] in self.table:
            reporter.running()
        else:
            LOG.warning('Unknown executor method %r for task %s',
                        item['method'], item['args']['task_uuid'])
            reporter.finish('error', 100, error='unknown executor method %r'
                            % item['method'][:100])

    def run(self, item):
        handler = self.table.get(item['method'])
        if handler is None:
            return
        try:
            handler(item, self._reporter(item))
        except Exception as exc:  # noqa: BLE001 - report, never vanish
            LOG.exception('Method %s of task %s failed', item['method'],
                          item['args']['task_uuid'])
            self._reporter(item).finish(
                'error', 100, error='executor failure: %s: %s'
                % (type(exc).__name__, str(exc)[:300]))

    def task_deploy(self, item, reporter):
        args = item['args']
        engine = engine_mod.Engine(
            args.get('tasks_graph') or {}, self.transport, reporter,
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
        LOG.info('Task %s deployment ended %s', args['task_uuid'], status)

    def echo(self, item, reporter):
        reporter.finish('ready', 100)

    def busy(self):
        with self._lock:
            return len(self.engines)

    def stop_all(self):
        with self._lock:
            for engine in self.engines.values():
                engine.stop()
