"""The one rule for text that callers hand to drydock.

Every string that reaches a database column or a log line must be
storable on both databases: PostgreSQL refuses NUL characters, and a lone
surrogate (``'\\ud800'``, which JSON can carry) cannot be encoded at all.
Both would otherwise surface as a driver error with SQL text in it.
"""


def unstorable(value):
    """Why the string ``value`` cannot be stored, or None if it can."""
    if '\x00' in value:
        return 'contains a NUL character'
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return 'is not valid Unicode text'
    return None


def strings(value, path):
    """``(path, text)`` for every string in a JSON value, keys included.

    ``path`` names ``value`` (``node_filter``); items are named
    ``path[0]``, members ``path.key``.
    """
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield path, key
                yield from strings(item, '%s.%s' % (path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, '%s[%d]' % (path, index))
