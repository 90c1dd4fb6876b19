"""Builds the one :class:`drydock_client.client.Client` of a CLI run.

The CLI uses the same client as every other caller. Where it reaches the
manager depends on ``[DEFAULT] transport_url`` (or ``--os-transport-url``):

- unset or ``kombu+memory:``, the embedded default: this process hosts the
  API itself. ``drydockd`` provides that through the ``drydock.embedded_api``
  entry point, so the client package never imports the server, and the
  call path loads neither oslo.messaging nor Alembic.
- a broker: the broker is checked first (``client.check_broker``), so a
  wrong URL or a stopped RabbitMQ is one line within seconds, not an
  endless reconnect loop.

The config file is read here with the few options the client needs; the
daemons' other options in the same file are ignored.
"""

from drydock_client.cli.errors import CommandError

EMBEDDED_PREFIX = 'kombu+memory:'
ENTRY_POINTS = 'drydock.embedded_api'
# Seconds to connect to and log in at the broker before giving up.
CONNECT_TIMEOUT = 5.0
# Connection retries when sending a request once the broker answered.
SEND_RETRIES = 2


def client_opts():
    """The options of the config file the client reads, by group.

    NOTE: the same names and defaults as drydockd's (a test keeps them in
    sync); drydockd owns their documentation and the sample config.
    """
    from oslo_config import cfg
    return {
        'DEFAULT': [cfg.StrOpt('transport_url', secret=True),
                    cfg.StrOpt('control_exchange', default='drydock')],
        'manager': [cfg.StrOpt('topic', default='drydock'),
                    cfg.StrOpt('api_version_cap'),
                    cfg.IntOpt('rpc_timeout', default=60, min=1)],
    }


def read_config(config_files):
    """A private ConfigOpts with the client's options from the files."""
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    for group, opts in client_opts().items():
        conf.register_opts(opts, group=None if group == 'DEFAULT' else group)
    try:
        conf(args=[], project='drydock', default_config_files=config_files)
    except cfg.Error as exc:
        raise CommandError('Bad configuration: %s' % _first_line(exc)) \
            from exc
    return conf


def is_embedded(url):
    return not url or url.startswith(EMBEDDED_PREFIX)


class ClientManager:

    def __init__(self, config_files, transport_url, timeout):
        self._config_files = list(config_files)
        self._url = transport_url
        self._timeout = timeout
        self._client = None
        self._close = None

    @property
    def drydock(self):
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self):
        from drydock_client import client
        conf = read_config(self._config_files)
        url = self._url or conf.transport_url
        options = {'topic': conf.manager.topic,
                   'version_cap': conf.manager.api_version_cap,
                   'timeout': self._timeout or conf.manager.rpc_timeout}
        if is_embedded(url):
            rpc = _embedded_api(self._config_files, options['version_cap'])
            self._close = rpc.close
            return client.Client(rpc_client=rpc, **options)
        found = _broker_client(url, self._config_files,
                               conf.control_exchange, options)
        self._close = found.close
        return found

    def close(self):
        if self._close is not None:
            self._close()
            self._close = None


def _embedded_api(config_files, version_cap):
    from importlib import metadata
    from drydock_client import exceptions
    found = metadata.entry_points(group=ENTRY_POINTS)
    if not found:
        raise CommandError(
            'The embedded default needs drydock\'s server (pip install '
            'drydock) or a transport_url naming a broker')
    open_client = next(iter(found)).load()
    try:
        return open_client(config_files, version_cap)
    except Exception as exc:
        error = exceptions.translate(exc)
        if error is None:
            raise
        raise CommandError(error.message) from exc


def _broker_client(url, config_files, exchange, options):
    """A client over oslo.messaging; its options (TLS and the like) come
    from the same config files, read into the global CONF as
    oslo.messaging requires."""
    from oslo_config import cfg
    from oslo_messaging import opts as messaging_opts

    from drydock_client import client
    from drydock_client import exceptions
    conf = cfg.CONF
    for group, opts in messaging_opts.list_opts():
        conf.register_opts(opts, group=group)
    try:
        conf(args=[], project='drydock', default_config_files=config_files)
        return client.Client.from_url(
            url, conf=conf, connect_timeout=CONNECT_TIMEOUT,
            retry=SEND_RETRIES, exchange=exchange, **options)
    except cfg.Error as exc:
        raise CommandError('Bad configuration: %s' % _first_line(exc)) \
            from exc
    except exceptions.DrydockError as exc:
        raise CommandError(exc.message) from exc


def _first_line(value):
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__
