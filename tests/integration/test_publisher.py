"""A work-plane publish gives up within ``[DEFAULT] publish_timeout``.

Whatever the broker does: refuse connections, accept them and never
answer, or stop answering on a connection that worked (a frozen proxy in
front of the real RabbitMQ). And it works again once the broker is back.
"""

import socket
import time

import kombu
import pytest
from oslo_config import cfg

import conftest
from drydockd.common import exception
from drydockd.conf import opts
from drydockd.messaging import entities
from drydockd.messaging import publisher as publisher_mod
from tcp_proxy import FreezableProxy

TIMEOUT = 2.0
# One publish may start a last attempt just before its deadline.
SLACK = 1.0


def _conf(url):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    conf.set_override('work_transport_url', url)
    conf.set_override('publish_timeout', TIMEOUT)
    return conf


def _gives_up_in_time(publisher):
    started = time.monotonic()
    with pytest.raises(exception.WorkPlaneUnavailable) as raised:
        publisher.to_executor({'method': 'echo'})
    took = time.monotonic() - started
    assert TIMEOUT - 0.1 <= took <= TIMEOUT + SLACK, took
    assert 'within %gs' % TIMEOUT in raised.value.message


def test_refused_connections():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]        # bound, never listening
        publisher = publisher_mod.Publisher(
            _conf('amqp://guest:guest@127.0.0.1:%d//' % port))
        _gives_up_in_time(publisher)


def test_a_broker_that_accepts_and_never_answers():
    with socket.create_server(('127.0.0.1', 0)) as server:
        port = server.getsockname()[1]
        publisher = publisher_mod.Publisher(
            _conf('amqp://guest:guest@127.0.0.1:%d//' % port))
        _gives_up_in_time(publisher)


def _received(conf, count, timeout=5):
    queue = entities.executor_queue(conf)
    with kombu.Connection(conftest.AMQP_URL % conf.rabbit_vhost_name) as c:
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            message = queue(c.channel()).get(no_ack=True)
            if message is None:
                time.sleep(0.05)
            else:
                got.append(message.payload)
        return got


def test_a_broker_that_stops_answering_then_comes_back(rabbit_vhost):
    proxy = FreezableProxy(5672)
    try:
        conf = _conf('amqp://guest:guest@127.0.0.1:%d/%s'
                     % (proxy.port, rabbit_vhost))
        conf.register_opt(cfg.StrOpt('rabbit_vhost_name'))
        conf.set_override('rabbit_vhost_name', rabbit_vhost)
        publisher = publisher_mod.Publisher(conf)
        publisher.to_executor({'n': 1})
        proxy.freeze()
        _gives_up_in_time(publisher)
        proxy.thaw()
        publisher.to_executor({'n': 2})
        publisher.close()
        # The publish that gave up may still arrive (its bytes were held,
        # not lost): a failed publish means "unknown", never "not sent".
        payloads = _received(conf, 3)
        assert {'n': 1} in payloads and {'n': 2} in payloads
    finally:
        proxy.close()
