"""Unprocessable reports are set aside with their reason, then replayable."""

import json
import subprocess
import time

import kombu

import conftest


def _manage(config, *args):
    return subprocess.run(
        [conftest.BIN + '/drydock-manage', '--config-file', config] +
        list(args), capture_output=True, text=True, timeout=120)


def _replay_all(config, conn, count):
    """``dead-letters replay`` moves every dead letter back to its queue."""
    replayed = _manage(config, 'dead-letters', 'replay')
    assert replayed.returncode == 0, replayed.stderr
    assert 'replayed %d messages' % count in replayed.stdout
    assert _depth(conn, 'drydock.receiver.dead') == 0
    assert _depth(conn, 'drydock.receiver') == count


def _depth(conn, name):
    channel = conn.channel()
    try:
        return kombu.Queue(name, durable=True)(channel).queue_declare(
            passive=True).message_count
    except conn.channel_errors:
        return 0   # not declared yet: nothing was set aside so far
    finally:
        channel.close()


def _wait_depth(conn, name, count, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _depth(conn, name) == count:
            return
        time.sleep(0.1)
    assert _depth(conn, name) == count


def test_dead_letter_list_and_replay(tmp_path, pg_url, rabbit_vhost,
                                     daemons):
    config = conftest.production_config(tmp_path / 'drydock.conf', pg_url,
                                        rabbit_vhost)
    assert _manage(config, 'db', 'upgrade').returncode == 0
    receiver = daemons('receiver', config, tmp_path / 'receiver.log')
    receiver.wait_ready()

    bad = [b'\x00\xffnot json', b'{"method": "deploy_resp", "args": {',
           json.dumps({'method': 'reboot_everything',
                       'args': {'task_uuid': 'x'}}).encode()]
    unknown_task = json.dumps({'method': 'deploy_resp',
                               'args': {'task_uuid': 'no-such-task',
                                        'status': 'running'}}).encode()
    with kombu.Connection(conftest.AMQP_URL % rabbit_vhost) as conn:
        producer = conn.Producer()
        exchange = kombu.Exchange('drydock.reports', 'direct', durable=True)
        for body in bad + [unknown_task]:
            # As an executor on this one-user broker (the receiver's own
            # user is then the executor identity).
            producer.publish(body, exchange=exchange,
                             routing_key='drydock.receiver',
                             content_type='application/json',
                             content_encoding='binary', user_id='guest')
        _wait_depth(conn, 'drydock.receiver.dead', len(bad))
        _wait_depth(conn, 'drydock.receiver', 0)
        assert receiver.stop() == 0

        listed = _manage(config, 'dead-letters', 'list')
        assert listed.returncode == 0, listed.stderr
        assert 'undecodable body' in listed.stdout
        assert "unknown method 'reboot_everything'" in listed.stdout
        assert '3 dead letters in drydock.receiver.dead' in listed.stdout
        assert _depth(conn, 'drydock.receiver.dead') == 3

        _replay_all(config, conn, 3)

    log = (tmp_path / 'receiver.log').read_text()
    assert 'unknown task no-such-task' in log
    assert 'Dead-lettered a message' in log


def test_json_dead_letters_are_listed_and_replayed(tmp_path, pg_url,
                                                   rabbit_vhost, daemons):
    """JSON bodies as the executor's publisher and kombu's json serializer
    send them (content_encoding utf-8): py-amqp hands their body back as
    ``str``, which ``dead-letters list`` once failed to ``decode``."""
    from drydockd.conf import config as drydock_config
    from drydockd.messaging import entities
    from drydockd.messaging import publisher as publisher_mod
    from drydockd.messaging import schemas
    config = conftest.production_config(tmp_path / 'drydock.conf', pg_url,
                                        rabbit_vhost)
    assert _manage(config, 'db', 'upgrade').returncode == 0
    receiver = daemons('receiver', config, tmp_path / 'receiver.log')
    receiver.wait_ready()

    # What the executor publishes, made invalid: a report whose node
    # status is not one the schema allows, and one carrying a password.
    conf = drydock_config.parse_args(['--config-file', config])
    executor_side = publisher_mod.Publisher(conf)
    try:
        bad_status = schemas.report(
            'deploy_resp', 'task-é', status='running', nodes=[
                schemas.node_entry('5', schemas.utcnow(), 'netconfig',
                                   'exploded')])
        executor_side.to_receiver(bad_status)
        executor_side.to_receiver({'method': 'power_resp',
                                   'args': {'task_uuid': 'x',
                                            'progress': 'password=hunter2'}})
    finally:
        executor_side.close()
    with kombu.Connection(conftest.AMQP_URL % rabbit_vhost) as conn:
        # kombu's json serializer, straight from a third-party executor.
        conn.Producer().publish(
            {'method': 'reboot_everything', 'args': {'task_uuid': 'ü'}},
            exchange=entities.executor_report_exchange(conf),
            routing_key='drydock.receiver',
            serializer='json')
        _wait_depth(conn, 'drydock.receiver.dead', 3)
        assert receiver.stop() == 0

        listed = _manage(config, 'dead-letters', 'list')
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert lines[-1] == '3 dead letters in drydock.receiver.dead'
        assert any("unknown method 'reboot_everything'" in line
                   and '"task_uuid": "\\u00fc"' in line for line in lines)
        assert any('task_status must be one of' in line
                   and 'application/json' in line
                   and '"task_uuid": "task-\\u00e9"' in line
                   for line in lines)
        assert any('"progress": "password=***"' in line for line in lines)
        assert 'hunter2' not in listed.stdout
        sizes = [int(line.split('\t')[2].split()[0]) for line in lines[:-1]]
        assert all(size > 40 for size in sizes)
        assert _depth(conn, 'drydock.receiver.dead') == 3

        _replay_all(config, conn, 3)
        # Replayed bodies are the originals, byte for byte decodable JSON.
        channel = conn.channel()
        queue = entities.receiver_queue(conf)(channel)
        bodies = []
        for _ in range(3):
            message = queue.get(no_ack=True)
            bodies.append(json.loads(message.body))
        channel.close()
        assert {b['method'] for b in bodies} == {
            'deploy_resp', 'power_resp', 'reboot_everything'}
