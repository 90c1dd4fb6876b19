"""tests/unit runs with PostgreSQL and RabbitMQ stopped: the suite's
guard (tests/conftest.py) refuses them here, so a test that needs one
cannot stay in this tree by accident."""

import kombu
import psycopg2
import pytest

import conftest


def test_postgresql_is_refused_here():
    with pytest.raises(psycopg2.OperationalError, match='tests/unit must '):
        psycopg2.connect(conftest.PG_ADMIN_DSN)


def test_rabbitmq_is_refused_here():
    conn = kombu.Connection(conftest.AMQP_URL % '', connect_timeout=2)
    with pytest.raises(ConnectionRefusedError, match='tests/unit must '):
        conn.connect()
