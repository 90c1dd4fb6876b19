"""Every work-plane exchange and queue, declared here and nowhere else.

One exchange per kind of traffic, so that a broker user's write and read
permissions say exactly what its role may send and take
(``drydockd.messaging.roles``, docs/security.md):

- commands ``drydock.commands`` (direct): manager -> ``drydock.executor``;
- executor reports ``drydock.reports`` (direct): executors ->
  ``drydock.receiver``;
- agent reports ``drydock.agent_reports`` (direct): node agents ->
  ``drydock.receiver`` (the same queue: the receiver tells them apart by
  the broker-validated ``user_id``);
- service fanout ``drydock.executor_service``: manager -> every executor
  (stop), each on a private, exclusive queue;
- dead letters ``drydock.dead`` (topic): ``<queue>.dead`` beside each work
  queue, routed by its own name, so topic permissions can let each role
  set aside only what it consumed. Set-aside messages carry their reason
  in the ``x-drydock-reason`` header.

Names come from config; the defaults are the contract other daemons rely
on. With ``[work_plane] declare_topology = false`` on AMQP (the setup of
``drydock-manage broker setup``) processes declare nothing but an
executor's own service queue: least-privilege users may not configure
shared entities.
"""

import ssl
import uuid

import logging

import kombu
import kombu.exceptions

from drydockd.common import exception
from drydockd.common import paths

LOG = logging.getLogger(__name__)

DEAD_SUFFIX = '.dead'
REASON_HEADER = 'x-drydock-reason'
# Who published a message that was set aside (its validated user_id).
USER_HEADER = 'x-drydock-user'
# Identity of every publisher on a broker-less transport: there is no
# broker to vouch for one, and the state directory's permissions are the
# boundary (one process, or one machine's processes, of one user).
LOCAL_IDENTITY = 'local'
AMQP_SCHEMES = ('amqp', 'pyamqp', 'amqps')


def _is_amqp_url(url):
    return url.split(':', 1)[0] in AMQP_SCHEMES


def _preset(conf):
    """True when the broker holds the topology and we may not declare."""
    return (not conf.work_plane.declare_topology
            and _is_amqp_url(conf.work_transport_url))


def _exchange(conf, name, kind):
    return kombu.Exchange(name, type=kind, durable=True,
                          no_declare=_preset(conf))


def command_exchange(conf):
    return _exchange(conf, conf.work_plane.command_exchange, 'direct')


def executor_report_exchange(conf):
    return _exchange(conf, conf.work_plane.executor_report_exchange,
                     'direct')


def agent_report_exchange(conf):
    return _exchange(conf, conf.work_plane.agent_report_exchange, 'direct')


def dead_letter_exchange(conf):
    return _exchange(conf, conf.work_plane.dead_letter_exchange, 'topic')


def queue_arguments(conf, name):
    """A work queue's declare arguments: on RabbitMQ with
    ``quorum_queues``, a quorum queue whose deliveries are limited, the
    ones over the limit routed to its ``.dead`` queue by the broker.
    Broker-less transports take none (a queue type means nothing there)."""
    if not (conf.work_plane.quorum_queues
            and _is_amqp_url(conf.work_transport_url)):
        return {}
    arguments = {'x-queue-type': 'quorum'}
    if not name.endswith(DEAD_SUFFIX):
        arguments.update({
            'x-delivery-limit': conf.work_plane.delivery_limit,
            'x-dead-letter-exchange': conf.work_plane.dead_letter_exchange,
            'x-dead-letter-routing-key': name + DEAD_SUFFIX})
    return arguments


def check_work_queues(conf, connect_timeout=5):
    """Declare the work queues at start-up, so that one left from an
    older config (a classic queue where quorum queues are configured) is
    named in one line instead of failing the first consume.

    Skipped on broker-less transports, where this process may not declare
    (``declare_topology`` off), and when the broker does not answer (the
    consumers then connect when it does).
    :raises: WorkQueueMismatch.
    """
    if not _is_amqp_url(conf.work_transport_url) or _preset(conf):
        return
    import amqp.exceptions
    conn = connection(conf, connect_timeout=connect_timeout)
    try:
        conn.ensure_connection(max_retries=1)
        channel = conn.channel()
        for queue in work_queues(conf).values():
            for bound in (queue, dead_letter_queue(conf, queue.name)):
                try:
                    bound(channel).declare()
                except amqp.exceptions.PreconditionFailed as exc:
                    raise exception.WorkQueueMismatch(
                        reason=_mismatch(conf, bound.name, exc)) from exc
    except (kombu.exceptions.OperationalError,) + conn.connection_errors \
            as exc:
        LOG.warning('Work queues not checked at start-up: %s',
                    explain(conf, exc))
    finally:
        conn.release()


def _mismatch(conf, name, exc):
    """RabbitMQ names the first argument that differs ("inequivalent arg
    'x-dead-letter-exchange' ... received the value 'drydock.dead' ... but
    current is none"): an argument only quorum queues get that is missing
    means a classic queue, and the other way round."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    quorum = conf.work_plane.quorum_queues
    if (quorum and 'current is none' in text) or (
            not quorum and "'quorum'" in text):
        have, want = ('classic', 'quorum') if quorum else ('quorum',
                                                          'classic')
        return ('queue %s exists as a %s queue, and [work_plane] '
                'quorum_queues asks for a %s one: move it as '
                'docs/operations.md, "Quorum queues", says' % (
                    name, have, want))
    return ('queue %s exists with other arguments than this config asks '
            'for (%s): see docs/operations.md, "Quorum queues"' % (
                name, text))


def _queue(conf, name, exchange):
    return kombu.Queue(name, exchange=exchange, routing_key=name,
                       durable=True, auto_delete=False,
                       queue_arguments=queue_arguments(conf, name),
                       no_declare=_preset(conf))


def executor_queue(conf):
    """Work messages, on the command exchange."""
    return _queue(conf, conf.executor.queue, command_exchange(conf))


def receiver_queue(conf):
    """Reports: bound to the executor-report and agent-report exchanges
    (kombu then gives it no ``exchange``: publish through
    :func:`publisher_exchange`)."""
    name = conf.receiver.queue
    return kombu.Queue(name, bindings=[
        kombu.binding(executor_report_exchange(conf), routing_key=name),
        kombu.binding(agent_report_exchange(conf), routing_key=name)],
        durable=True, auto_delete=False,
        queue_arguments=queue_arguments(conf, name),
        no_declare=_preset(conf))


def publisher_exchange(conf, queue):
    """The exchange a publish to ``queue`` goes through: its own, or for
    the receiver queue the executor-report exchange (agents publish
    through :func:`agent_report_exchange`)."""
    if queue.exchange is not None:
        return queue.exchange
    if queue.name == conf.receiver.queue:
        return executor_report_exchange(conf)
    raise ValueError('queue %s has no exchange to publish to' % queue.name)


def work_queues(conf):
    """The work queues by name (what dead letters go back to)."""
    return {q.name: q for q in (executor_queue(conf), receiver_queue(conf))}


def dead_letter_queue(conf, queue_name):
    return _queue(conf, queue_name + DEAD_SUFFIX, dead_letter_exchange(conf))


def topology(conf):
    """Every durable shared entity, for ``broker setup``: (exchanges,
    queues), each queue with its bindings as (exchange, routing key)."""
    exchanges = [command_exchange(conf), executor_report_exchange(conf),
                 agent_report_exchange(conf), dead_letter_exchange(conf),
                 service_exchange(conf)]
    queues = []
    for queue in work_queues(conf).values():
        queues.append(queue)
        queues.append(dead_letter_queue(conf, queue.name))
    return exchanges, queues


def bindings_of(queue):
    """(exchange name, routing key) of every binding of ``queue``."""
    if queue.exchange is not None:
        return [(queue.exchange.name, queue.routing_key)]
    return sorted((b.exchange.name, b.routing_key) for b in queue.bindings)


def service_exchange(conf):
    """Fanout for service messages (stop) to every executor."""
    return _exchange(conf, conf.executor.service_exchange, 'fanout')


def service_queue(conf):
    """This executor's private queue on the service fanout (always
    declared: it is the executor's own)."""
    exchange = kombu.Exchange(conf.executor.service_exchange, type='fanout',
                              durable=True, no_declare=_preset(conf))
    return kombu.Queue(service_queue_prefix(conf) + '%s.%s' % (
        conf.host, uuid.uuid4().hex[:8]), exchange=exchange, exclusive=True,
        auto_delete=True, durable=False)


def service_queue_prefix(conf):
    return conf.executor.service_exchange + '.'


def has_fanout(conn):
    """Broker-less SQL transports have no fanout (LIBRARY-NOTES)."""
    return conn.transport.driver_type != 'sql'


def identity(conf):
    """The user this process publishes as: on AMQP its connection's user,
    which the broker validates against the ``user_id`` property; on a
    broker-less transport :data:`LOCAL_IDENTITY`."""
    url = conf.work_transport_url
    if not _is_amqp_url(url):
        return LOCAL_IDENTITY
    return kombu.Connection(url).userid or 'guest'


def ssl_options(conf):
    """kombu's ``ssl`` argument for the work plane (False: plain TCP).

    The broker's certificate is always verified, against ``ssl_ca_file``
    (else the system's CAs), and its name checked against the URL's host.
    """
    group = conf.work_plane
    if not group.ssl:
        return False
    host = kombu.Connection(conf.work_transport_url).hostname
    if not (group.ssl_ca_file or group.ssl_cert_file):
        # py-amqp loads the system's CAs only through a default context.
        return {'context': {'check_hostname': True},
                'server_hostname': host}
    options = {'cert_reqs': ssl.CERT_REQUIRED, 'server_hostname': host}
    if group.ssl_ca_file:
        options['ca_certs'] = group.ssl_ca_file
    if group.ssl_cert_file:
        options['certfile'] = group.ssl_cert_file
        options['keyfile'] = group.ssl_key_file
    return options


def explain(conf, exc):
    """One line saying why the work-plane broker could not be used, with
    the option to look at when TLS is the likely cause."""
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    tls = conf.work_plane.ssl
    if isinstance(exc, ssl.SSLCertVerificationError) or \
            'CERTIFICATE_VERIFY_FAILED' in text:
        return ('TLS: the broker\'s certificate is not trusted (%s); check '
                '[work_plane] ssl_ca_file' % text)
    if tls and ('WRONG_VERSION_NUMBER' in text or 'record layer' in text):
        return ('TLS handshake failed (%s): the port in work_transport_url '
                'does not speak TLS' % text)
    if isinstance(exc, ssl.SSLError):
        return 'TLS failed: %s' % text
    if not tls and ('reset by peer' in text or 'Socket closed' in text
                    or 'Server unexpectedly closed' in text):
        return ('the broker closed the connection during the AMQP '
                'handshake (%s): a TLS port? Set [work_plane] ssl = true'
                % text)
    return text


def connection(conf, connect_timeout=None):
    """A kombu connection to the work plane, tuned per transport.

    AMQP gets publisher confirms (and TLS when ``[work_plane] ssl``);
    broker-less virtual transports get the configured polling interval,
    set on the transport instance because their transport options go
    straight to SQLAlchemy's create_engine.
    :raises: StatePathError when a SQLite work plane's directory cannot
        be created or written.
    """
    url = conf.work_transport_url
    paths.ensure_sqlite_dir(url)     # the embedded default's work plane
    options = {}
    extra = {}
    if _is_amqp_url(url):
        options['confirm_publish'] = True
        extra['ssl'] = ssl_options(conf)
    if connect_timeout is not None:
        extra['connect_timeout'] = connect_timeout
    conn = kombu.Connection(url, transport_options=options, heartbeat=0,
                            **extra)
    if hasattr(conn.transport, 'polling_interval'):
        conn.transport.polling_interval = conf.work_polling_interval
    return conn


def is_amqp(conn):
    return conn.transport.driver_type == 'amqp'
