"""Times as drydock keeps them: naive datetimes in UTC.

The database stores naive UTC (one schema for PostgreSQL and SQLite), so
every layer hands times around that way and converts only at its edges:
the work-plane protocol parses and formats ISO 8601 strings
(``drydockd.messaging.schemas``), the API formats them for callers.
"""

import datetime


def utcnow():
    """Now, as a naive UTC datetime."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def format_time(value):
    """Naive-UTC datetime -> ``2026-11-22T10:00:01.123456Z`` (None stays).

    ``isoformat`` writes the same text as the ``strftime`` pattern in half
    the time; history pages format two times per row.
    """
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.isoformat(timespec='microseconds') + 'Z'
