"""Alembic driven from code: upgrade, downgrade, current, drift check.

Alembic is imported only by the functions that migrate: checking that a
database is current is one query, so the CLI and the daemons start fast.
SQLAlchemy too is imported where it is used: the embedded CLI reads
:data:`HEAD` and checks its SQLite file without it (db.sqlite_reads).
"""

import os

from drydockd.common import exception
from drydockd.common import paths

# Alembic's script directory, shipped inside the package.
MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'migrations')
# The newest revision in MIGRATIONS (a test keeps it equal to Alembic's
# head): the CLI checks the schema without importing Alembic, which costs
# half a second.
HEAD = '0004b'


def _config(url):
    from alembic import config as alembic_config
    cfg = alembic_config.Config()
    cfg.set_main_option('script_location', MIGRATIONS)
    cfg.set_main_option('sqlalchemy.url', url.replace('%', '%%'))
    return cfg


def upgrade(url, revision='head'):
    paths.ensure_sqlite_dir(url)
    from alembic import command
    command.upgrade(_config(url), revision)


def downgrade(url, revision='base'):
    paths.ensure_sqlite_dir(url)
    from alembic import command
    command.downgrade(_config(url), revision)


def stored_revision(engine):
    """The revision the database records (None: not migrated yet)."""
    import sqlalchemy as sa
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table('alembic_version'):
            return None
        return conn.execute(
            sa.text('SELECT version_num FROM alembic_version')).scalar()


def current(engine):
    """(current revision or None, head revision)."""
    from alembic import script
    head = script.ScriptDirectory.from_config(_config(str(engine.url))) \
        .get_current_head()
    return stored_revision(engine), head


def revision(url, message):
    """Autogenerate a new revision (developers only)."""
    from alembic import command
    command.revision(_config(url), message=message, autogenerate=True)


def ensure_current(url, engine, upgrade_sqlite=False):
    """Refuse an unmigrated database, naming the fix.

    The embedded default (SQLite) is upgraded in place when asked, so the
    demo and the CLI need no separate step; server databases are upgraded
    by the operator.

    :raises: DatabaseNotCurrent.
    """
    found = stored_revision(engine)
    if found != HEAD and upgrade_sqlite and url.startswith('sqlite'):
        upgrade(url)
        found = stored_revision(engine)
    if found != HEAD:
        raise exception.DatabaseNotCurrent(current=found, head=HEAD)
