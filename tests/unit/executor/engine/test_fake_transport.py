"""The fake node transport (drydockd.executor.transports.fake)."""

import queue
import threading
import time

import pytest

from drydockd.executor.transports import fake


@pytest.fixture
def transport():
    transport = fake.FakeTransport()
    yield transport
    transport.close()


def _start(transport, uid='1', timeout=10, **params):
    answers = queue.Queue()
    task = {'id': params.pop('id', 't'), 'parameters': params}
    if 'attempt' in params:
        task['attempt'] = params.pop('attempt')
    started = time.monotonic()
    transport.start(uid, task, timeout, lambda *a: answers.put(
        (time.monotonic() - started, threading.current_thread().name) + a))
    return answers


def test_zero_duration_answers_at_once(transport):
    answers = _start(transport)
    elapsed, thread, ok, message, summary = answers.get_nowait()
    assert ok and message is None and summary == {'exit_code': 0}
    assert thread == threading.current_thread().name


def test_duration_and_per_node_override(transport):
    slow = _start(transport, duration=0.1)
    fast = _start(transport, uid='7', duration=0.1, duration_on={'7': 0.02})
    assert fast.get(timeout=2)[0] < 0.09
    elapsed, thread, ok, _, _ = slow.get(timeout=2)
    assert 0.1 <= elapsed < 0.5 and ok and thread == 'fake-transport'


def test_fail_and_fail_on(transport):
    assert _start(transport, fail=True).get(timeout=1)[2:4] == (
        False, 'simulated failure of t on node 1')
    assert _start(transport, uid='2', fail_on=[2, '3']).get(timeout=1)[2] \
        is False
    assert _start(transport, uid='4', fail_on=['3']).get(timeout=1)[2]


@pytest.mark.parametrize('params,attempt,ok', [
    ({'fail_times': 2}, 1, False), ({'fail_times': 2}, 2, False),
    ({'fail_times': 2}, 3, True),
    ({'fail_times': 1, 'fail_on': ['9']}, 1, True),
    ({'fail_times': 1, 'fail_on': ['1']}, 1, False),
    ({'fail_times': 1, 'fail_on': ['1']}, 2, True),
    ({'fail_times': 1, 'fail': False}, 1, True)])
def test_fail_times_counts_attempts(transport, params, attempt, ok):
    answers = _start(transport, attempt=attempt, **params)
    assert answers.get(timeout=1)[2] is ok


def test_duration_beyond_timeout_fails_at_the_timeout(transport):
    elapsed, _, ok, message, summary = _start(
        transport, timeout=0.05, duration=10).get(timeout=2)
    assert not ok and message == 'timed out after 0.05s'
    assert summary == {'timed_out': True} and elapsed < 1


def test_many_timers_fire_in_due_order_on_one_thread(transport):
    done, lock = [], threading.Lock()

    def record(delay):
        with lock:
            done.append((delay, threading.current_thread().name))

    before = time.monotonic()
    for i in range(200):
        delay = 0.0002 * (200 - i)
        transport.start(str(i), {'id': 't', 'parameters': {
            'duration': delay}}, 10, lambda *a, delay=delay: record(delay))
    spread = time.monotonic() - before
    deadline = time.monotonic() + 5
    while len(done) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(done) == 200
    # Each timer was due at (its start time + delay), its start time in
    # [before, before + spread]: a timer firing before another may have
    # the longer delay by at most the spread.
    delays = [delay for delay, _ in done]
    assert all(a - b <= spread for a, b in zip(delays, delays[1:]))
    assert {name for _, name in done} == {'fake-transport'}


def test_close_stops_the_timer_thread():
    transport = fake.FakeTransport()
    transport.close()
    transport._thread.join(2)
    assert not transport._thread.is_alive()
