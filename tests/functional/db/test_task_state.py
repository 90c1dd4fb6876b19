"""Task rows change by compare-and-set on their status, on both databases.

A second writer commits between a writer's read and its write: the
write that was computed from the old status must not land. The
interleaving is forced with an engine event, so it happens every run.
"""

import threading

import conftest
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import exc as orm_exc

from drydockd.db import models


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def database(request, tmp_path_factory):
    with conftest.migrated_connection(
            request.param, tmp_path_factory.mktemp('state')) as connection:
        yield connection


@pytest.fixture
def db(database):
    with database.engine.begin() as conn:
        for table in reversed(models.Base.metadata.sorted_tables):
            conn.execute(table.delete())
    return database


def _task(db, node_ids=(1, 2)):
    db.sync_nodes([{'id': i, 'name': 'n%d' % i} for i in node_ids])
    return db.start_task({'action': 'deploy_nodes'}, list(node_ids))


def _before_task_update(db, action):
    """Run ``action`` once, just before the next UPDATE of ``tasks``: as
    if another process committed between this writer's read and write."""
    done = threading.Event()

    def hook(conn, cursor, statement, parameters, context, executemany):
        if not done.is_set() and statement.startswith('UPDATE tasks'):
            done.set()
            action()

    event.listen(db.engine, 'before_cursor_execute', hook)
    return lambda: event.remove(db.engine, 'before_cursor_execute', hook)


def test_queued_never_overwrites_an_end(db):
    """The manager's "queued" after its cast against the receiver's end
    (the lost update seen with 200 concurrent dry runs)."""
    task = _task(db)
    remove = _before_task_update(db, lambda: db.finish_task(
        task['id'], 'success', '2 of 2 nodes succeeded, 0 failed'))
    try:
        db.update_task(task['id'], status='queued')
    finally:
        remove()
    got = db.get_task(task['id'])
    assert (got['status'], got['result_status']) == ('complete', 'success')
    assert got['updated'] == got['time_end']
    assert {n['reservation'] for n in db.list_nodes()} == {None}


def test_reaper_never_overwrites_a_result_that_just_arrived(db):
    """The reaper read a silent task; the receiver ends it meanwhile."""
    task = _task(db)
    db.update_task(task['id'], status='running')
    remove = _before_task_update(db, lambda: db.finish_task(
        task['id'], 'success', '2 of 2 nodes succeeded, 0 failed'))
    try:
        reaped = db.reap_tasks(executor_timeout=0, deploy_timeout=3600)
    finally:
        remove()
    assert reaped == []
    got = db.get_task(task['id'], with_messages=True)
    assert (got['status'], got['result_status']) == ('complete', 'success')
    assert [m['message'] for m in got['messages']] == [
        '2 of 2 nodes succeeded, 0 failed']


def test_a_stale_status_write_matches_no_row(db):
    """The rule itself: an ORM write carries the status it read."""
    task = _task(db)
    with db._sessions() as session:
        row = session.get(models.Task, task['id'])
        db.update_task(task['id'], status='queued')
        row.status = 'running'
        with pytest.raises(orm_exc.StaleDataError):
            session.flush()
        session.rollback()
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(models.Task.status)).scalar() == \
            'queued'


def test_reaper_ends_a_task_left_requested(db):
    """Committed, never cast: its manager died between the two."""
    task = _task(db)
    assert db.reap_tasks(executor_timeout=3600, deploy_timeout=7200) == []
    reaped = db.reap_tasks(executor_timeout=0, deploy_timeout=7200)
    reason = ('task was never handed to an executor: the manager creating '
              'it stopped before its cast')
    assert reaped == [(task['id'], task['uuid'], reason)]
    got = db.get_task(task['id'])
    assert (got['status'], got['result_status'], got['result_reason']) == (
        'complete', 'failure', reason)
    assert {n['reservation'] for n in db.list_nodes()} == {None}


def test_ended_tasks_still_reported_on(db):
    """Reports that arrive after a task ended name it (once per report)."""
    from drydockd.messaging import schemas
    from drydockd.receiver import translate
    quiet, busy = _task(db, (1,)), _task(db, (2,))
    for task in (quiet, busy):
        db.finish_task(task['id'], 'failure', 'reaped', reason='reaped')
    assert db.tasks_still_reported(3600) == []
    late = schemas.report('deploy_resp', busy['uuid'], progress=10)
    received = schemas.utcnow()
    db.apply_events(translate.translate(late, received))
    assert db.tasks_still_reported(3600) == [
        (busy['id'], busy['uuid'], received)]
    assert db.tasks_still_reported(0) == []
