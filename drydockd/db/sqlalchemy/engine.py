"""Engine and session factory, tuned per database."""

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import orm

from drydockd.common import paths

_ENGINES = {}


def _sqlite_pragmas(dbapi_conn, _record):
    cursor = dbapi_conn.cursor()
    # WAL lets the CLI read while the all-in-one daemon writes.
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.execute('PRAGMA busy_timeout=30000')
    cursor.close()


def get_engine(url, pool_size=5):
    """One engine per URL per process."""
    engine = _ENGINES.get(url)
    if engine is None:
        if url.startswith('sqlite'):
            paths.ensure_sqlite_dir(url)
            engine = sa.create_engine(url)
            event.listen(engine, 'connect', _sqlite_pragmas)
        else:
            # values_plus_batch turns executemany UPDATEs into a few
            # round trips instead of one per row.
            engine = sa.create_engine(
                url, pool_size=pool_size, pool_pre_ping=True,
                executemany_mode='values_plus_batch')
        _ENGINES[url] = engine
    return engine


def sessionmaker(engine):
    return orm.sessionmaker(bind=engine, expire_on_commit=False)


def dispose_all():
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
