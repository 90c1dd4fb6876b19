"""oslo.messaging plumbing of the public API plane.

``[DEFAULT] transport_url`` (oslo.messaging's own option) selects the API
plane. drydock's default, ``kombu+memory:////``, is the embedded default: the
API endpoints run inside the calling process (see ``embedded``).
"""

import functools

from kombu.transport import memory
import oslo_messaging as messaging
from oslo_messaging import opts as messaging_opts

from drydockd.common import exception

EMBEDDED_URL = 'kombu+memory:////'
EMBEDDED_POLL = 0.01
ALLOWED_EXMODS = ['drydockd.common.exception']
CONTROL_EXCHANGE = 'drydock'

_registered = set()


def register_opts(conf):
    """Register oslo.messaging's options so ``transport_url`` can be read."""
    if id(conf) in _registered:
        return
    messaging.set_transport_defaults(CONTROL_EXCHANGE)
    for group, opts in messaging_opts.list_opts():
        conf.register_opts(opts, group=group)
    # oslo.messaging defaults to rabbit://; drydock's default is embedded.
    conf.set_default('transport_url', EMBEDDED_URL)
    _registered.add(id(conf))


def api_url(conf, override=None):
    register_opts(conf)
    return override or conf.transport_url


def is_embedded(url):
    return url.startswith('kombu+memory:')


_transports = {}


def get_transport(conf, url):
    """One transport per URL per process (the memory broker is per-URL)."""
    register_opts(conf)
    if is_embedded(url):
        # The in-process broker has no heartbeats to check, and kombu's
        # memory transport polls with no pause at all: an idle CLI would
        # spin a quarter of a core.
        conf.set_default('heartbeat_timeout_threshold', 0,
                         group='oslo_messaging_rabbit')
        memory.Transport.polling_interval = EMBEDDED_POLL
    if url not in _transports:
        _transports[url] = messaging.get_rpc_transport(
            conf, url=url, allowed_remote_exmods=ALLOWED_EXMODS)
    return _transports[url]


class RPCEndpoint:
    """oslo.messaging's view of an API endpoint: its version target and
    its ``API_METHODS`` only. drydock's own exceptions are marked expected
    (re-raised typed on the caller's side, not logged here as crashes) and
    sent without the server's traceback: the endpoint already turned
    everything else into one of them (manager.rpc_errors)."""

    def __init__(self, endpoint):
        self.target = messaging.Target(version=endpoint.RPC_API_VERSION)
        for name in endpoint.API_METHODS:
            setattr(self, name, _expected(getattr(endpoint, name)))


def _expected(method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except exception.DrydockException as exc:
            expected = messaging.ExpectedException()
            expected.exc_info = (type(exc), exc, None)
            raise expected from None
    return call


def get_server(conf, transport, endpoints):
    target = messaging.Target(topic=conf.manager.topic, server=conf.host)
    return messaging.get_rpc_server(
        transport, target, [RPCEndpoint(e) for e in endpoints],
        access_policy=messaging.DefaultRPCAccessPolicy)
