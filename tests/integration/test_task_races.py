"""Every task ends, whoever writes it and in whatever order.

The manager marks a task ``queued`` after its cast, while the receiver may
already be applying the executor's ``running`` and final reports to the
same row. 200 concurrent dry-run deployments through the public API, with
real manager, executor and receiver processes, on PostgreSQL (RabbitMQ)
and on SQLite (the embedded default): no task may end with a status that
disagrees with its result.
"""

import concurrent.futures
import time

import oslo_messaging as messaging
import pytest
import sqlalchemy as sa
from oslo_config import cfg

import conftest
from drydock_client import client as client_lib
from drydockd.api import rpc
from drydockd.common import states
from drydockd.db import models

CONCURRENT = 200
DESIGN = 'file://' + conftest.DEMO_SITE


def _disagreements(engine):
    """Tasks whose status and result contradict each other."""
    t = models.Task
    rows = sa.orm.Session(engine).execute(sa.select(
        t.id, t.status, t.result_status, t.time_end, t.updated)
        .where(t.parent_id.is_(None))).all()
    bad = []
    for row in rows:
        final = row.status in states.TASK_FINAL
        ended = row.time_end is not None
        decided = row.result_status != 'incomplete'
        if final != ended or (decided and not final):
            bad.append(tuple(row))
    return rows, bad


def _wait_ended(engine, count, timeout):
    """Until ``count`` tasks have an end time (the receiver's last word)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            ended = conn.execute(sa.select(sa.func.count()).where(
                models.Task.time_end.is_not(None))).scalar()
        if ended >= count:
            return
        time.sleep(0.2)
    raise AssertionError('only %d of %d tasks ended' % (ended, count))


def _storm(api):
    """``CONCURRENT`` dry-run deploys at once through drydock_client."""
    with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
        created = list(pool.map(
            lambda _: api.create_task('deploy_nodes', DESIGN, dry_run=True),
            range(CONCURRENT)))
    return created


def _check(engine, created):
    assert len({t['id'] for t in created}) == CONCURRENT
    _wait_ended(engine, CONCURRENT, 180)
    rows, bad = _disagreements(engine)
    assert len(rows) == CONCURRENT
    assert not bad, 'status and result disagree (id, status, result, ' \
        'time_end, updated): %s' % bad[:10]
    assert {r.status for r in rows} == {'complete'}
    assert {r.result_status for r in rows} == {'success'}


@pytest.mark.timeout(600)
def test_concurrent_dry_runs_on_postgresql(tmp_path, pg_url, rabbit_vhost,
                                           daemons):
    config = conftest.production_config(
        tmp_path / 'drydock.conf', pg_url, rabbit_vhost,
        executor={'report_interval': 0.01, 'workers': 16},
        receiver={'batch_window_ms': 1})
    conftest.migrate(config)
    for role in ('manager', 'executor', 'receiver'):
        daemons(role, config, tmp_path / (role + '.log')).wait_ready()
    rpc.register_opts(cfg.CONF)
    transport = messaging.get_rpc_transport(
        cfg.CONF, url=conftest.RABBIT_URL % rabbit_vhost,
        allowed_remote_exmods=rpc.ALLOWED_EXMODS)
    try:
        created = _storm(client_lib.Client(transport, timeout=120,
                                           user='race-test'))
    finally:
        transport.cleanup()
    engine = sa.create_engine(pg_url)
    try:
        _check(engine, created)
    finally:
        engine.dispose()


@pytest.mark.timeout(600)
def test_concurrent_dry_runs_on_sqlite(tmp_path, daemons):
    """The embedded default, with the API hosted by this process as the
    CLI hosts it, and the all-in-one daemon executing and receiving."""
    config = conftest.write_config(
        tmp_path / 'drydock.conf',
        DEFAULT={'state_path': tmp_path, 'host': 'race-aio'},
        site=conftest.TEST_SITE,
        executor={'report_interval': 0.01, 'workers': 16},
        receiver={'batch_window_ms': 1})
    daemons('all-in-one', config, tmp_path / 'aio.log').wait_ready()
    from drydockd.api import embedded
    local = embedded.open_client([config])
    try:
        created = _storm(client_lib.Client(rpc_client=local, timeout=120,
                                           user='race-test'))
    finally:
        local.close()
    engine = sa.create_engine('sqlite:///%s' % (tmp_path / 'drydock.sqlite'))
    try:
        _check(engine, created)
    finally:
        engine.dispose()
