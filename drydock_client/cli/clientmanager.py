"""Builds the RPC client once per CLI run and turns failures into one line.

With the embedded default (no ``transport_url``), this process hosts the
API endpoints itself over oslo.messaging's in-process transport, against
the same database and work plane as ``drydockd all-in-one``. With a
broker, the broker is checked first (``client.check_broker``) so that a
wrong URL or a stopped RabbitMQ is one line within seconds, not an
endless reconnect loop.

Every import of oslo.messaging and drydockd happens here, lazily, so that
``drydock2 --help`` stays fast.
"""

import functools
import re

from drydock_client.cli.errors import CommandError

# Seconds to connect to and log in at the broker before giving up.
CONNECT_TIMEOUT = 5.0
# Connection retries when sending a request once the broker answered.
SEND_RETRIES = 2


class ClientManager:

    def __init__(self, config_files, transport_url, timeout):
        self._config_files = config_files
        self._url = transport_url
        self._timeout = timeout
        self._client = None
        self._embedded = False
        self._timeout_s = timeout

    @property
    def drydock(self):
        if self._client is None:
            self._client = _SafeClient(self._connect(), self._timeout_s)
        return self._client

    def _connect(self):
        from drydockd.api import rpc

        from drydock_client import rpcapi
        conf = self._parse_config()
        url = rpc.api_url(conf, self._url)
        self._timeout_s = self._timeout or conf.manager.rpc_timeout
        if rpc.is_embedded(url):
            from drydockd.api import service
            self._embedded = True
            service.start_embedded(conf)
        transport = self._transport(rpc, conf, url)   # connects lazily
        if not self._embedded:
            self._check_broker(conf, url)
        return rpcapi.DrydockAPI(
            transport, topic=conf.manager.topic,
            version_cap=conf.manager.api_version_cap,
            timeout=self._timeout_s,
            retry=None if self._embedded else SEND_RETRIES)

    @staticmethod
    def _check_broker(conf, url):
        import oslo_messaging

        from drydock_client import client as client_lib
        try:
            client_lib.check_broker(conf, url, CONNECT_TIMEOUT)
        except client_lib.BrokerUnreachable as exc:
            raise CommandError(str(exc)) from exc
        except oslo_messaging.InvalidTransportURL as exc:
            raise CommandError('Bad transport URL %s: %s' % (
                _mask_url(url), _first_line(exc))) from exc

    @staticmethod
    def _transport(rpc, conf, url):
        import oslo_messaging
        try:
            return rpc.get_transport(conf, url)
        except (oslo_messaging.InvalidTransportURL,
                oslo_messaging.DriverLoadFailure) as exc:
            raise CommandError('Bad transport URL %s: %s' % (
                _mask_url(url), _first_line(exc))) from exc

    def _parse_config(self):
        from oslo_config import cfg

        from drydockd.conf import config
        argv = []
        for path in self._config_files:
            argv += ['--config-file', path]
        try:
            return config.parse_args(argv)
        except cfg.Error as exc:
            raise CommandError('Bad configuration: %s'
                               % _first_line(exc)) from exc

    def close(self):
        if self._embedded:
            from drydockd.api import service
            service.stop_embedded()


class _SafeClient:
    """Proxy whose calls raise CommandError with a one-line message.

    The original exception stays chained (``__cause__``), so ``--debug``
    shows where it came from.
    """

    def __init__(self, api, timeout):
        self._api = api
        self._timeout = timeout

    def __getattr__(self, name):
        method = getattr(self._api, name)

        @functools.wraps(method)
        def call(*args, **kwargs):
            import oslo_messaging
            try:
                return method({'user': _user()}, *args, **kwargs)
            except oslo_messaging.MessagingTimeout as exc:
                raise CommandError(
                    'No answer from the drydock manager within %ss (is it '
                    'running, and is the transport URL right?)'
                    % self._timeout) from exc
            except oslo_messaging.RPCVersionCapError as exc:
                raise CommandError('%s is not available: %s'
                                   % (name, _first_line(exc))) from exc
            except (oslo_messaging.MessageDeliveryFailure,
                    oslo_messaging.ClientSendError) as exc:
                raise CommandError('Could not reach drydock: %s'
                                   % _first_line(exc)) from exc
            except oslo_messaging.RemoteError as exc:
                raise CommandError('drydock failed: %s: %s'
                                   % (exc.exc_type,
                                      _first_line(exc.value))) from exc
            except Exception as exc:
                if _is_drydock_error(exc):
                    raise CommandError(_first_line(exc.args[0])) from exc
                raise
        return call


def _is_drydock_error(exc):
    """Local or re-created remote ``drydockd.common.exception`` errors
    (oslo.messaging puts remote ones in a ``..._Remote`` module)."""
    return bool(exc.args) and type(exc).__module__.startswith(
        'drydockd.common.exception')


def _mask_url(url):
    """A transport URL without its password."""
    return re.sub(r'(//[^:/@]*:)[^@/]*@', r'\1****@', url)


def _first_line(value):
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__


def _user():
    from drydock_client import client
    return client.default_user()
