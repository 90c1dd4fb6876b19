"""Builds the RPC client once per CLI run and turns failures into one line.

With the embedded default (no ``transport_url``), this process hosts the
API endpoints itself over oslo.messaging's in-process transport, against
the same database and work plane as ``drydockd all-in-one``.
"""

import functools

from drydock_client.cli.errors import CommandError


class ClientManager:

    def __init__(self, config_files, transport_url, timeout):
        self._config_files = config_files
        self._url = transport_url
        self._timeout = timeout
        self._client = None

    @property
    def drydock(self):
        if self._client is None:
            self._client = _SafeClient(self._connect())
        return self._client

    def _connect(self):
        from drydockd.api import rpc
        from drydockd.conf import config

        from drydock_client import rpcapi
        argv = []
        for path in self._config_files:
            argv += ['--config-file', path]
        conf = config.parse_args(argv)
        url = rpc.api_url(conf, self._url)
        if rpc.is_embedded(url):
            from drydockd.api import service
            service.start_embedded(conf)
        return rpcapi.DrydockAPI(
            rpc.get_transport(conf, url), topic=conf.manager.topic,
            version_cap=conf.manager.api_version_cap,
            timeout=self._timeout or conf.manager.rpc_timeout)

    def close(self):
        if self._client is not None:
            from drydockd.api import service
            service.stop_embedded()


class _SafeClient:
    """Proxy whose calls raise CommandError with a one-line message."""

    def __init__(self, api):
        self._api = api

    def __getattr__(self, name):
        method = getattr(self._api, name)

        @functools.wraps(method)
        def call(*args, **kwargs):
            import oslo_messaging
            try:
                return method({'user': _user()}, *args, **kwargs)
            except oslo_messaging.MessagingTimeout:
                raise CommandError(
                    'No answer from the drydock manager (is it running, '
                    'and is the transport URL right?)')
            except oslo_messaging.MessageDeliveryFailure as exc:
                raise CommandError('Could not reach drydock: %s'
                                           % _first_line(exc))
            except oslo_messaging.RemoteError as exc:
                raise CommandError('drydock failed: %s: %s'
                                           % (exc.exc_type, exc.value))
            except Exception as exc:
                if exc.args and type(exc).__module__.startswith(
                        'drydockd.common.exception'):
                    raise CommandError(_first_line(exc.args[0]))
                raise
        return call


def _first_line(value):
    return str(value).strip().splitlines()[0] if str(value).strip() else ''


def _user():
    import getpass
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in a container
        return 'unknown'
