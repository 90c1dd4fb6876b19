"""The reporter publishes on its own clock, in order, and never drops a
report; it says when a run must fence itself."""

import threading
import time

from drydockd.executor import reporting
from drydockd.messaging import schemas


class Wire:
    """The reporter's publish function: records (monotonic time, body);
    ``down`` makes every publish fail, as a broker that went away."""

    def __init__(self):
        self.sent = []
        self.down = False
        self.attempts = 0
        self.changed = threading.Condition()

    def __call__(self, body):
        self.attempts += 1
        if self.down:
            raise OSError('broker unreachable')
        schemas.validate_report(body)
        with self.changed:
            self.sent.append((time.monotonic(), body))
            self.changed.notify_all()

    def wait(self, predicate, timeout=5):
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self.sent),
                                         timeout), self.sent


def _entries(sent):
    return [e for _, body in sent for e in body['args'].get('nodes', [])]


def _reporter(wire, **kwargs):
    kwargs.setdefault('interval', 0.05)
    kwargs.setdefault('heartbeat', 10)
    reporter = reporting.Reporter(wire, 'task-1', executor='exec-1',
                                  **kwargs)
    reporter.running()
    return reporter


def test_an_entry_leaves_within_the_interval_with_nothing_else_going_on():
    wire = Wire()
    reporter = _reporter(wire, interval=0.1)
    recorded = time.monotonic()
    reporter.entry('5', 'hiera', 'ready', schemas.utcnow())
    wire.wait(lambda sent: _entries(sent))
    lag = wire.sent[-1][0] - recorded
    assert 0.09 <= lag < 0.5, lag
    reporter.finish('ready', 100)


def test_heartbeats_run_on_their_own_timer():
    wire = Wire()
    reporter = _reporter(wire, heartbeat=0.1)
    wire.wait(lambda sent: len(sent) >= 4)
    beats = [t for t, body in wire.sent[1:4]]
    assert all(0.05 < b - a < 0.5 for a, b in zip(beats, beats[1:])), beats
    assert all('status' not in body['args'] for _, body in wire.sent[1:])
    reporter.finish('ready', 100)


def test_a_full_batch_leaves_at_once_and_order_is_kept():
    wire = Wire()
    reporter = _reporter(wire, interval=30, max_entries=10)
    for i in range(25):
        reporter.entry('5', 't%02d' % i, 'ready', schemas.utcnow())
    wire.wait(lambda sent: len(_entries(sent)) >= 20)
    reporter.finish('ready', 100)
    names = [e['deployment_graph_task_name'] for e in _entries(wire.sent)]
    assert names == ['t%02d' % i for i in range(25)]
    assert wire.sent[-1][1]['args']['status'] == 'ready'


def test_undelivered_reports_are_kept_and_sent_again_in_order():
    wire = Wire()
    reporter = _reporter(wire, heartbeat=0.05)
    wire.down = True
    reporter.entry('5', 'hiera', 'running', schemas.utcnow())
    reporter.entry('5', 'hiera', 'ready', schemas.utcnow())
    deadline = time.monotonic() + 5
    while wire.attempts < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    wire.down = False
    done = threading.Thread(target=reporter.finish, args=('ready', 100))
    done.start()
    done.join(10)
    assert not done.is_alive()
    assert [e['task_status'] for e in _entries(wire.sent)] == [
        'running', 'ready']
    assert wire.sent[-1][1]['args']['status'] == 'ready'


def test_fenced_once_reports_go_unconfirmed_for_most_of_the_reap_time():
    wire = Wire()
    reporter = _reporter(wire, heartbeat=0.05)
    assert reporter.fenced(1.0) is None
    assert reporter.fenced(None) is None
    wire.down = True
    deadline = time.monotonic() + 5
    while reporter.fenced(1.0) is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert reporter.silent_for() >= 0.75
    assert reporter.fenced(1.0).startswith(
        'executor exec-1 could not deliver reports for ')
    wire.down = False
    wire.wait(lambda sent: len(sent) >= 2)
    assert reporter.fenced(1.0) is None
    reporter.finish('ready', 100)


def test_abandon_gives_up_on_a_report_that_cannot_go_out():
    wire = Wire()
    reporter = _reporter(wire)
    wire.down = True
    done = threading.Thread(target=reporter.finish, args=('error', 100))
    done.start()
    deadline = time.monotonic() + 5
    while wire.attempts < 3:        # tried, and tried again
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert done.is_alive()      # a report is never dropped by itself
    reporter.abandon()
    done.join(10)
    assert not done.is_alive()


def test_a_refusal_before_running_is_one_message():
    wire = Wire()
    reporter = reporting.Reporter(wire, 'task-2')
    reporter.finish('error', 100, error='refused')
    [(_, body)] = wire.sent
    assert (body['args']['status'], body['args']['error']) == (
        'error', 'refused')
