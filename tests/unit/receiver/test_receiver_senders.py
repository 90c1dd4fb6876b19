"""The receiver takes each report only from who may send it.

On kombu's memory transport nothing validates ``user_id``; the test's
publisher stamps the identity RabbitMQ would have validated (its
``identity``), as tests/integration/test_broker_trust.py checks on the
real broker. The receiver runs for real against a migrated SQLite file.
"""

import pytest
import sqlalchemy as sa

from drydockd.messaging import entities
from drydockd.messaging import schemas
from drydockd.receiver import senders

from test_receiver_service import Site
from test_receiver_service import wait_for

EXECUTOR, AGENT = 'drydock-executor', 'drydock-agent'


@pytest.fixture
def roles(tmp_path):
    site = Site(tmp_path, executor_identities='%s,exec-b' % EXECUTOR,
                agent_identities=AGENT)
    yield site
    site.stop()


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path)
    yield site
    site.stop()


def _as(site, user):
    site.publisher.identity = user


def _snapshot(site):
    with site.db.engine.connect() as conn:
        return [conn.execute(sa.text(q)).fetchall() for q in (
            'SELECT id, status, result_status, progress, updated, '
            'heartbeat, time_end FROM tasks ORDER BY id',
            'SELECT id, status, progress, error_msg, power_state, updated, '
            'reservation FROM nodes ORDER BY id',
            'SELECT node_id, deployment_graph_task_name, status, time_start,'
            ' time_end FROM deployment_history ORDER BY 1, 2')]


def _agent_report(node='1'):
    return schemas.report('node_agent_resp', None, nodes=[
        schemas.node_entry(node, schemas.utcnow(), status='provisioned',
                           progress=100)])


def _settled(site, letters):
    wait_for(lambda: site.done() and len(site.dead_letters()) == letters,
             what='%d dead letters, every message acknowledged' % letters)
    return [letter['reason'] for letter in site.dead_letters()]


def test_reports_from_the_executor_identities_are_applied(roles):
    _as(roles, EXECUTOR)
    roles.report('hiera', '1')
    _as(roles, 'exec-b')
    roles.report('hiera', '2')
    roles.start()
    wait_for(lambda: roles.rows()[('2', 'hiera')] == 'ready',
             what='both reports applied')
    assert roles.rows()[('1', 'hiera')] == 'ready'
    assert _settled(roles, 0) == []


@pytest.mark.parametrize('user', [AGENT, 'guest', None])
def test_a_forged_executor_report_is_dead_lettered(roles, user):
    """An executor report from the agent, anyone else, or no one."""
    before = _snapshot(roles)
    _as(roles, user)
    roles.report('hiera', '1')
    roles.publisher.publish(roles.queue, schemas.report(
        'deploy_resp', roles.task['uuid'], status='ready', progress=100))
    roles.start()
    reasons = _settled(roles, 2)
    who = ("broker user '%s'" % user if user
           else 'no validated user (no user_id)')
    assert reasons == ['Invalid message: deploy_resp refused: sent by %s, '
                       'not an executor identity' % who] * 2
    assert _snapshot(roles) == before


def test_a_forged_agent_report_is_dead_lettered(roles):
    """An executor may not say a node was provisioned."""
    before = _snapshot(roles)
    _as(roles, EXECUTOR)
    roles.publisher.agent_to_receiver(_agent_report('1'))
    roles.start()
    (reason,) = _settled(roles, 1)
    assert reason == ("Invalid message: node_agent_resp refused: sent by "
                      "broker user 'drydock-executor', not an agent "
                      "identity")
    assert _snapshot(roles) == before


def test_one_forged_item_refuses_the_whole_message(roles):
    """A list body is one message: nothing of it is applied."""
    before = _snapshot(roles)
    _as(roles, EXECUTOR)
    good = schemas.report('deploy_resp', roles.task['uuid'], nodes=[
        schemas.node_entry('1', schemas.utcnow(), 'hiera', 'ready')])
    roles.publisher.publish(roles.queue, [good, _agent_report('2')])
    roles.start()
    (reason,) = _settled(roles, 1)
    assert 'node_agent_resp refused' in reason
    assert _snapshot(roles) == before


def test_the_agent_identity_reports_agents(roles):
    _as(roles, AGENT)
    roles.publisher.agent_to_receiver(_agent_report('1'))
    roles.start()
    wait_for(lambda: roles.receiver.applied == 1, what='the report applied')
    assert _settled(roles, 0) == []


def test_a_dead_letter_names_its_sender(roles):
    _as(roles, AGENT)
    roles.report('hiera', '1')
    roles.start()
    _settled(roles, 1)
    with entities.connection(roles.conf) as conn:
        channel = conn.channel()
        queue = entities.dead_letter_queue(roles.conf, roles.queue_name)
        message = queue(channel).get(no_ack=True)
        channel.close()
    assert message.headers[entities.USER_HEADER] == AGENT


def test_unset_identities_mean_the_receivers_own(site):
    """One-user setups and the embedded default: the in-process
    publisher's identity is the receiver's own."""
    assert site.publisher.identity == entities.LOCAL_IDENTITY
    checker = senders.Senders(site.conf)
    assert checker.executors == checker.agents == {entities.LOCAL_IDENTITY}
    site.report('hiera', '1')
    site.publisher.agent_to_receiver(_agent_report('2'))
    site.start()
    wait_for(lambda: site.receiver.applied == 2, what='both applied')
    assert site.rows()[('1', 'hiera')] == 'ready'
    assert _settled(site, 0) == []
