"""The broker roles' grants and ``broker setup``'s planning, without a
broker (tests/integration/test_broker_trust.py runs them on RabbitMQ)."""

import base64
import hashlib
import re

from oslo_config import cfg

from drydockd.command import broker
from drydockd.conf import opts
from drydockd.messaging import roles


def _conf():
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    return conf


def _allows(regex, name):
    return re.search(regex, name) is not None


def test_each_work_role_writes_only_its_own_traffic():
    grants = roles.work_grants(_conf())
    writes = {'drydock.commands': {'manager'},
              'drydock.executor_service': {'manager'},
              'drydock.reports': {'executor'},
              'drydock.agent_reports': {'agent'},
              'drydock.dead': {'executor', 'receiver'},
              'drydock.executor': set(), 'drydock.receiver': set(),
              'amq.default': set()}
    for name, writers in writes.items():
        assert {r for r, g in grants.items()
                if _allows(g.write, name)} == writers, name
    reads = {'drydock.executor': {'executor'},
             'drydock.receiver': {'receiver'},
             'drydock.receiver.dead': set(), 'drydock.executor.dead': set()}
    for name, readers in reads.items():
        assert {r for r, g in grants.items()
                if _allows(g.read, name)} == readers, name
    # Only an executor configures anything: its own fanout queue.
    assert _allows(grants['executor'].configure,
                   'drydock.executor_service.host1.ab12cd34')
    for name in ('drydock.executor', 'drydock.receiver', 'drydock.commands',
                 'drydock.executor_service'):
        assert not any(_allows(g.configure, name) for g in grants.values())


def test_dead_letters_are_fenced_by_routing_key():
    topic = roles.work_topic_grants(_conf())
    assert _allows(topic['executor'].write, 'drydock.executor.dead')
    assert not _allows(topic['executor'].write, 'drydock.receiver.dead')
    assert not _allows(topic['receiver'].write, 'drydock.executor.dead')


def test_api_callers_cannot_serve_the_topic():
    grants = roles.api_grants('drydock', 'drydock')
    assert not _allows(grants['api'].read, 'drydock')
    assert _allows(grants['api'].read, 'reply_0123abcd')
    assert _allows(grants['manager'].read, 'drydock.host1')
    assert not _allows(grants['api'].write, 'amq.default')


def test_passwords_are_hashed_as_rabbitmq_does():
    hashed = broker.hash_password('s3cret', b'\x01\x02\x03\x04')
    raw = base64.b64decode(hashed)
    assert raw[:4] == b'\x01\x02\x03\x04'
    assert raw[4:] == hashlib.sha256(b'\x01\x02\x03\x04s3cret').digest()
    assert broker.password_matches('s3cret', hashed, broker.HASHING)
    assert not broker.password_matches('other', hashed, broker.HASHING)


class FakeCtl:
    """rabbitmqctl's export and import over a dict (the broker's state)."""

    def __init__(self):
        self.state = {}
        self.imports = []

    def export(self):
        return {k: list(v) for k, v in self.state.items()}

    def import_(self, definitions):
        self.imports.append(definitions)
        for section, items in definitions.items():
            self.state.setdefault(section, []).extend(items)


def test_a_second_setup_changes_nothing_and_shows_no_password():
    plan = broker.Plan(_conf(), 'w', 'a', 'dd-', 'drydock', 'drydock')
    ctl = FakeCtl()
    lines, shown = broker.setup(ctl, plan, {})
    assert set(shown) == set(roles.ROLES)
    assert len(ctl.imports) == 1 and not any(
        line.endswith('unchanged') for line in lines)
    lines, shown = broker.setup(ctl, plan, {})
    assert shown == {} and len(ctl.imports) == 1
    assert all(line.endswith(': unchanged') for line in lines)
    # A given password that already matches changes nothing either.
    snippets = broker.snippets(plan, shown, '127.0.0.1', 5672)
    assert ':****@' in snippets['executor']


def test_a_new_password_is_set_and_shown_once():
    plan = broker.Plan(_conf(), 'w', 'a', 'dd-', 'drydock', 'drydock')
    ctl = FakeCtl()
    broker.setup(ctl, plan, {})
    lines, shown = broker.setup(ctl, plan, {'agent': 'new-pass'})
    assert shown == {'agent': 'new-pass'}
    assert 'user dd-agent: password changed' in lines
    text = broker.snippets(plan, shown, 'mq.example', 5671, '/ca.pem')
    assert 'amqp://dd-agent:new-pass@mq.example:5671/w' in text['agent']
    assert 'ssl_ca_file = /ca.pem' in text['agent']
