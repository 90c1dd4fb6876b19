"""The receiver's consumer (ReceiverService) on kombu's memory transport.

A real ReceiverService runs in a thread against a migrated SQLite file;
reports go through the work-plane Publisher to its queue (a fresh name
per test: the memory transport's queues are process-wide). No RabbitMQ,
no PostgreSQL: tests/integration/test_receiver_faults.py does the same
under kill -9, broker restarts and hostile traffic.
"""

import json
import logging
import os
import threading
import time
import uuid

import conftest
import pytest
import sqlalchemy as sa

from drydockd.common import events as ev
from drydockd.conf import config
from drydockd.db import migration
from drydockd.db.sqlalchemy import api as sqla_api
from drydockd.db.sqlalchemy import engine as engine_mod
from drydockd.messaging import dead_letter
from drydockd.messaging import entities
from drydockd.messaging import publisher as publisher_mod
from drydockd.messaging import schemas
from drydockd.receiver import service

BATCH = 5
NAMES = ['hiera', 'netconfig', 'poison']


class RecordingDB(sqla_api.Connection):
    """The real SQLite DB API, noting what each commit held and whether
    the receiver had acknowledged any of it by then."""

    receiver = None

    def __init__(self, engine):
        super().__init__(engine)
        self.commits = []

    def apply_events(self, events):
        counts = super().apply_events(events)
        # Committed: the receiver has not acknowledged a message yet.
        seen = self.receiver.seen if self.receiver else []
        self.commits.append({
            'reports': sum(isinstance(e, ev.TaskReported) for e in events),
            'unacked': sum(not m.acknowledged for m in seen)})
        return counts


class Receiver(service.ReceiverService):
    """The product's consumer, keeping each message it was handed."""

    def on_report(self, message):
        self.seen.append(message)
        super().on_report(message)


def wait_for(predicate, timeout=10, what='the condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail('%s not met within %ss' % (what, timeout))


class Site:
    """A config, a database holding one deployment of nodes 1 and 2, a
    publisher, and the receiver (started on demand, stopped at the end)."""

    def __init__(self, tmp_path, **receiver):
        self.db_dir = tmp_path / 'db'
        self.db_dir.mkdir()
        self.url = 'sqlite:///%s' % (self.db_dir / 'drydock.sqlite')
        self.queue_name = 'drydock.receiver.test-%s' % uuid.uuid4().hex[:8]
        path = conftest.write_config(
            tmp_path / 'drydock.conf',
            DEFAULT={'state_path': tmp_path,
                     'work_transport_url': 'memory://',
                     'work_polling_interval': 0.01},
            database={'connection': self.url},
            receiver=dict({'queue': self.queue_name, 'batch_size': BATCH,
                           'batch_window_ms': 50}, **receiver))
        self.conf = config.parse_args(['--config-file', path])
        migration.upgrade(self.url)
        self.db = RecordingDB(engine_mod.get_engine(self.url))
        self.db.sync_nodes([{'id': i, 'name': 'node%d' % i}
                            for i in (1, 2)])
        self.task = self.db.start_task(
            {'action': 'deploy_nodes'}, [1, 2],
            [(str(n), name) for n in (1, 2) for name in NAMES],
            node_status='deploying')
        self.publisher = publisher_mod.Publisher(self.conf)
        self.queue = entities.receiver_queue(self.conf)
        self.receiver = None
        self.thread = None

    def start(self):
        self.receiver = Receiver(self.conf, db=self.db)
        self.receiver.seen = []
        self.db.receiver = self.receiver
        self.failure = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.receiver.ready.wait(10)

    def _run(self):
        try:
            self.receiver.run()
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            self.failure = exc

    def stop(self):
        if self.thread is not None:
            self.receiver.stop()
            self.thread.join(10)
            assert not self.thread.is_alive()
        self.publisher.close()
        engine_mod.dispose_all()

    def report(self, name='hiera', node='1', status='ready', progress=None):
        body = schemas.report('deploy_resp', self.task['uuid'],
                              progress=progress, nodes=[schemas.node_entry(
                                  node, schemas.utcnow(), name, status)])
        self.publisher.publish(self.queue, body)

    def raw(self, body, content_type='application/json'):
        self.publisher.publish_raw(self.queue, body, content_type, 'utf-8',
                                   {})

    def rows(self):
        with self.db.engine.connect() as conn:
            return dict(((r[0], r[1]), r[2]) for r in conn.execute(sa.text(
                'SELECT node_id, deployment_graph_task_name, status '
                'FROM deployment_history')))

    def done(self):
        """Every message handed over has been acknowledged."""
        return self.receiver.seen and all(m.acknowledged
                                          for m in self.receiver.seen)

    def dead_letters(self):
        return dead_letter.browse(self.conf, self.queue_name)


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path)
    yield site
    site.stop()


def test_reports_are_applied_in_batches(site):
    """Twelve reports waiting in the queue: at most batch_size messages
    per transaction, so fewer transactions than messages."""
    for i in range(12):
        site.report(progress=i)
    site.start()
    wait_for(lambda: sum(c['reports'] for c in site.db.commits) == 12,
             what='12 reports committed')
    sizes = [c['reports'] for c in site.db.commits]
    assert max(sizes) <= BATCH and len(sizes) < 12, sizes
    assert site.db.get_task(site.task['id'])['progress'] == 11
    wait_for(site.done, what='every message acknowledged')
    assert len(site.receiver.seen) == 12


def test_a_lone_report_waits_no_longer_than_the_window(site):
    site.start()
    site.report('netconfig', '2')
    wait_for(lambda: site.rows()[('2', 'netconfig')] == 'ready',
             what='the report applied')
    assert [c['reports'] for c in site.db.commits] == [1]


def test_stopping_applies_and_acknowledges_what_is_buffered(tmp_path):
    """A report waiting in the batch when the receiver stops is applied
    and acknowledged while its channel is open: the receiver ends
    cleanly, and a receiver started later gets nothing again."""
    site = Site(tmp_path, batch_window_ms=60000)
    try:
        site.start()
        site.report('netconfig', '1')
        wait_for(lambda: site.receiver.seen, what='the report delivered')
        assert site.rows()[('1', 'netconfig')] == 'pending'
        site.receiver.stop()
        site.thread.join(10)
        assert not site.thread.is_alive() and site.failure is None, \
            site.failure
        assert site.rows()[('1', 'netconfig')] == 'ready'
        assert site.done()
        site.start()
        time.sleep(0.5)
        assert site.receiver.seen == []
    finally:
        site.stop()


def test_messages_are_acknowledged_only_after_the_commit(site):
    for i in range(7):
        site.report(progress=i)
    site.start()
    wait_for(site.done, what='every message acknowledged')
    # At each commit, every message of that batch was still unacked.
    assert site.db.commits and all(
        c['unacked'] == c['reports'] for c in site.db.commits), \
        site.db.commits
    assert sum(c['reports'] for c in site.db.commits) == 7


def test_bad_messages_are_dead_lettered_with_the_reason(site):
    """Each kind of bad message goes to <queue>.dead with its reason, and
    the valid report behind them is applied in the same batch."""
    site.raw(b'{not json')
    site.raw(json.dumps({'method': 'frobnicate_resp', 'args': {}}))
    site.raw(json.dumps({'method': 'provision_resp', 'args': {
        'task_uuid': site.task['uuid'], 'nodes': [{
            'uid': '1', 'subtask_uuid': 's', 'message': 'm',
            'awaiting_agent_until': '9999-12-31T23:59:59-10:00'}]}}))
    site.report('hiera', '2')
    site.start()
    wait_for(site.done, what='every message acknowledged')
    assert site.rows()[('2', 'hiera')] == 'ready'
    reasons = [letter['reason'] for letter in site.dead_letters()]
    assert len(reasons) == 3, reasons
    assert reasons[0].startswith('Invalid message: undecodable body')
    assert "unknown method 'frobnicate_resp'" in reasons[1]
    assert 'bad time' in reasons[2] and '9999-12-31' in reasons[2]
    assert len(site.db.commits) == 1


def test_a_message_the_database_refuses_is_set_aside_alone(site):
    """A batch the database refuses is applied message by message, so
    only the one it cannot take is dead-lettered."""
    with site.db.engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TRIGGER poison BEFORE UPDATE ON deployment_history "
            "WHEN NEW.deployment_graph_task_name = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'poison row'); END"))
    site.report('hiera', '1')
    site.report('poison', '1')
    site.report('hiera', '2')
    site.start()
    wait_for(site.done, what='every message acknowledged')
    rows = site.rows()
    assert (rows[('1', 'hiera')], rows[('2', 'hiera')],
            rows[('1', 'poison')]) == ('ready', 'ready', 'pending')
    (letter,) = site.dead_letters()
    assert letter['reason'].startswith('could not be applied: '
                                       'IntegrityError')
    assert 'poison row' in letter['reason']


def test_a_database_outage_requeues_and_loses_nothing(site, caplog):
    """With the database gone, the batch goes back to the queue (nothing
    dead-lettered, nothing acknowledged); once it is back, every report
    is applied once."""
    caplog.set_level(logging.ERROR, logger=service.__name__)
    away = str(site.db_dir) + '.away'
    os.rename(site.db_dir, away)
    site.db.engine.dispose()
    try:
        for name, node in (('hiera', '1'), ('hiera', '2'),
                           ('netconfig', '1')):
            site.report(name, node)
        site.start()
        wait_for(lambda: 'messages requeued' in caplog.text, what='a requeue')
        # The batch came back from the queue: delivered again.
        wait_for(lambda: len(site.receiver.seen) > 3, what='a redelivery')
        assert site.db.commits == []
    finally:
        os.rename(away, site.db_dir)
    wait_for(lambda: sum(c['reports'] for c in site.db.commits) == 3,
             timeout=15, what='the reports committed')
    wait_for(site.done, what='every message acknowledged')
    rows = site.rows()
    assert (rows[('1', 'hiera')], rows[('2', 'hiera')],
            rows[('1', 'netconfig')]) == ('ready', 'ready', 'ready')
    assert site.dead_letters() == []
    assert sum(c['reports'] for c in site.db.commits) == 3


def test_consumes_at_the_configured_polling_interval(site):
    """kombu's consumer works on a clone of the connection; a broker-less
    clone must keep work_polling_interval, not kombu's default second."""
    receiver = service.ReceiverService(site.conf, db=site.db)
    with receiver.create_connection() as conn:
        assert conn.transport.polling_interval == 0.01
