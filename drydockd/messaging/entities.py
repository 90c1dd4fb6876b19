"""Every work-plane exchange and queue, declared here and nowhere else.

Names come from config; the defaults (``drydock.executor``,
``drydock.receiver``, ``drydock.executor_service``) are the contract other
daemons rely on. A dead-letter queue ``<queue>.dead`` sits beside each
work queue; set-aside messages carry their reason in the
``x-drydock-reason`` header.
"""

import uuid

import kombu

from drydockd.common import paths

# Not 'drydock': that is oslo.messaging's control exchange (a topic one).
WORK_EXCHANGE = 'drydock.work'
DEAD_SUFFIX = '.dead'
REASON_HEADER = 'x-drydock-reason'


def work_exchange():
    return kombu.Exchange(WORK_EXCHANGE, type='direct', durable=True)


def work_queue(name):
    """A durable work queue bound to the work exchange by its name."""
    return kombu.Queue(name, exchange=work_exchange(), routing_key=name,
                       durable=True, auto_delete=False)


def executor_queue(conf):
    return work_queue(conf.executor.queue)


def receiver_queue(conf):
    return work_queue(conf.receiver.queue)


def dead_letter_queue(queue_name):
    return work_queue(queue_name + DEAD_SUFFIX)


def service_exchange(conf):
    """Fanout for service messages (stop) to every executor."""
    return kombu.Exchange(conf.executor.service_exchange, type='fanout',
                          durable=True)


def service_queue(conf):
    """This executor's private queue on the service fanout."""
    return kombu.Queue('%s.%s.%s' % (conf.executor.service_exchange,
                                     conf.host, uuid.uuid4().hex[:8]),
                       exchange=service_exchange(conf), exclusive=True,
                       auto_delete=True, durable=False)


def has_fanout(conn):
    """Broker-less SQL transports have no fanout (LIBRARY-NOTES)."""
    return conn.transport.driver_type != 'sql'


def connection(conf, connect_timeout=None):
    """A kombu connection to the work plane, tuned per transport.

    AMQP gets publisher confirms; broker-less virtual transports get the
    configured polling interval, set on the transport instance because
    their transport options go straight to SQLAlchemy's create_engine.
    :raises: StatePathError when a SQLite work plane's directory cannot
        be created or written.
    """
    url = conf.work_transport_url
    paths.ensure_sqlite_dir(url)     # the embedded default's work plane
    options = {}
    if url.startswith(('amqp', 'pyamqp')):
        options['confirm_publish'] = True
    extra = {}
    if connect_timeout is not None:
        extra['connect_timeout'] = connect_timeout
    conn = kombu.Connection(url, transport_options=options, heartbeat=0,
                            **extra)
    if hasattr(conn.transport, 'polling_interval'):
        conn.transport.polling_interval = conf.work_polling_interval
    return conn


def is_amqp(conn):
    return conn.transport.driver_type == 'amqp'
