"""Fixtures of the apply_events tests: ``database``, one migrated
database per backend (SQLite, PostgreSQL) and module, and ``db``, that
database emptied before each test. A test module imports both functions
(``migrated_database``, ``empty_database``) to use them."""

import conftest
import pytest

from drydockd.db import models


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'],
                name='database')
def migrated_database(request, tmp_path_factory):
    with conftest.migrated_connection(
            request.param, tmp_path_factory.mktemp('events')) as connection:
        yield connection


@pytest.fixture(name='db')
def empty_database(database):
    with database.engine.begin() as conn:
        for table in reversed(models.Base.metadata.sorted_tables):
            conn.execute(table.delete())
    return database
