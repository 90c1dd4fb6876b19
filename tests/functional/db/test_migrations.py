"""Alembic migrations: walked on SQLite and PostgreSQL, kept in sync.

Every revision is upgraded to one at a time, then downgraded one at a
time to base, then upgraded to head again. A revision may have hooks
(as in Ironic's test_migrations.py), found by name:

- ``_pre_upgrade_<rev>(engine)`` runs before upgrading to ``<rev>``; what
  it returns is passed to the check (seed rows the migration must keep);
- ``_check_<rev>(engine, data)`` runs right after upgrading to ``<rev>``;
- ``_post_downgrade_<rev>(engine)`` runs after downgrading from ``<rev>``.

After every upgrade to head, Alembic's autogenerate comparison against the
models must be empty: a model change without a migration fails here.
"""

import os
import re
import subprocess
import uuid
import warnings

import conftest
import pytest
import sqlalchemy as sa
from alembic import script as alembic_script
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import exc as sa_exc

from drydockd.db import migration
from drydockd.db import models
from drydockd.messaging.schemas import utcnow

COALESCE_INDEX = 'uq_deployment_history_task_node_name'
ORDER_INDEX = 'ix_deployment_history_order'
# Expression indexes autogenerate cannot reflect on SQLite.
EXPRESSION_INDEXES = (COALESCE_INDEX, ORDER_INDEX)
TABLES = {'tasks', 'result_message', 'nodes', 'deployment_history',
          'active_instance', 'build_data'}


@pytest.fixture(params=['sqlite', 'postgresql'])
def url(request, tmp_path):
    if request.param == 'sqlite':
        return 'sqlite:///%s' % (tmp_path / 'drydock.sqlite')
    return request.getfixturevalue('pg_url')


@pytest.fixture
def engine(url):
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    if url.startswith('sqlite'):
        sa.event.listen(engine, 'connect', lambda dbapi_conn, _rec:
                        dbapi_conn.execute('PRAGMA foreign_keys=ON'))
    yield engine
    engine.dispose()


def scripts():
    return alembic_script.ScriptDirectory(migration.MIGRATIONS)


def revisions():
    """Revision ids from the first to head."""
    return [r.revision for r in reversed(list(scripts().walk_revisions()))]


def compare(engine):
    """Alembic's autogenerate diff of the database against the models.

    The only tolerated warnings are about the expression indexes, which
    autogenerate cannot reflect on SQLite.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={'compare_type': True,
                            'compare_server_default': True})
            diff = compare_metadata(context, models.Base.metadata)
    unexpected = [str(w.message) for w in caught
                  if not ('expression-based index' in str(w.message)
                          and any(name in str(w.message)
                                  for name in EXPRESSION_INDEXES))]
    assert unexpected == []
    return diff


def tables(engine):
    return set(sa.inspect(engine).get_table_names()) - {'alembic_version'}


def index_sql(engine, name):
    """An index definition as the database stores it (None if absent)."""
    with engine.connect() as conn:
        if engine.dialect.name == 'sqlite':
            return conn.execute(sa.text(
                "SELECT sql FROM sqlite_master WHERE type = 'index' "
                "AND name = :name"), {'name': name}).scalar()
        return conn.execute(sa.text(
            'SELECT indexdef FROM pg_indexes WHERE indexname = :name'),
            {'name': name}).scalar()


def assert_coalesce_index(engine):
    """The hand-written unique index exists and covers the sync node."""
    sql = index_sql(engine, COALESCE_INDEX)
    assert sql is not None, 'index %s is missing' % COALESCE_INDEX
    assert re.search(r'UNIQUE', sql, re.I), sql
    assert re.search(r"coalesce\(\(?node_id\)?(::text)?, ''", sql, re.I), sql
    history = models.DeploymentHistory.__table__
    with engine.begin() as conn:
        task_id = conn.execute(sa.insert(models.Task.__table__).values(
            uuid=str(uuid.uuid4()), action='deploy_nodes', status='running',
            result_status='incomplete', result_error_count=0, progress=0,
            created=utcnow(), dry_run=False)).inserted_primary_key[0]
        row = {'task_id': task_id, 'node_id': None, 'status': 'pending',
               'deployment_graph_task_name': 'stage', 'custom': {}}
        conn.execute(sa.insert(history), [
            row, dict(row, node_id='5'), dict(row, node_id='master'),
            dict(row, deployment_graph_task_name='other')])
    for duplicate in (row, dict(row, node_id='5')):
        with pytest.raises(sa_exc.IntegrityError):
            with engine.begin() as conn:
                conn.execute(sa.insert(history), [duplicate])
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(history)
                            .where(history.c.task_id == task_id)
                            ).scalar() == 4
    with engine.begin() as conn:
        conn.execute(sa.delete(models.Task.__table__)
                     .where(models.Task.id == task_id))


class Checks:
    """Per-revision hooks; add ``_check_<rev>`` for each new revision."""

    def _check_0001(self, engine, data):
        assert tables(engine) == TABLES
        inspector = sa.inspect(engine)
        with warnings.catch_warnings():
            # SQLite: SQLAlchemy cannot reflect the COALESCE index.
            warnings.filterwarnings('ignore', '.*expression-based index')
            indexes = {i['name'] for i in
                       inspector.get_indexes('deployment_history')}
        assert {'ix_deployment_history_task_id_node_id',
                'ix_deployment_history_task_id_status'} <= indexes
        fks = inspector.get_foreign_keys('deployment_history')
        assert [(f['referred_table'], f['options'].get('ondelete'))
                for f in fks] == [('tasks', 'CASCADE')]
        assert_coalesce_index(engine)

    def _post_downgrade_0001(self, engine):
        assert tables(engine) == set()

    def _check_0003(self, engine, data):
        assert index_sql(engine, ORDER_INDEX) is not None

    def _post_downgrade_0003(self, engine):
        assert index_sql(engine, ORDER_INDEX) is None

    def _pre_upgrade_0004a(self, engine):
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO nodes (id, name, labels, tags, roles, status, "
                "progress, power_state) VALUES (41, 'sync41', '{}', '[]', "
                "'[]', 'discover', 0, 'on')"))
        return 41

    def _check_0004a(self, engine, node_id):
        columns = {c['name'] for c in sa.inspect(engine).get_columns(
            'nodes')}
        assert {'power_read', 'power_read_at', 'power_drift',
                'power_drift_at'} <= columns
        with engine.begin() as conn:
            row = conn.execute(sa.text(
                'SELECT power_state, power_read, power_drift FROM nodes '
                'WHERE id = :id'), {'id': node_id}).one()
        assert tuple(row) == ('on', None, None)

    def _post_downgrade_0004a(self, engine):
        columns = {c['name'] for c in sa.inspect(engine).get_columns(
            'nodes')}
        assert not columns & {'power_read', 'power_read_at', 'power_drift',
                              'power_drift_at'}


CHECKS = Checks()


def walk(url, engine):
    """Up one revision at a time with hooks, then down to base."""
    head = scripts().get_current_head()
    for rev in revisions():
        pre = getattr(CHECKS, '_pre_upgrade_%s' % rev, None)
        data = pre(engine) if pre else None
        migration.upgrade(url, rev)
        assert migration.current(engine)[0] == rev
        check = getattr(CHECKS, '_check_%s' % rev, None)
        if check:
            check(engine, data)
        if rev == head:
            assert compare(engine) == []
    for rev in reversed(revisions()):
        down = scripts().get_revision(rev).down_revision or 'base'
        migration.downgrade(url, down)
        post = getattr(CHECKS, '_post_downgrade_%s' % rev, None)
        if post:
            post(engine)


# -- the walk -----------------------------------------------------------------

def test_history_is_linear_with_one_head():
    script = scripts()
    assert len(script.get_heads()) == 1
    revs = revisions()
    assert revs[-1] == script.get_current_head()
    # The start-up check compares with this constant, not with Alembic.
    assert migration.HEAD == script.get_current_head()
    for previous, rev in zip([None] + revs, revs):
        assert script.get_revision(rev).down_revision == previous


def test_hooks_name_real_revisions():
    known = set(revisions())
    for name in dir(CHECKS):
        match = re.match(r'_(check|pre_upgrade|post_downgrade)_(\w+)$', name)
        if match:
            assert match.group(2) in known, name


def test_walk_up_down_up(url, engine):
    head = scripts().get_current_head()
    assert migration.current(engine) == (None, head)

    walk(url, engine)
    assert migration.current(engine) == (None, head)
    assert tables(engine) == set()

    migration.upgrade(url)
    assert migration.current(engine) == (head, head)
    assert compare(engine) == []
    assert_coalesce_index(engine)

    migration.downgrade(url)
    assert tables(engine) == set()
    assert migration.current(engine) == (None, head)

    migration.upgrade(url)
    assert compare(engine) == []
    assert_coalesce_index(engine)


def test_models_and_migrations_in_sync(url, engine):
    migration.upgrade(url)
    assert compare(engine) == []
    assert tables(engine) == {t.name for t in
                              models.Base.metadata.sorted_tables}


def test_comparison_sees_a_drift(url, engine):
    """The sync check is not vacuous: a missing index is reported."""
    migration.upgrade(url)
    with engine.begin() as conn:
        conn.execute(sa.text('DROP INDEX ix_build_data_node_name'))
    diff = compare(engine)
    assert [d[0] for d in diff] == ['add_index']
    assert diff[0][1].name == 'ix_build_data_node_name'


# -- the real CLI -------------------------------------------------------------

def manage(config, *args):
    env = dict(os.environ)
    env.pop('DRYDOCK_CONFIG', None)
    result = subprocess.run(
        [os.path.join(conftest.BIN, 'drydock-manage'), '--config-file',
         config, 'db'] + list(args),
        capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return dict(line.split(': ', 1) for line in result.stdout.splitlines()
                if ': ' in line)


def test_drydock_manage_db(url, engine, tmp_path):
    head = scripts().get_current_head()
    config = conftest.write_config(
        tmp_path / 'drydock.conf', DEFAULT={'state_path': tmp_path},
        database={'connection': url})

    assert manage(config, 'upgrade') == {'current': head, 'head': head}
    assert compare(engine) == []
    assert_coalesce_index(engine)
    assert manage(config, 'current') == {'current': head, 'head': head}
    assert manage(config, 'downgrade') == {'current': 'base', 'head': head}
    assert tables(engine) == set()
