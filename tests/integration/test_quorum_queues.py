"""Work queues are RabbitMQ quorum queues, and their delivery limit feeds
the dead-letter path (issue 15), on the shared broker in a fresh vhost."""

import subprocess

import conftest
from drydockd.conf import config as config_mod
from drydockd.messaging import dead_letter
from drydockd.messaging import entities


def _conf(tmp_path, vhost, **work_plane):
    path = conftest.write_config(
        tmp_path / 'drydock.conf',
        DEFAULT={'work_transport_url': conftest.AMQP_URL % vhost,
                 'state_path': str(tmp_path)},
        database={'connection': 'sqlite:///%s' % (tmp_path / 'db.sqlite')},
        work_plane=work_plane)
    return config_mod.parse_args(['--config-file', path]), path


def _queue_types(vhost):
    out = subprocess.run(
        ['rabbitmqctl', '-q', 'list_queues', '-p', vhost,
         '--no-table-headers', 'name', 'type'],
        capture_output=True, text=True, timeout=60, check=True).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def _declare_work_queues(conf):
    with entities.connection(conf) as conn:
        channel = conn.channel()
        for queue in entities.work_queues(conf).values():
            queue(channel).declare()
            entities.dead_letter_queue(conf, queue.name)(channel).declare()
        channel.close()


def test_work_queues_and_their_dead_letter_queues_are_quorum(tmp_path,
                                                             rabbit_vhost):
    conf, _ = _conf(tmp_path, rabbit_vhost)
    _declare_work_queues(conf)
    types = _queue_types(rabbit_vhost)
    names = [conf.executor.queue, conf.receiver.queue]
    names += [n + entities.DEAD_SUFFIX for n in names]
    assert {n: types.get(n) for n in names} == dict.fromkeys(names, 'quorum')


def test_classic_queues_when_configured(tmp_path, rabbit_vhost):
    conf, _ = _conf(tmp_path, rabbit_vhost, quorum_queues=False)
    _declare_work_queues(conf)
    assert _queue_types(rabbit_vhost)[conf.executor.queue] == 'classic'


def test_the_delivery_limit_sets_a_message_aside(tmp_path, rabbit_vhost):
    """A message given back (as by a consumer that died holding it) more
    often than the limit goes to <queue>.dead, where `dead-letters list`
    says why."""
    conf, path = _conf(tmp_path, rabbit_vhost, delivery_limit=2)
    _declare_work_queues(conf)
    queue = entities.executor_queue(conf)
    with entities.connection(conf) as conn:
        conn.Producer().publish(
            b'{"method": "task_deploy"}', exchange=queue.exchange,
            routing_key=queue.routing_key, content_type='application/json',
            content_encoding='utf-8', delivery_mode=2)
        bound = queue(conn.channel())
        returned = 0
        while True:
            message = bound.get(no_ack=False)
            if message is None:
                break
            message.requeue()
            returned += 1
            assert returned <= 5, 'never set aside'
    assert returned == 3          # the first delivery and two more
    [letter] = dead_letter.browse(conf, conf.executor.queue)
    assert letter['reason'].startswith('delivered ')
    assert "the broker's delivery limit on %s" % conf.executor.queue in \
        letter['reason']
    listed = subprocess.run(
        [conftest.BIN + '/drydock-manage', '--config-file', path,
         'dead-letters', 'list', '--queue', 'executor'],
        capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "delivery limit on %s" % conf.executor.queue in listed.stdout


def test_a_classic_queue_left_from_before_is_named_in_one_line(
        tmp_path, rabbit_vhost):
    """A site upgrading with classic queues in place gets told what to do,
    not a channel error."""
    classic, _ = _conf(tmp_path, rabbit_vhost, quorum_queues=False)
    _declare_work_queues(classic)
    (tmp_path / 'new').mkdir()
    conf, path = _conf(tmp_path / 'new', rabbit_vhost)
    conftest.migrate(path)
    checked = subprocess.run(
        [conftest.BIN + '/drydockd', 'executor', '--config-file', path],
        capture_output=True, text=True, timeout=120,
        env=conftest.daemon_env())
    assert checked.returncode != 0
    lines = [line for line in checked.stderr.splitlines() if line.strip()]
    assert 'Traceback' not in checked.stderr, checked.stderr
    assert any('%s exists as a classic queue' % conf.executor.queue in line
               and 'Quorum queues' in line for line in lines), lines


def test_the_api_plane_on_quorum_queues(tmp_path, pg_url, rabbit_vhost,
                                        daemons):
    """oslo.messaging's own option: the manager's topic queue is a quorum
    queue, and a CLI reading the same config reaches it."""
    config = conftest.production_config(
        tmp_path / 'drydock.conf', pg_url, rabbit_vhost,
        oslo_messaging_rabbit={'rabbit_quorum_queue': 'true'})
    conftest.migrate(config)
    daemons('manager', config, tmp_path / 'manager.log').wait_ready()
    listed = conftest.drydock2(config, 'task', 'list', '-f', 'json')
    assert listed.returncode == 0, listed.stderr
    assert _queue_types(rabbit_vhost)['drydock'] == 'quorum'
