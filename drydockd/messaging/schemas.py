"""The work-plane protocol: every message shape, defined once.

Requests (manager -> executor) and reports (executor -> receiver) are
Astute-compatible envelopes ``{api_version, method, respond_to, args}``.
The executor and receiver import the builders and validators here; nobody
builds a payload dict inline. See docs/protocol.md.
"""

import datetime
import json
import os
import re

from drydockd.common import actions
from drydockd.common import exception
from drydockd.common import timeutils

API_VERSION = '1'

# Executor methods and the reply method each one answers with.
REQUESTS = dict({
    'task_deploy': 'deploy_resp',
    'stop_deploy_task': 'deploy_resp',
    'echo': 'echo_resp',
}, **actions.NODE_METHODS)
# The leader's periodic power-state sweep: no task behind it, and its
# report (what each BMC said) belongs to no task either.
POWER_SYNC = 'sync_power'
POWER_SYNC_REPORT = 'power_sync_resp'
REQUESTS[POWER_SYNC] = POWER_SYNC_REPORT
# A node's agent reports on its own, outside any task.
NODE_AGENT_REPORT = 'node_agent_resp'
REPORTS = frozenset(REQUESTS.values()) | {NODE_AGENT_REPORT}
# Reports about nodes, outside any task.
TASKLESS_REPORTS = frozenset((NODE_AGENT_REPORT, POWER_SYNC_REPORT))
# Handled at once by every executor (service fanout), never queued.
CONTROL = frozenset(('stop_deploy_task',))


# The protocol's times are drydock's (naive UTC); kept here as the names
# the executor and the tests have always used.
utcnow = timeutils.utcnow
format_time = timeutils.format_time


def parse_time(value):
    """ISO 8601 string -> naive UTC datetime; raises MessageInvalid."""
    try:
        if value[-1:] == 'Z':
            # What drydock sends, read three times faster than through
            # the time-zone conversion below (every node entry has one).
            parsed = datetime.datetime.fromisoformat(value[:-1])
            if parsed.tzinfo is None:
                return parsed
        parsed = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    except (AttributeError, TypeError, ValueError, OverflowError):
        raise exception.MessageInvalid(reason='bad time %r' % (value,))
    return parsed


def request(method, task_uuid, **args):
    """Build a manager -> executor envelope.

    ``task_uuid`` comes first in ``args``, so an executor that must
    refuse a body too large to parse still finds whose task it was near
    the start (``task_uuids``) and reports the refusal to it.
    """
    if method not in REQUESTS:
        raise ValueError('unknown executor method %s' % method)
    return {'api_version': API_VERSION, 'method': method,
            'respond_to': REQUESTS[method],
            'args': dict({'task_uuid': task_uuid}, **args)}


def encoded_size(body):
    """Bytes of ``body`` as the publisher sends it (kombu's JSON)."""
    return len(json.dumps(body).encode('utf-8'))


_TASK_UUID = re.compile(rb'"task_uuid"\s*:\s*"([^"\\]{1,64})"')
_RESPOND_TO = re.compile(rb'"respond_to"\s*:\s*"([a-z_]{1,64})"')
MAX_REFUSED_UUIDS = 100


def task_uuids(body, items=None):
    """Whose tasks a refused request was for: ``[(uuid, report method)]``.

    ``items`` are the envelopes when the body decoded; otherwise the raw
    bytes are searched (a body too large or not valid JSON still names
    its tasks near its start). At most ``MAX_REFUSED_UUIDS``.
    """
    found = []
    if items is not None:
        for item in items:
            args = item.get('args') if isinstance(item, dict) else None
            uuid = args.get('task_uuid') if isinstance(args, dict) else None
            if isinstance(uuid, str) and 0 < len(uuid) <= 64:
                found.append((uuid, item.get('respond_to')))
    else:
        if isinstance(body, str):
            body = body.encode('utf-8', 'surrogatepass')
        respond_to = _RESPOND_TO.search(body or b'')
        method = respond_to.group(1).decode() if respond_to else None
        for match in _TASK_UUID.finditer(body or b''):
            found.append((match.group(1).decode('utf-8', 'replace'),
                          method))
            if len(found) >= MAX_REFUSED_UUIDS:
                break
    out = []
    for uuid, method in found[:MAX_REFUSED_UUIDS]:
        method = method if method in REPORTS - TASKLESS_REPORTS \
            else 'deploy_resp'
        if (uuid, method) not in out:
            out.append((uuid, method))
    return out


def report(method, task_uuid, status=None, progress=None, error=None,
           nodes=None, executor=None):
    """Build an executor -> receiver report; None fields are left out.

    ``executor`` names the executor host, so the reaper can say whose
    heartbeats stopped. A node agent's report has no ``task_uuid``.
    """
    args = {}
    for key, value in (('task_uuid', task_uuid), ('status', status),
                       ('progress', progress),
                       ('error', error), ('nodes', nodes),
                       ('executor', executor)):
        if value is not None:
            args[key] = value
    return {'method': method, 'args': args}


def node_entry(uid, time, task_name=None, task_status=None, **extra):
    """One node entry of a report (``uid`` None is the sync node)."""
    entry = {'uid': uid, 'time': format_time(time)}
    if task_name is not None:
        entry['deployment_graph_task_name'] = task_name
        entry['task_status'] = task_status
    entry.update((k, v) for k, v in extra.items() if v is not None)
    return entry


# JSON escapes no database column can store: NUL, and a surrogate that is
# not half of a valid pair.
_UNSTORABLE = re.compile(
    rb'\\u0000'
    rb'|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})'
    rb'|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}')


def _no_constants(name):
    raise ValueError('%s is not a number JSON allows' % name)


def decode_body(body, max_bytes):
    """Raw body -> list of envelope dicts; raises MessageInvalid.

    Accepts one object or a list. kombu has already decompressed a body
    sent with its ``compression`` header (gzip/zlib), so the limit applies
    to the decompressed size.
    """
    if isinstance(body, str):
        body = body.encode('utf-8', 'surrogatepass')
    if len(body) > max_bytes:
        raise exception.MessageInvalid(
            reason='body of %d bytes exceeds the limit of %d'
            % (len(body), max_bytes))
    if b'\\u' in body and _UNSTORABLE.search(body):
        raise exception.MessageInvalid(
            reason='a string holds NUL or a lone surrogate')
    try:
        data = json.loads(body, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as exc:
        raise exception.MessageInvalid(reason='undecodable body: %s'
                                       % str(exc)[:200])
    items = data if isinstance(data, list) else [data]
    if not items:
        raise exception.MessageInvalid(reason='empty list')
    return items


def _validator(name):
    """Compile a JSON Schema of docs/protocol.md once (fastjsonschema,
    imported here: reading times and formats needs none of it)."""
    import fastjsonschema
    path = os.path.join(os.path.dirname(__file__), 'jsonschema', name)
    with open(path) as f:
        return fastjsonschema.compile(json.load(f))


_VALIDATORS = {}


def load_validators():
    """Compile the schemas; services call this at start so a broken
    schema stops the service, not the handling of a message."""
    for name in ('report.json', 'request.json'):
        if name not in _VALIDATORS:
            _VALIDATORS[name] = _validator(name)


def _check(name, item):
    load_validators()
    validator = _VALIDATORS[name]
    import fastjsonschema
    try:
        validator(item)
    except fastjsonschema.JsonSchemaException as exc:
        raise exception.MessageInvalid(reason=exc.message[:300])


def validate_report(item):
    """Check one report against jsonschema/report.json; returns it.

    :raises: MessageInvalid naming the offending field.
    """
    if isinstance(item, dict) and item.get('method') not in REPORTS:
        # Said plainly: the most common dead letter an operator reads.
        raise exception.MessageInvalid(
            reason='unknown method %r' % (item.get('method'),))
    _check('report.json', item)
    for entry in item['args'].get('nodes', ()):
        for key in ('time', 'time_start'):
            if key in entry:
                parse_time(entry[key])
    return item


def validate_request(item):
    """Check one request against jsonschema/request.json; returns it.

    The schema also refuses a node carrying a credential: BMC passwords
    never travel on the work plane (the executor reads them from the
    design).
    """
    _check('request.json', item)
    return item
