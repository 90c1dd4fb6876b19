"""PostgreSQL restarts in the middle of a deployment (issue 15).

The database is a cluster of the test's own (tests/pg_cluster.py), never
the shared one. The receiver keeps the reports it could not commit
unacknowledged and applies them once the database is back; the manager's
leader renews its lease again. The rows must equal an undisturbed run's.
"""

import time

import pytest

import faults_support as fs
import pg_cluster
from test_receiver_faults import reference_env  # noqa: F401 - a fixture
from test_receiver_faults import ends_as_undisturbed
from test_receiver_faults import reference_run

DURATION = 1.8
DOWN = 5


@pytest.fixture
def own_postgresql():
    cluster = pg_cluster.PgCluster().create()
    yield cluster
    cluster.drop()


def test_postgresql_restart_mid_deployment(tmp_path, rabbit_vhost,
                                           reference_env,  # noqa: F811
                                           daemons, own_postgresql):
    design = fs.write_design(tmp_path / 'site.yaml', duration=DURATION)
    expected = reference_run(tmp_path, design, reference_env, daemons)

    pg_url = own_postgresql.create_database()
    site = fs.Site(tmp_path / 'pg-restart', pg_url, rabbit_vhost, daemons)
    site.start()
    site.create(design)
    site.wait_running(ready_rows=200)
    before = fs.deployment_state(site.engine, site.task['id'])
    own_postgresql.ctl('stop')
    try:
        time.sleep(DOWN)
    finally:
        own_postgresql.ctl('start')
    print('PostgreSQL down for %d s at %r' % (DOWN, before))
    assert before['open_rows'] > 0

    ends_as_undisturbed(site, expected, timeout=240)
