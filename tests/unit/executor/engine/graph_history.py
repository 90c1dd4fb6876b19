"""Run an Engine and replay its reports into history rows, as the receiver.

The engine reports through the real Reporter; its publish function keeps
each report body and when it was published. ``replay`` then applies the
entries in order with ``states.history_transition`` (the receiver's own
rule) to one ``pending`` row per vertex of the tasks_graph, so tests
assert on the same rows ``task history show`` would list.

Shared by tests/unit/executor/engine and tests/functional (which put this
directory on sys.path).
"""

import datetime
import threading

from drydockd.common import states
from drydockd.executor import reporting
from drydockd.executor.engine import engine as engine_mod
from drydockd.executor.transports import fake
from drydockd.messaging import schemas

TERMINAL = ('ready', 'error', 'skipped')


class Run:
    """One engine run: ``status``, ``rows``, ``nodes``, ``bodies``."""

    def __init__(self, tasks_graph, metadata=None, transport=None,
                 interval=0.05, **engine_kwargs):
        self.graph = tasks_graph
        self.bodies = []
        self.published = []      # naive UTC datetime of each publish
        self.reporter = reporting.Reporter(self._publish, 'test-task',
                                           interval=interval)
        self._own_transport = transport is None
        self.transport = transport or fake.FakeTransport()
        self.engine = engine_mod.Engine(tasks_graph, self.transport,
                                        self.reporter,
                                        tasks_metadata=metadata,
                                        **engine_kwargs)
        self.status = None
        self.thread = None

    def _publish(self, body):
        schemas.validate_report(body)
        self.bodies.append(body)
        self.published.append(schemas.utcnow())

    def run(self):
        # As the executor does: "running" first, which starts the
        # reporter's own clock.
        self.reporter.running()
        try:
            self.status = self.engine.run()
        finally:
            if self._own_transport:
                self.transport.close()
        self.replay()
        return self

    def start(self):
        """Run in a thread (for stop tests); ``join`` to finish."""
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def join(self, timeout=30):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), 'engine did not finish'
        return self

    def replay(self):
        self.rows = {('null' if uid is None else str(uid), item['id']): {
            'status': 'pending', 'time_start': None, 'time_end': None,
            'error_msg': None, 'summary': {}, 'ran': False}
            for uid, items in self.graph.items() for item in items}
        self.nodes = {}          # uid -> node statuses in report order
        self.final = []          # (status, error) of final reports
        for body in self.bodies:
            args = body['args']
            for entry in args.get('nodes', []):
                self._apply(entry)
            if args.get('status') in ('ready', 'error', 'stopped'):
                self.final.append((args['status'], args.get('error')))

    def _apply(self, entry):
        uid = 'null' if entry['uid'] is None else entry['uid']
        name = entry.get('deployment_graph_task_name')
        if name is None:
            if entry.get('status'):
                self.nodes.setdefault(uid, []).append(entry['status'])
            return
        row = self.rows[(uid, name)]
        start = entry.get('time_start')
        changes = states.history_transition(
            row, entry['task_status'], schemas.parse_time(entry['time']),
            schemas.parse_time(start) if start else None)
        assert changes is not None or row['status'] in TERMINAL, (
            'rejected %s -> %s for %s' % (row['status'],
                                          entry['task_status'],
                                          (uid, name)))
        if changes:
            row.update(changes)
        # A transport's summary marks a task that ran even when its
        # 'running' was not reported (fail_on_error: false).
        if entry['task_status'] == 'running' or entry.get('summary'):
            row['ran'] = True
        if entry.get('error_msg'):
            row['error_msg'] = entry['error_msg']
        row['summary'].update(entry.get('summary') or {})

    # -- conveniences for assertions ------------------------------------

    def row(self, uid, name):
        return self.rows[(str(uid), name)]

    def seconds(self, when):
        """A row time as seconds after the earliest start."""
        first = min(r['time_start'] for r in self.rows.values()
                    if r['time_start'] is not None)
        return (when - first).total_seconds()

    def final_node_status(self):
        return {uid: statuses[-1] for uid, statuses in self.nodes.items()}

    def intervals(self, name=None):
        """``(start, end, uid, name)`` of every row that ran."""
        return [(r['time_start'], r['time_end'], uid, task)
                for (uid, task), r in self.rows.items()
                if r['ran'] and (name is None or task == name)]


def max_overlap(intervals, key=None):
    """Most intervals open at once, counted as half-open [start, end):
    an end and a start at the same instant do not overlap (the engine
    starts a task only after it processed the end that freed its slot).
    With ``key``, counts distinct keys (e.g. nodes) instead."""
    events = []
    for interval in intervals:
        start, end = interval[0], interval[1]
        who = key(interval) if key else id(interval)
        events.append((start, 1, who))
        events.append((end, 0, who))
    events.sort(key=lambda e: (e[0], e[1]))
    open_now, best = {}, 0
    for _, kind, who in events:
        if kind:
            open_now[who] = open_now.get(who, 0) + 1
        else:
            open_now[who] -= 1
            if not open_now[who]:
                del open_now[who]
        best = max(best, len(open_now))
    return best


def dt(seconds):
    return datetime.timedelta(seconds=seconds)
