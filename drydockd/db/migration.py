"""Alembic driven from code: upgrade, downgrade, current, drift check."""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration
from alembic import script

from drydockd.common import exception
from drydockd.common import paths

# Alembic's script directory, shipped inside the package.
MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'migrations')


def _config(url):
    cfg = alembic_config.Config()
    cfg.set_main_option('script_location', MIGRATIONS)
    cfg.set_main_option('sqlalchemy.url', url.replace('%', '%%'))
    return cfg


def upgrade(url, revision='head'):
    paths.ensure_sqlite_dir(url)
    command.upgrade(_config(url), revision)


def downgrade(url, revision='base'):
    paths.ensure_sqlite_dir(url)
    command.downgrade(_config(url), revision)


def current(engine):
    """(current revision or None, head revision)."""
    head = script.ScriptDirectory.from_config(_config(str(engine.url))) \
        .get_current_head()
    with engine.connect() as conn:
        return migration.MigrationContext.configure(conn) \
            .get_current_revision(), head


def revision(url, message):
    """Autogenerate a new revision (developers only)."""
    command.revision(_config(url), message=message, autogenerate=True)


def ensure_current(url, engine, upgrade_sqlite=False):
    """Refuse an unmigrated database, naming the fix.

    The embedded default (SQLite) is upgraded in place when asked, so the
    demo and the CLI need no separate step; server databases are upgraded
    by the operator.

    :raises: DatabaseNotCurrent.
    """
    if upgrade_sqlite and url.startswith('sqlite'):
        upgrade(url)
    found, head = current(engine)
    if found != head:
        raise exception.DatabaseNotCurrent(current=found, head=head)
