"""Least privilege on the real RabbitMQ: forged traffic changes nothing.

``drydock-manage broker setup`` makes two fresh virtual hosts and one user
per role (deleted afterwards); a ``drydockd receiver`` runs with the
receiver's snippet against a PostgreSQL database that holds a running
deployment and a provisioning task whose nodes wait for their agents.
Each forgery is refused by the broker (access refused, or a ``user_id``
that is not the sender's) or by the receiver (dead-lettered with the
reason); a genuine report sent after the forgeries is applied, so the
receiver was listening, and the database is otherwise unchanged.
"""

import configparser
import datetime
import os
import subprocess
import time
import uuid

import conftest
import kombu
import pytest
import sqlalchemy as sa

from drydockd.common import events as ev
from drydockd.db.sqlalchemy import api as sqla_api
from drydockd.db.sqlalchemy import engine as engine_mod
from drydockd.messaging import schemas

ROLES = ('api', 'manager', 'executor', 'receiver', 'agent')
NAMES = ['hiera', 'netconfig']


def _ctl(*args):
    return subprocess.run(['rabbitmqctl', '-q'] + list(args),
                          capture_output=True, text=True, timeout=60)


def _manage(*args):
    return subprocess.run(
        [os.path.join(conftest.BIN, 'drydock-manage')] + list(args),
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, DRYDOCK_CONFIG=''))


def parse_snippets(stdout):
    """role -> {group: {option: value}} from setup's output."""
    out, role, lines = {}, None, []
    for line in stdout.splitlines() + ['# end (x): y']:
        if line.startswith('# '):
            if role:
                parser = configparser.ConfigParser(interpolation=None)
                parser.read_string('\n'.join(lines))
                groups = {s: dict(parser[s]) for s in parser.sections()}
                groups['DEFAULT'] = dict(parser.defaults())
                out[role] = groups
            role, lines = line.split()[1], []
        elif role:
            lines.append(line)
    return out


class Broker:
    """The vhosts and users ``broker setup`` made for one test."""

    def __init__(self):
        tag = uuid.uuid4().hex[:8]
        self.work_vhost = 'dd-trust-work-%s' % tag
        self.api_vhost = 'dd-trust-api-%s' % tag
        self.prefix = 'dd-%s-' % tag
        self.users = {role: self.prefix + role for role in ROLES}

    def setup(self):
        return _manage('broker', 'setup', '--work-vhost', self.work_vhost,
                       '--api-vhost', self.api_vhost, '--user-prefix',
                       self.prefix)

    def url(self, role):
        return self.snippets[role]['DEFAULT']['work_transport_url']

    def api_on_work(self):
        """The API user's real credentials, aimed at the work vhost."""
        api = self.snippets['api']['DEFAULT']['transport_url']
        password = api.split('@')[0].rsplit(':', 1)[1]
        return 'amqp://%s:%s@127.0.0.1:5672/%s' % (
            self.users['api'], password, self.work_vhost)

    def guest_url(self):
        """The test's own eyes on the work vhost (never a role)."""
        return conftest.AMQP_URL % self.work_vhost

    def delete(self):
        for user in self.users.values():
            _ctl('delete_user', user)
        for vhost in (self.work_vhost, self.api_vhost):
            _ctl('delete_vhost', vhost)


@pytest.fixture
def broker():
    broker = Broker()
    result = broker.setup()
    try:
        assert result.returncode == 0, result.stderr
        broker.first_output = result.stdout
        broker.snippets = parse_snippets(result.stdout)
        _ctl('set_permissions', '-p', broker.work_vhost, 'guest',
             '.*', '.*', '.*')
        yield broker
    finally:
        broker.delete()


def role_config(tmp_path, broker, role, pg_url):
    groups = {g: dict(o) for g, o in broker.snippets[role].items()}
    groups['DEFAULT']['state_path'] = str(tmp_path)
    groups['database'] = {'connection': pg_url}
    groups.setdefault('receiver', {})['batch_window_ms'] = 20
    # The demo site's master-node commands, as the suite's sites allow.
    groups['site'] = dict(conftest.TEST_SITE)
    return conftest.write_config(tmp_path / ('%s.conf' % role), **groups)


class Site:
    """A deployment of nodes 1-2 running, nodes 3-4 waiting for agents."""

    def __init__(self, pg_url):
        from drydockd.db import migration
        migration.upgrade(pg_url)
        self.engine = engine_mod.get_engine(pg_url)
        self.db = sqla_api.Connection(self.engine)
        self.db.sync_nodes([{'id': i, 'name': 'node%d' % i}
                            for i in (1, 2, 3, 4)])
        self.deploy = self.db.start_task(
            {'action': 'deploy_nodes'}, [1, 2],
            [(str(n), name) for n in (1, 2) for name in NAMES],
            node_status='deploying')
        self.provision = self.db.start_task(
            {'action': 'provision_nodes'}, [3, 4], subtasks=True,
            node_status='provisioning')
        now = datetime.datetime.utcnow()
        until = now + datetime.timedelta(hours=1)
        events = [ev.TaskReported(t['uuid'], now, 0, 'executor-a')
                  for t in (self.deploy, self.provision)]
        events += [ev.TaskStarted(t['uuid'], now)
                   for t in (self.deploy, self.provision)]
        for uuid_ in self.subtasks().values():
            events.append(ev.SubtaskAwaitingAgent(
                self.provision['uuid'], uuid_, now, until, 'PXE booted'))
        self.db.apply_events(events)

    def subtasks(self):
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.text(
                'SELECT node_id, uuid FROM tasks WHERE parent_id = :p'),
                {'p': self.provision['id']}).fetchall())

    def snapshot(self):
        with self.engine.connect() as conn:
            return {q: conn.execute(sa.text(q)).fetchall() for q in (
                'SELECT id, status, result_status, progress, '
                'result_error_count, time_end, deadline FROM tasks '
                'ORDER BY id',
                'SELECT id, status, progress, error_msg, reservation '
                'FROM nodes ORDER BY id',
                'SELECT task_id, node_id, deployment_graph_task_name, '
                'status, time_start, time_end FROM deployment_history '
                'ORDER BY 1, 2, 3',
                'SELECT count(*) FROM result_message')}

    def history(self, node, name):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(
                'SELECT status FROM deployment_history WHERE node_id = :n '
                'AND deployment_graph_task_name = :t'),
                {'n': node, 't': name}).scalar()

    def node_status(self, node):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(
                'SELECT status FROM nodes WHERE id = :n'),
                {'n': node}).scalar()


def wait_for(predicate, timeout=30, what='the condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail('%s not met within %ss' % (what, timeout))


def publish(url, exchange, routing_key, body, **properties):
    """One confirmed publish as the URL's user; the broker's refusal
    (a closed channel or connection) is raised."""
    with kombu.Connection(url, transport_options={'confirm_publish': True},
                          heartbeat=0, connect_timeout=10) as conn:
        conn.ensure_connection(max_retries=1)
        kombu.Producer(conn.channel()).publish(
            body, exchange=exchange, routing_key=routing_key,
            serializer='json', delivery_mode=2, retry=False,
            **properties)


def refused(url, exchange, routing_key, body, **properties):
    with pytest.raises(Exception) as caught:
        publish(url, exchange, routing_key, body, **properties)
    return str(caught.value)


def depth(broker, queue):
    with kombu.Connection(broker.guest_url()) as conn:
        return conn.default_channel.queue_declare(
            queue, passive=True).message_count


def dead_reasons(broker, queue='drydock.receiver.dead'):
    """Reasons of the dead letters (taken off the queue)."""
    out = []
    with kombu.Connection(broker.guest_url()) as conn:
        channel = conn.default_channel
        while True:
            message = channel.basic_get(queue, no_ack=True)
            if message is None:
                return out
            headers = message.properties.get('application_headers') or {}
            out.append((headers.get('x-drydock-reason'),
                        headers.get('x-drydock-user')))


@pytest.fixture
def trust(tmp_path, broker, pg_url, daemons):
    site = Site(pg_url)
    config = role_config(tmp_path, broker, 'receiver', pg_url)
    receiver = daemons('receiver', config, tmp_path / 'receiver.log')
    receiver.wait_ready()
    yield broker, site
    engine_mod.dispose_all()


def _deploy_report(site, node, status='ready'):
    return schemas.report('deploy_resp', site.deploy['uuid'], status='ready',
                          progress=100, nodes=[schemas.node_entry(
                              node, schemas.utcnow(), 'hiera', status)])


def _agent_report(node):
    return schemas.report('node_agent_resp', None, nodes=[
        schemas.node_entry(node, schemas.utcnow(), status='provisioned',
                           progress=100)])


def test_setup_is_idempotent_and_shows_passwords_once(broker):
    work = broker.snippets['executor']['DEFAULT']['work_transport_url']
    password = work.split('@')[0].rsplit(':', 1)[1]
    assert password != '****' and len(password) >= 24
    again = broker.setup()
    assert again.returncode == 0, again.stderr
    assert 'broker setup: nothing to change (already set up)' in again.stdout
    assert 'created' not in again.stdout
    for snippet in broker.snippets.values():
        for url in (snippet['DEFAULT'].get('work_transport_url'),
                    snippet['DEFAULT'].get('transport_url')):
            if url:
                secret = url.split('@')[0].rsplit(':', 1)[1]
                assert secret not in again.stdout + again.stderr
    assert again.stdout.count(':****@') == 6
    perms = _ctl('list_permissions', '-p', broker.work_vhost).stdout
    assert '%s\t^$\t^(drydock\\.agent_reports)$\t^$' % broker.users[
        'agent'] in perms


def test_setup_refuses_bad_input_in_one_line(tmp_path):
    result = _manage('broker', 'setup', '--password-file', 'root=/x')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "drydock-manage: SetupError: --password-file takes ROLE=FILE with "
        "ROLE one of api, manager, executor, receiver, agent, not 'root=/x'"]
    result = _manage('broker', 'setup', '--rabbitmqctl', '/nonexistent')
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert 'not found' in result.stderr


def test_a_forged_executor_report_changes_nothing(trust):
    broker, site = trust
    before = site.snapshot()
    body = _deploy_report(site, '2')
    agent = broker.url('agent')
    # The agent's own exchange, its own name: the receiver refuses it.
    publish(agent, 'drydock.agent_reports', 'drydock.receiver', body,
            user_id=broker.users['agent'])
    # No user_id at all.
    publish(agent, 'drydock.agent_reports', 'drydock.receiver', body)
    # The executors' exchange: the broker refuses the agent.
    assert 'ACCESS_REFUSED' in refused(agent, 'drydock.reports',
                                       'drydock.receiver', body)
    # Posing as the executor: the broker checks user_id.
    assert 'user_id' in refused(agent, 'drydock.agent_reports',
                                'drydock.receiver', body,
                                user_id=broker.users['executor'])
    # The receiver's own user may not publish reports either.
    assert 'ACCESS_REFUSED' in refused(broker.url('receiver'),
                                       'drydock.reports', 'drydock.receiver',
                                       body)
    # An API-plane user has no access to the work plane at all.
    assert 'access to vhost' in refused(broker.api_on_work(),
                                        'drydock.reports',
                                        'drydock.receiver', body)

    wait_for(lambda: depth(broker, 'drydock.receiver.dead') == 2,
             what='two dead letters')
    reasons = dead_reasons(broker)
    assert reasons == [
        ("Invalid message: deploy_resp refused: sent by broker user '%s', "
         "not an executor identity" % broker.users['agent'],
         broker.users['agent']),
        ('Invalid message: deploy_resp refused: sent by no validated user '
         '(no user_id), not an executor identity', '')]
    assert site.snapshot() == before
    # The genuine executor is heard (node 1 only), so the receiver was up.
    publish(broker.url('executor'), 'drydock.reports', 'drydock.receiver',
            schemas.report('deploy_resp', site.deploy['uuid'], nodes=[
                schemas.node_entry('1', schemas.utcnow(), 'hiera',
                                   'ready')]),
            user_id=broker.users['executor'])
    wait_for(lambda: site.history('1', 'hiera') == 'ready',
             what='the genuine report applied')
    assert site.history('2', 'hiera') == 'pending'
    assert site.snapshot()[
        'SELECT id, status, progress, error_msg, reservation FROM nodes '
        'ORDER BY id'] == before[
        'SELECT id, status, progress, error_msg, reservation FROM nodes '
        'ORDER BY id']


def test_a_forged_agent_report_changes_nothing(trust):
    broker, site = trust
    before = site.snapshot()
    executor = broker.url('executor')
    # An executor may send reports, but not an agent's.
    publish(executor, 'drydock.reports', 'drydock.receiver',
            _agent_report('3'), user_id=broker.users['executor'])
    assert 'ACCESS_REFUSED' in refused(executor, 'drydock.agent_reports',
                                       'drydock.receiver', _agent_report('3'),
                                       user_id=broker.users['executor'])
    assert 'user_id' in refused(executor, 'drydock.reports',
                                'drydock.receiver', _agent_report('3'),
                                user_id=broker.users['agent'])
    wait_for(lambda: depth(broker, 'drydock.receiver.dead') == 1,
             what='one dead letter')
    assert dead_reasons(broker) == [(
        "Invalid message: node_agent_resp refused: sent by broker user "
        "'%s', not an agent identity" % broker.users['executor'],
        broker.users['executor'])]
    assert site.snapshot() == before
    # The genuine agent reports node 4: applied; node 3 still waits.
    publish(broker.url('agent'), 'drydock.agent_reports', 'drydock.receiver',
            _agent_report('4'), user_id=broker.users['agent'])
    wait_for(lambda: site.node_status(4) == 'provisioned',
             what='node 4 provisioned')
    assert site.node_status(3) == 'provisioning'


def test_a_forged_fanout_stop_is_refused(broker):
    stop = schemas.request('stop_deploy_task', str(uuid.uuid4()))
    with kombu.Connection(broker.guest_url()) as conn:
        channel = conn.default_channel
        channel.queue_declare('spy', exclusive=True)
        channel.queue_bind('spy', 'drydock.executor_service', '')
        for role in ('executor', 'receiver', 'agent'):
            assert 'ACCESS_REFUSED' in refused(
                broker.url(role), 'drydock.executor_service', '', stop,
                user_id=broker.users[role])
        publish(broker.url('manager'), 'drydock.executor_service', '', stop,
                user_id=broker.users['manager'])
        wait_for(lambda: channel.queue_declare(
            'spy', passive=True).message_count == 1,
            what='the manager\'s stop')
        message = channel.basic_get('spy', no_ack=True)
        assert message.properties['user_id'] == broker.users['manager']


def test_a_command_from_the_api_plane_is_refused(broker):
    command = schemas.request('echo', str(uuid.uuid4()))
    assert 'access to vhost' in refused(
        broker.api_on_work(), 'drydock.commands', 'drydock.executor',
        command)
    # On its own vhost it may publish to the manager's topic only.
    api_own = broker.snippets['api']['DEFAULT']['transport_url'].replace(
        'rabbit://', 'amqp://')
    for exchange in ('drydock.commands', 'amq.default'):
        assert 'ACCESS_REFUSED' in refused(api_own, exchange,
                                           'drydock.executor', command)
    for role in ('executor', 'receiver', 'agent'):
        assert 'ACCESS_REFUSED' in refused(
            broker.url(role), 'drydock.commands', 'drydock.executor',
            command, user_id=broker.users[role])
    assert depth(broker, 'drydock.executor') == 0
    publish(broker.url('manager'), 'drydock.commands', 'drydock.executor',
            command, user_id=broker.users['manager'])
    wait_for(lambda: depth(broker, 'drydock.executor') == 1,
             what='the manager\'s command queued')


def test_each_role_works_with_its_own_grants_only(tmp_path, broker, pg_url,
                                                  daemons):
    """manager, executor and receiver daemons, and the CLI, each with the
    snippet setup printed for its role, deploy the demo site: least
    privilege leaves every role what it needs, on both planes."""
    configs = {role: role_config(tmp_path, broker, role, pg_url)
               for role in ROLES}
    conftest.migrate(configs['manager'])
    for role in ('receiver', 'executor', 'manager'):
        daemons(role, configs[role], tmp_path / (role + '.log')).wait_ready()
    created = conftest.drydock2(
        configs['api'], 'task', 'create', 'deploy_nodes', '--design-ref',
        conftest.DEMO_SITE, '--wait', '-f', 'json')
    assert created.returncode == 0, created.stderr
    assert '"status": "complete"' in created.stdout, created.stdout
    assert '"success"' in created.stdout
    assert dead_reasons(broker) == []
    for role in ('manager', 'executor', 'receiver'):
        text = (tmp_path / (role + '.log')).read_text()
        assert 'ACCESS_REFUSED' not in text and 'Traceback' not in text, \
            text[-3000:]


def test_each_role_sets_aside_only_what_it_consumed(broker):
    """Topic permissions on the dead-letter exchange: an executor fills
    only the executor's dead letters, a receiver only the receiver's."""
    letter = {'method': 'deploy_resp', 'args': {}}
    for role, own, other in (
            ('executor', 'drydock.executor.dead', 'drydock.receiver.dead'),
            ('receiver', 'drydock.receiver.dead', 'drydock.executor.dead')):
        assert 'ACCESS_REFUSED' in refused(broker.url(role), 'drydock.dead',
                                           other, letter,
                                           user_id=broker.users[role])
        publish(broker.url(role), 'drydock.dead', own, letter,
                user_id=broker.users[role])
        wait_for(lambda: depth(broker, own) == 1, what='%s filled' % own)
        assert depth(broker, other) == 0
        dead_reasons(broker, own)
    assert 'ACCESS_REFUSED' in refused(broker.url('agent'), 'drydock.dead',
                                       'drydock.receiver.dead', letter)
