"""The work-plane protocol: every message shape, defined once.

Requests (manager -> executor) and reports (executor -> receiver) are
Astute-compatible envelopes ``{api_version, method, respond_to, args}``.
The executor and receiver import the builders and validators here; nobody
builds a payload dict inline. See docs/protocol.md.
"""

import datetime
import gzip
import json
import zlib

from drydockd.common import exception

API_VERSION = '1'

# Executor methods and the reply method each one answers with.
REQUESTS = {
    'task_deploy': 'deploy_resp',
    'stop_deploy_task': 'deploy_resp',
    'echo': 'echo_resp',
}
REPORTS = frozenset(REQUESTS.values())
# Handled at once by every executor (service fanout), never queued.
CONTROL = frozenset(('stop_deploy_task',))

TASK_STATUSES = ('running', 'ready', 'error', 'stopped')
ROW_STATUSES = ('running', 'ready', 'error', 'skipped')
NODE_STATUSES = ('discover', 'provisioning', 'provisioned', 'deploying',
                 'ready', 'error', 'removing', 'stopped')

_STR_FIELDS = ('uid', 'status', 'deployment_graph_task_name',
               'task_status', 'time', 'time_start', 'error_msg')


def utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def format_time(value):
    """Naive-UTC datetime -> ``2026-11-22T10:00:01.123456Z`` (None stays)."""
    if value is None:
        return None
    return value.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def parse_time(value):
    """ISO 8601 string -> naive UTC datetime; raises MessageInvalid."""
    try:
        parsed = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
    except (AttributeError, ValueError):
        raise exception.MessageInvalid(reason='bad time %r' % (value,))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


def request(method, task_uuid, **args):
    """Build a manager -> executor envelope."""
    if method not in REQUESTS:
        raise ValueError('unknown executor method %s' % method)
    return {'api_version': API_VERSION, 'method': method,
            'respond_to': REQUESTS[method],
            'args': dict(args, task_uuid=task_uuid)}


def report(method, task_uuid, status=None, progress=None, error=None,
           nodes=None, executor=None):
    """Build an executor -> receiver report; None fields are left out.

    ``executor`` names the executor host, so the reaper can say whose
    heartbeats stopped.
    """
    args = {'task_uuid': task_uuid}
    for key, value in (('status', status), ('progress', progress),
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


def decode_body(body, headers, max_bytes):
    """Raw body -> list of envelope dicts; raises MessageInvalid.

    Accepts one object or a list, optionally compressed (kombu's
    ``compression`` header: gzip or zlib). The size limit applies after
    decompression so a small bomb cannot blow up memory.
    """
    if isinstance(body, str):
        body = body.encode('utf-8')
    compression = (headers or {}).get('compression')
    if compression:
        body = _decompress(body, compression, max_bytes)
    if len(body) > max_bytes:
        raise exception.MessageInvalid(
            reason='body of %d bytes exceeds the limit of %d'
            % (len(body), max_bytes))
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise exception.MessageInvalid(reason='undecodable body: %s'
                                       % str(exc)[:200])
    items = data if isinstance(data, list) else [data]
    if not items:
        raise exception.MessageInvalid(reason='empty list')
    return items


def _decompress(body, compression, max_bytes):
    if compression in ('application/x-gzip', 'gzip'):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif compression in ('application/x-zlib', 'zlib'):
        decoder = zlib.decompressobj()
    else:
        raise exception.MessageInvalid(
            reason='unknown compression %r' % compression)
    try:
        out = decoder.decompress(body, max_bytes + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise exception.MessageInvalid(reason='bad %s body: %s'
                                       % (compression, exc))
    if len(out) > max_bytes:
        raise exception.MessageInvalid(
            reason='decompressed body exceeds the limit of %d bytes'
            % max_bytes)
    return out


def _require(cond, reason):
    if not cond:
        raise exception.MessageInvalid(reason=reason)


def validate_report(item):
    """Check one report envelope; returns it; raises MessageInvalid."""
    _require(isinstance(item, dict), 'report is not an object')
    method = item.get('method')
    _require(method in REPORTS, 'unknown method %r' % (method,))
    args = item.get('args')
    _require(isinstance(args, dict), 'args is not an object')
    _require(isinstance(args.get('task_uuid'), str)
             and 0 < len(args['task_uuid']) <= 64, 'missing task_uuid')
    status = args.get('status')
    _require(status is None or status in TASK_STATUSES,
             'unknown task status %r' % (status,))
    progress = args.get('progress')
    _require(progress is None or (isinstance(progress, (int, float))
                                  and not isinstance(progress, bool)),
             'progress is not a number')
    for key in ('error', 'executor'):
        _require(args.get(key) is None or isinstance(args[key], str),
                 '%s is not a string' % key)
    nodes = args.get('nodes', [])
    _require(isinstance(nodes, list), 'nodes is not a list')
    for entry in nodes:
        _validate_entry(entry)
    return item


def _validate_entry(entry):
    _require(isinstance(entry, dict), 'node entry is not an object')
    for key in _STR_FIELDS:
        value = entry.get(key)
        _require(value is None or isinstance(value, str),
                 '%s is not a string' % key)
    _require('uid' in entry, 'node entry without uid')
    uid = entry['uid']
    _require(uid is None or uid == 'master' or uid.isdigit(),
             'bad uid %r' % (uid,))
    _require(entry.get('status') is None
             or entry['status'] in NODE_STATUSES,
             'unknown node status %r' % (entry.get('status'),))
    if entry.get('deployment_graph_task_name') is not None:
        _require(entry.get('task_status') in ROW_STATUSES,
                 'unknown task_status %r' % (entry.get('task_status'),))
    progress = entry.get('progress')
    _require(progress is None or (isinstance(progress, (int, float))
                                  and not isinstance(progress, bool)),
             'node progress is not a number')
    for key in ('custom', 'summary'):
        _require(entry.get(key) is None or isinstance(entry[key], dict),
                 '%s is not an object' % key)
    for key in ('time', 'time_start'):
        if entry.get(key) is not None:
            parse_time(entry[key])


def validate_request(item):
    """Check one executor request envelope; raises MessageInvalid."""
    _require(isinstance(item, dict), 'request is not an object')
    args = item.get('args')
    _require(isinstance(args, dict), 'args is not an object')
    _require(isinstance(args.get('task_uuid'), str), 'missing task_uuid')
    _require(isinstance(item.get('method'), str), 'missing method')
    return item
