"""What each RPC argument may be, checked before anything is read or written.

Callers are other daemons, scripts and the CLI; some are careless and a
few hostile. Every argument is checked for its type, its length and the
text rule (:mod:`drydockd.common.text`) here, so that nothing reaches the
database that the database would refuse with a driver error (a NUL, an
over-long string, an id outside a 32-bit column, ``'²'`` which
``isdigit()`` accepts and ``int()`` refuses). Each check returns the value
in the one form the rest of the manager uses, or raises ``InvalidInput``
naming the argument; an id that is well formed but cannot exist is
``TaskNotFound`` / ``NodeNotFound``.
"""

import re

from drydockd.common import exception
from drydockd.common import text as text_rule
from drydockd.messaging import schemas

# tasks.id and nodes.id are 32-bit integers on PostgreSQL.
MAX_ID = 2 ** 31 - 1
MAX_TEXT = 255
# tasks.design_ref is TEXT; an http(s) reference may carry a long signed
# query, so the bound is the common URL limit, not a column's.
MAX_REF = 2048
# deployment_history.node_id is a 64-character column.
MAX_NODE_UID = 64
DIGITS = re.compile(r'^[0-9]+$')
UUID = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                  r'[0-9a-f]{12}$', re.I)
_SHOWN = 40
_JSON_NAMES = {str: 'a string', int: 'an integer', float: 'a number',
               bool: 'a boolean', list: 'a list', dict: 'an object',
               type(None): 'null'}


def shown(value):
    """A caller's value as an error message may quote it."""
    out = str(value)
    return out if len(out) <= _SHOWN else out[:_SHOWN - 3] + '...'


def _refuse(name, problem):
    raise exception.InvalidInput(reason='%s %s' % (name, problem))


def _kind(value):
    return _JSON_NAMES.get(type(value), type(value).__name__)


def text(name, value, max_length=MAX_TEXT):
    """A non-empty string of at most ``max_length`` storable characters."""
    if not isinstance(value, str):
        _refuse(name, 'must be a string, not %s' % _kind(value))
    if not value:
        _refuse(name, 'must not be empty')
    if len(value) > max_length:
        _refuse(name, 'is longer than %d characters' % max_length)
    problem = text_rule.unstorable(value)
    if problem:
        _refuse(name, problem)
    return value


def flag(name, value):
    """A boolean; None (left out by an older caller) is False.

    Strings are refused: ``"false"`` would otherwise be true.
    """
    if value is None:
        return False
    if not isinstance(value, bool):
        _refuse(name, 'must be true or false, not %s' % _kind(value))
    return value


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _id_or_text(name, value, not_found):
    """An integer id (from an int or a string of ASCII digits) or a
    string to look up by another column (uuid, name)."""
    if _integer(value):
        ident = value
    elif isinstance(value, str):
        text(name, value, max_length=10 * MAX_TEXT)
        if not DIGITS.match(value):
            return value
        ident = int(value)
    else:
        _refuse(name, 'must be an integer id or a string, not %s'
                % _kind(value))
    if not 1 <= ident <= MAX_ID:
        raise not_found(shown(value))
    return ident


def task_ident(value, name='task_id'):
    """A task's integer id or its uuid (lower case)."""
    ident = _id_or_text(name, value,
                        lambda v: exception.TaskNotFound(task=v))
    if isinstance(ident, str):
        if not UUID.match(ident):
            raise exception.TaskNotFound(task=shown(ident))
        return ident.lower()
    return ident


def task_id(value, name='task_id'):
    """A task's integer id only (history is asked for by id)."""
    ident = task_ident(value, name)
    if not isinstance(ident, int):
        _refuse(name, 'must be an integer task id')
    return ident


def node_ident(value, name='node_id'):
    """A node's integer id or its name."""
    ident = _id_or_text(name, value,
                        lambda v: exception.NodeNotFound(node=v))
    if isinstance(ident, str) and len(ident) > MAX_TEXT:
        raise exception.NodeNotFound(node=shown(ident))
    return ident


def choice(name, value, valid):
    if not isinstance(value, str) or value not in valid:
        _refuse(name, 'must be one of %s, not %s' % (
            ', '.join(valid), shown(value)))
    return value


def text_list(name, value, valid=None, max_length=MAX_TEXT, ints=False):
    """None, or a non-empty list of strings (of ``valid`` ones if given;
    integers too with ``ints``, as strings)."""
    if value is None:
        return None
    if not isinstance(value, list):
        _refuse(name, 'must be a list, not %s' % _kind(value))
    if not value:
        _refuse(name, 'is empty: leave it out to mean every one')
    out = []
    for index, item in enumerate(value):
        where = '%s[%d]' % (name, index)
        if ints and _integer(item):
            item = str(item)
        if valid is not None:
            out.append(choice(where, item, valid))
        else:
            out.append(text(where, item, max_length))
    return out


def page_limit(name, value, top):
    """None, or an integer from 1 to ``top``."""
    if value is None:
        return None
    if not _integer(value) or not 1 <= value <= top:
        _refuse(name, 'must be an integer from 1 to %d' % top)
    return value


def id_marker(name, value):
    """None, or a positive integer id."""
    if value is None:
        return None
    if not _integer(value) or not 1 <= value <= MAX_ID:
        _refuse(name, 'must be a positive integer id')
    return value


HISTORY_MARKER_KEYS = ('time_start', 'node_id', 'task_name')


def history_marker(value):
    """None, or the last row of the previous page (its ``time_start``,
    ``node_id`` and ``task_name`` as returned; other keys are ignored),
    as ``(time_start or None, node_id, task_name)``."""
    if value is None:
        return None
    if not isinstance(value, dict) or not set(HISTORY_MARKER_KEYS) <= set(
            value):
        _refuse('marker', 'must be the last row of the previous page (an '
                          'object with %s)' % ', '.join(HISTORY_MARKER_KEYS))
    started = value['time_start']
    if started is not None:
        text('marker.time_start', started, max_length=40)
        try:
            started = schemas.parse_time(started)
        except exception.MessageInvalid:
            _refuse('marker.time_start', 'is not an ISO 8601 time')
    return (started,
            text('marker.node_id', value['node_id'], MAX_NODE_UID),
            text('marker.task_name', value['task_name']))


def context_user(context):
    """The caller's name from the RPC context (``created_by``)."""
    if context is not None and not isinstance(context, dict):
        _refuse('context', 'must be an object')
    user = (context or {}).get('user')
    if user is None or user == '':
        return 'unknown'
    return text('context user', user)
