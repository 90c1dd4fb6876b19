"""The executor's consumer on kombu's ``memory://`` transport, no broker.

As kombu's own examples test a consumer: the real ExecutorService runs
in a thread against an in-process transport; the test publishes work
messages onto its queue and reads what it reports on the receiver queue
and sets aside on the dead-letter queue. Node transport and OOB driver
are the fakes chosen by configuration.
"""

import json
import threading
import time
import uuid
import zlib

import kombu
import pytest
from oslo_config import cfg

from drydockd.conf import opts
from drydockd.executor import service as service_mod
from drydockd.graph import serializer
from drydockd.messaging import compression
from drydockd.messaging import entities
from drydockd.messaging import schemas

WAIT = 10


def _conf(**executor):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    tag = uuid.uuid4().hex[:8]
    conf.set_override('work_transport_url', 'memory://')
    conf.set_override('work_polling_interval', 0.01)
    conf.set_override('host', 'exec-%s' % tag)
    conf.set_override('max_message_bytes', 64 * 1024)
    conf.set_override('publish_timeout', 2)
    for key, value in dict({'queue': 'test.executor.%s' % tag,
                            'service_exchange': 'test.service.%s' % tag,
                            'oob_driver': 'fake', 'node_transport': 'fake',
                            'report_interval': 0.02,
                            'heartbeat_interval': 0.2,
                            'drain_timeout': 2}, **executor).items():
        conf.set_override(key, value, 'executor')
    conf.set_override('queue', 'test.receiver.%s' % tag, 'receiver')
    return conf


class Executor:
    """An ExecutorService consuming in a thread, and the test's ends of
    its queues."""

    def __init__(self, conf):
        self.conf = conf
        self.service = service_mod.ExecutorService(conf)
        self.thread = threading.Thread(target=self.service.run, daemon=True)
        self.conn = kombu.Connection('memory://')
        self.reports = []
        self.thread.start()
        assert self.service.ready.wait(WAIT)

    def send(self, body, raw=False, headers=None, **kwargs):
        queue = entities.executor_queue(self.conf)
        producer = self.conn.Producer()
        if raw:
            kwargs.setdefault('content_type', 'application/json')
            kwargs.setdefault('content_encoding', 'binary')
        else:
            kwargs['serializer'] = 'json'
        producer.publish(body, exchange=queue.exchange,
                         routing_key=queue.routing_key, declare=[queue],
                         headers=headers or {}, **kwargs)

    def stop_task(self, task_uuid):
        exchange = entities.service_exchange(self.conf)
        self.conn.Producer().publish(
            schemas.request('stop_deploy_task', task_uuid), exchange=exchange,
            routing_key='', declare=[exchange], serializer='json')

    def _take(self, queue):
        got = []
        bound = queue(self.conn.channel())
        bound.declare()
        while True:
            message = bound.get(no_ack=True)
            if message is None:
                return got
            got.append(message)

    def wait_reports(self, predicate, timeout=WAIT):
        """Reports so far, once ``predicate(reports)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            self.reports += [json.loads(m.body) for m in self._take(
                entities.receiver_queue(self.conf))]
            if predicate(self.reports):
                return self.reports
            assert time.monotonic() < deadline, self.reports
            time.sleep(0.02)

    def final(self, task_uuid, timeout=WAIT):
        reports = self.wait_reports(lambda rs: any(
            r['args'].get('task_uuid') == task_uuid
            and r['args'].get('status') not in (None, 'running')
            for r in rs), timeout)
        return [r for r in reports if r['args'].get('task_uuid') == task_uuid]

    def dead_letters(self, count, timeout=WAIT):
        queue = entities.dead_letter_queue(self.conf,
                                           self.conf.executor.queue)
        got, deadline = [], time.monotonic() + timeout
        while len(got) < count:
            got += self._take(queue)
            assert time.monotonic() < deadline, got
            time.sleep(0.02)
        return got

    def queued(self, queue=None):
        """Messages waiting on a queue (default: the work queue)."""
        queue = (queue or entities.executor_queue(self.conf))(
            self.conn.channel())
        return queue.queue_declare(passive=True).message_count

    def close(self):
        self.service.should_stop = True
        self.thread.join(WAIT + self.conf.executor.drain_timeout)
        assert not self.thread.is_alive()
        self.conn.release()


@pytest.fixture
def executor():
    started = []

    def start(**executor_opts):
        started.append(Executor(_conf(**executor_opts)))
        return started[-1]

    yield start
    for each in started:
        each.close()
    # The service bounded kombu's decoders for the whole process to its
    # small test limit: give later tests the default back.
    defaults = cfg.ConfigOpts()
    opts.register_opts(defaults)
    defaults([])
    compression.install(defaults.max_message_bytes)


def _statuses(reports):
    return [r['args'].get('status') for r in reports
            if r['args'].get('status')]


def _deploy(task_uuid, tasks, nodes=2, **args):
    fleet = [{'id': i, 'name': 'n%d' % i, 'roles': ['compute']}
             for i in range(1, nodes + 1)]
    graph, _ = serializer.serialize(tasks, fleet)
    spec = serializer.graph_spec(tasks, fleet, None, graph)
    return schemas.request('task_deploy', task_uuid, graph_spec=spec, **args)


def _shell(name, duration=0.0, **extra):
    return dict({'id': name, 'type': 'shell', 'roles': ['*'],
                 'parameters': {'duration': duration}}, **extra)


def test_echo_reports_running_then_ready_and_is_acknowledged(executor):
    ex = executor()
    ex.send(schemas.request('echo', 'echo-1'))
    assert _statuses(ex.final('echo-1')) == ['running', 'ready']
    assert ex.queued() == 0


def test_a_deployment_from_its_graph_spec(executor):
    ex = executor()
    ex.send(_deploy('dep-1', [_shell('a'), _shell('b', requires=['a'])]))
    reports = ex.final('dep-1')
    assert _statuses(reports) == ['running', 'ready']
    rows = {(e['uid'], e['deployment_graph_task_name']): e['task_status']
            for r in reports for e in r['args'].get('nodes', [])
            if 'deployment_graph_task_name' in e}
    assert rows == {(u, t): 'ready' for u in '12' for t in 'ab'}


def test_a_graph_spec_the_executor_expands_differently_is_refused(executor):
    ex = executor()
    body = _deploy('dep-2', [_shell('a')])
    body['args']['graph_spec']['digest'] = '0' * 64
    ex.send(body)
    last = ex.final('dep-2')[-1]['args']
    assert last['status'] == 'error'
    assert 'manager and executor versions differ' in last['error']


def test_unknown_method_is_answered_and_the_next_message_runs(executor):
    ex = executor()
    body = schemas.request('echo', 'odd-1')
    body['method'], body['respond_to'] = 'reticulate', 'echo_resp'
    ex.send(body)
    ex.send(schemas.request('echo', 'echo-2'))
    assert ex.final('odd-1')[-1]['args']['error'] == \
        "unknown executor method 'reticulate'"
    assert _statuses(ex.final('echo-2')) == ['running', 'ready']


def test_invalid_message_is_dead_lettered_and_its_task_told(executor):
    ex = executor()
    body = schemas.request('power', 'bad-1', design_ref='file:///x',
                           nodes=[{'uid': '5', 'name': 'n5',
                                   'password': 'hunter2'}])
    ex.send(body)
    [dead] = ex.dead_letters(1)
    reason = dead.headers[entities.REASON_HEADER]
    [report] = ex.final('bad-1')
    assert report['method'] == 'power_resp'
    assert report['args']['status'] == 'error'
    assert report['args']['error'] == 'work message refused: ' + reason
    assert 'hunter2' not in json.dumps(report)


def test_oversized_message_names_the_limit_to_its_task(executor):
    """Larger than max_message_bytes: never parsed, yet its task hears."""
    ex = executor()
    body = schemas.request('task_deploy', 'big-1', tasks_graph={
        str(i): [{'id': 'x' * 100, 'type': 'shell'}] for i in range(2000)})
    ex.send(body)
    [dead] = ex.dead_letters(1)
    [report] = ex.final('big-1')
    error = report['args']['error']
    assert 'exceeds the limit of %d' % (64 * 1024) in error
    assert dead.headers[entities.REASON_HEADER] in error


def test_a_deployment_over_the_executors_own_limit_is_refused(executor):
    ex = executor()
    ex.conf.set_override('max_deployment_tasks', 3, 'graph')
    ex.send(_deploy('many-1', [_shell('a'), _shell('b')]))
    [report] = ex.final('many-1')
    assert report['args']['error'] == (
        "deployment of 4 node tasks is over this executor's [graph] "
        "max_deployment_tasks (3)")


def test_compressed_bomb_is_refused_to_its_task(executor):
    ex = executor()
    body = json.dumps(schemas.request('task_deploy', 'bomb-1', tasks_graph={
        'pad': [{'id': 'x' * 1_000_000, 'type': 'shell'}]})).encode()
    ex.send(zlib.compress(body), raw=True,
            headers={'compression': 'application/x-gzip'})
    [report] = ex.final('bomb-1')
    # Set aside after the refusal is reported; kept compressed as it
    # came (reading it back would inflate it).
    dead = entities.dead_letter_queue(ex.conf, ex.conf.executor.queue)
    deadline = time.monotonic() + WAIT
    while ex.queued(dead) < 1:
        assert time.monotonic() < deadline, 'never dead-lettered'
        time.sleep(0.02)
    assert ex.queued(dead) == 1
    assert report['args']['error'].startswith(
        'work message refused: undecodable body')


def test_a_stopped_task_never_starts_later(executor):
    """The stop first (on the work queue, as broker-less transports
    carry it), then a copy of the task's work: it never runs."""
    ex = executor()
    ex.send(schemas.request('stop_deploy_task', 'late-1'))
    ex.send(_deploy('late-1', [_shell('a')]))
    [report] = ex.final('late-1')
    assert report['args']['status'] == 'stopped'
    assert report['args']['error'] == 'task was stopped before it ran'


def test_a_stop_on_the_fanout_halts_a_running_deployment(executor):
    ex = executor()
    ex.send(_deploy('halt-1', [_shell('a', duration=3),
                               _shell('b', requires=['a'])], nodes=1))
    ex.wait_reports(lambda rs: any(
        e.get('task_status') == 'running'
        for r in rs for e in r['args'].get('nodes', [])))
    ex.stop_task('halt-1')
    last = ex.final('halt-1')[-1]['args']
    assert last['status'] == 'stopped'
    rows = [e for r in ex.reports for e in r['args'].get('nodes', [])
            if e.get('deployment_graph_task_name') == 'b']
    assert [(e['task_status'], e['error_msg']) for e in rows] == [
        ('skipped', 'deployment stopped')]


def test_a_second_copy_of_a_work_message_runs_once(executor):
    ex = executor()
    body = _deploy('twice-1', [_shell('a', duration=0.3)])
    ex.send(body)
    ex.send(body)
    ex.final('twice-1')
    ex.send(schemas.request('echo', 'after-1'))
    ex.final('after-1')
    assert _statuses(ex.final('twice-1')) == ['running', 'ready']


def test_drain_ends_running_work_within_drain_timeout(executor):
    ex = executor(drain_timeout=2)
    ex.send(_deploy('long-1', [_shell('a', duration=60),
                               _shell('b', requires=['a'])]))
    ex.wait_reports(lambda rs: any(
        e.get('task_status') == 'running'
        for r in rs for e in r['args'].get('nodes', [])))
    started = time.monotonic()
    ex.service.should_stop = True
    ex.thread.join(10)
    assert not ex.thread.is_alive()
    assert time.monotonic() - started < 2 + 1.5
    last = ex.final('long-1')[-1]['args']
    reason = 'executor %s shut down before the task finished' % \
        ex.conf.host
    assert (last['status'], last['error']) == ('error', reason)
    rows = {}
    for report in ex.reports:
        for entry in report['args'].get('nodes', []):
            if 'deployment_graph_task_name' in entry:
                rows[(entry['uid'], entry['deployment_graph_task_name'])] = (
                    entry['task_status'], entry.get('error_msg'))
    assert rows == {('1', 'a'): ('error', reason),
                    ('2', 'a'): ('error', reason),
                    ('1', 'b'): ('skipped', reason),
                    ('2', 'b'): ('skipped', reason)}
