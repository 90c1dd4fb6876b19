"""Work-plane entity names, identities, TLS options and error lines."""

import ssl

from oslo_config import cfg

from drydockd.conf import opts
from drydockd.messaging import entities


def _conf(url='memory://', **work_plane):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    conf.set_override('work_transport_url', url)
    for key, value in work_plane.items():
        conf.set_override(key, value, 'work_plane')
    return conf


def test_each_kind_of_traffic_has_its_exchange():
    conf = _conf()
    assert entities.executor_queue(conf).exchange.name == 'drydock.commands'
    receiver = entities.receiver_queue(conf)
    assert entities.bindings_of(receiver) == [
        ('drydock.agent_reports', 'drydock.receiver'),
        ('drydock.reports', 'drydock.receiver')]
    assert entities.publisher_exchange(conf, receiver).name == \
        'drydock.reports'
    dead = entities.dead_letter_queue(conf, 'drydock.receiver')
    assert (dead.exchange.name, dead.exchange.type, dead.routing_key) == (
        'drydock.dead', 'topic', 'drydock.receiver.dead')
    exchanges, queues = entities.topology(conf)
    assert sorted(e.name for e in exchanges) == [
        'drydock.agent_reports', 'drydock.commands', 'drydock.dead',
        'drydock.executor_service', 'drydock.reports']
    assert sorted(q.name for q in queues) == [
        'drydock.executor', 'drydock.executor.dead', 'drydock.receiver',
        'drydock.receiver.dead']


def test_a_preset_topology_is_not_declared_on_amqp_only():
    amqp = _conf('amqp://u:p@127.0.0.1:5672/v', declare_topology=False)
    assert entities.executor_queue(amqp).no_declare
    assert entities.receiver_queue(amqp).no_declare
    assert entities.service_exchange(amqp).no_declare
    # The executor's own fanout queue is always declared.
    assert not entities.service_queue(amqp).no_declare
    # Broker-less transports keep their bindings in memory: declare.
    memory = _conf(declare_topology=False)
    assert not entities.executor_queue(memory).no_declare


def test_identity_is_the_connections_user():
    assert entities.identity(_conf()) == entities.LOCAL_IDENTITY
    assert entities.identity(_conf('amqp://bob:x@127.0.0.1:5672/v')) == 'bob'
    assert entities.identity(_conf('amqp://127.0.0.1:5672//')) == 'guest'


def test_tls_always_verifies_the_broker():
    assert entities.ssl_options(_conf('amqp://h:5671//')) is False
    with_ca = entities.ssl_options(_conf(
        'amqp://u:p@mq.example:5671/v', ssl=True, ssl_ca_file='/ca.pem'))
    assert with_ca == {'cert_reqs': ssl.CERT_REQUIRED,
                       'server_hostname': 'mq.example',
                       'ca_certs': '/ca.pem'}
    system = entities.ssl_options(_conf('amqp://u:p@mq.example:5671/v',
                                        ssl=True))
    assert system == {'context': {'check_hostname': True},
                      'server_hostname': 'mq.example'}


def test_errors_say_which_tls_option_to_look_at():
    plain = _conf('amqp://h:5671//')
    assert entities.explain(plain, ConnectionResetError(
        104, 'Connection reset by peer')).endswith(
        'a TLS port? Set [work_plane] ssl = true')
    tls = _conf('amqp://h:5671//', ssl=True)
    bad = ssl.SSLCertVerificationError(
        1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')
    assert entities.explain(tls, bad).startswith(
        "TLS: the broker's certificate is not trusted")
    assert entities.explain(tls, ConnectionRefusedError(
        111, 'Connection refused')) == '[Errno 111] Connection refused'
