"""The embedded default's API plane: the CLI calls the endpoints in-process.

With no broker (``transport_url`` unset or ``kombu+memory:``), ``drydock2``
hosts the manager's endpoints itself, against the database and work plane
that ``drydockd all-in-one`` uses. The CLI finds this module through the
``drydock.embedded_api`` entry point, so ``drydock_client`` never imports
``drydockd``.

:class:`LocalRPCClient` stands in for oslo.messaging's ``RPCClient``
without its transport, its server threads or its import cost: it checks
the version (same major, minor not above the endpoint's) and the method
(the endpoint's public methods only, as ``DefaultRPCAccessPolicy`` does),
and round-trips arguments and results through JSON as a wire would, so
embedded and broker callers see the same types and the same errors.
"""

import json
import logging

LOG = logging.getLogger(__name__)


class LocalRPCClient:

    def __init__(self, endpoint, version_cap=None, closers=()):
        self.endpoint = endpoint
        self.version_cap = version_cap or endpoint.RPC_API_VERSION
        self._closers = list(closers)

    def can_send_version(self, version):
        return _version(version) <= _version(self.version_cap)

    def prepare(self, version):
        return _Prepared(self.endpoint, version)

    def close(self):
        for close in self._closers:
            close()


class _Prepared:

    def __init__(self, endpoint, version):
        self.endpoint = endpoint
        self.version = version

    def call(self, context, method, **kwargs):
        from drydockd.common import exception
        served = _version(self.endpoint.RPC_API_VERSION)
        asked = _version(self.version)
        if asked[0] != served[0] or asked > served:
            raise exception.InvalidInput(
                reason='drydock serves RPC API %s; %s needs %s'
                % (self.endpoint.RPC_API_VERSION, method, self.version))
        if method not in self.endpoint.API_METHODS:
            raise exception.InvalidInput(reason='drydock has no method %r'
                                         % method)
        result = getattr(self.endpoint, method)(_wire(context),
                                                **_wire(kwargs))
        return _wire(result)

    def cast(self, context, method, **kwargs):
        """Fire and forget: the caller hears nothing, errors are logged."""
        try:
            self.call(context, method, **kwargs)
        except Exception:  # noqa: BLE001 - a cast has nobody to answer
            LOG.exception('Cast of %s failed', method)


def _version(text):
    major, _, minor = str(text).partition('.')
    return int(major), int(minor or 0)


def _wire(value):
    """What the value looks like after a trip over the wire."""
    return json.loads(json.dumps(value))


def open_client(config_files, version_cap=None):
    """The ``drydock.embedded_api`` entry point: an in-process API over
    the embedded database and work plane of ``config_files``."""
    from drydockd.conf import config
    from drydockd.manager import manager
    argv = []
    for path in config_files:
        argv += ['--config-file', path]
    conf = config.parse_args(argv)
    db = _database(conf)
    publisher = _OnFirstUse(lambda: _publisher(conf))
    endpoint = manager.ManagerEndpoint(db, publisher, conf)
    return LocalRPCClient(endpoint, version_cap, closers=[
        publisher.close, getattr(db, 'close', _nothing)])


def _database(conf):
    """The DB API. A current SQLite file (the embedded default) answers
    ``task show`` and ``task history show`` without SQLAlchemy, which
    costs more to import than those reads take (db.sqlite_reads); the
    backend is loaded for anything else, and for any other database."""
    from drydockd.common import paths
    from drydockd.db import migration
    from drydockd.db import sqlite_reads
    path = paths.sqlite_file(conf.database.connection)
    if path is not None and sqlite_reads.is_current(path, migration.HEAD):
        return sqlite_reads.ReadFirst(path, lambda: _backend(conf))
    return _backend(conf)


def _backend(conf):
    from drydockd.db import api as db_api
    from drydockd.db import migration
    db = db_api.get_instance(conf)
    migration.ensure_current(conf.database.connection, db.engine,
                             upgrade_sqlite=True)
    return db


def _publisher(conf):
    from drydockd.messaging import publisher as publisher_mod
    return publisher_mod.Publisher(conf)


def _nothing():
    pass


class _OnFirstUse:
    """The work-plane publisher, connected only when something is cast:
    most CLI runs only read, and kombu's transport costs a tenth of a
    second to load."""

    def __init__(self, build):
        self._build = build
        self._built = None

    def __getattr__(self, name):
        if self._built is None:
            self._built = self._build()
        return getattr(self._built, name)

    def close(self):
        if self._built is not None:
            self._built.close()
