"""Site designs: fetch a ``design_ref`` and validate it, every problem at once.

A design is YAML with ``nodes`` and ``deployment_tasks`` (docs/design.md).
Validation never stops at the first problem: operators fix a file in one
pass, so each problem is reported with its document and field.
"""

import ipaddress
import os
import urllib.parse
import urllib.request

import yaml

from drydockd.common import exception
from drydockd.graph.vocabulary import MASTER
from drydockd.graph.vocabulary import TASK_TYPES

MAX_DESIGN_BYTES = 16 * 1024 * 1024
HTTP_TIMEOUT = 30


def fetch(ref):
    """Return the text behind ``ref`` (file:// absolute, http(s)://)."""
    parsed = urllib.parse.urlparse(ref or '')
    if parsed.scheme == 'file':
        path = urllib.parse.unquote(parsed.path)
        if parsed.netloc or not os.path.isabs(path):
            raise exception.DesignError(
                ref=ref, reason='file:// needs an absolute path '
                                '(file:///path/to/site.yaml)')
        try:
            with open(path, 'rb') as f:
                data = f.read(MAX_DESIGN_BYTES + 1)
        except OSError as exc:
            raise exception.DesignError(ref=ref, reason=exc.strerror)
    elif parsed.scheme in ('http', 'https'):
        try:
            with urllib.request.urlopen(ref, timeout=HTTP_TIMEOUT) as resp:
                data = resp.read(MAX_DESIGN_BYTES + 1)
        except (OSError, ValueError) as exc:
            raise exception.DesignError(ref=_safe_ref(parsed),
                                        reason=str(exc)[:200])
    else:
        raise exception.DesignError(
            ref=_safe_ref(parsed),
            reason='unsupported scheme; use file://, http:// or https://')
    if len(data) > MAX_DESIGN_BYTES:
        raise exception.DesignError(ref=_safe_ref(parsed),
                                    reason='larger than %d bytes'
                                    % MAX_DESIGN_BYTES)
    return data


def _safe_ref(parsed):
    """The reference without any user:password in it."""
    netloc = parsed.hostname or ''
    if parsed.port:
        netloc += ':%d' % parsed.port
    return parsed._replace(netloc=netloc).geturl()


def problems(ref):
    """Every problem of the design at ``ref`` (empty when valid).

    Beyond the document checks, the deployment graph is built over every
    node so cycles and dangling references are reported here too.
    """
    from drydockd.graph import serializer
    try:
        doc = yaml.safe_load(fetch(ref))
    except exception.DesignError as exc:
        return [exc.message]
    except yaml.YAMLError as exc:
        return ['design: not YAML: %s' % str(exc).splitlines()[0]]
    found = validate(doc)
    if not found:
        try:
            serializer.serialize(doc.get('deployment_tasks', []),
                                 doc['nodes'], doc.get('roles'))
        except exception.DrydockException as exc:
            found.append('deployment_tasks: %s' % exc.message)
    return found


def load(ref):
    """Fetch, parse and validate a design; raises DesignError."""
    try:
        doc = yaml.safe_load(fetch(ref))
    except yaml.YAMLError as exc:
        raise exception.DesignError(ref=ref, reason='not YAML: %s'
                                    % str(exc).splitlines()[0])
    problems = validate(doc)
    if problems:
        raise exception.DesignError(ref=ref, reason='; '.join(problems))
    return doc


def validate(doc):
    """Every problem in a parsed design, as ``document.field: problem``."""
    if not isinstance(doc, dict):
        return ['design: the top level must be a mapping']
    problems = []
    nodes = doc.get('nodes')
    if not isinstance(nodes, list) or not nodes:
        problems.append('design.nodes: must be a non-empty list')
        nodes = []
    roles = _validate_nodes(nodes, problems)
    tasks = doc.get('deployment_tasks', [])
    if not isinstance(tasks, list):
        problems.append('design.deployment_tasks: must be a list')
        tasks = []
    declared = {r if isinstance(r, str) else r.get('name')
                for r in doc.get('roles') or [] if isinstance(r, (str, dict))}
    _validate_tasks(tasks, roles | declared, problems)
    return problems


def _validate_nodes(nodes, problems):
    seen_ids, seen_names, roles = set(), set(), set()
    for i, node in enumerate(nodes):
        where = 'node[%d]' % i
        if not isinstance(node, dict):
            problems.append('%s: must be a mapping' % where)
            continue
        name = node.get('name')
        if isinstance(name, str) and name:
            where = 'node %s' % name
            if name in seen_names:
                problems.append('%s.name: duplicate node name' % where)
            seen_names.add(name)
        else:
            problems.append('%s.name: missing' % where)
        nid = node.get('id')
        if not isinstance(nid, int) or isinstance(nid, bool) or nid < 1:
            problems.append('%s.id: must be a positive integer' % where)
        elif nid in seen_ids:
            problems.append('%s.id: duplicate node id %d' % (where, nid))
        seen_ids.add(nid)
        node_roles = node.get('roles', [])
        if not isinstance(node_roles, list):
            problems.append('%s.roles: must be a list' % where)
        else:
            roles.update(r for r in node_roles if isinstance(r, str))
        for key, kind in (('labels', dict), ('tags', list)):
            if not isinstance(node.get(key, kind()), kind):
                problems.append('%s.%s: must be a %s' % (where, key,
                                                         kind.__name__))
        _validate_oob(node.get('oob'), where, problems)
    return roles


def _validate_oob(oob, where, problems):
    if oob is None:
        return
    if not isinstance(oob, dict):
        problems.append('%s.oob: must be a mapping' % where)
        return
    try:
        ipaddress.ip_address(str(oob.get('address')))
    except ValueError:
        problems.append('%s.oob.address: %r is not an IP address'
                        % (where, oob.get('address')))
    port = oob.get('port', 623)
    if not isinstance(port, int) or isinstance(port, bool) \
            or not 0 < port < 65536:
        problems.append('%s.oob.port: must be an integer 1-65535' % where)
    if not oob.get('account'):
        problems.append('%s.oob.account: missing' % where)
    if not oob.get('credential'):
        problems.append('%s.oob.credential: missing' % where)


def _validate_tasks(tasks, roles, problems):
    ids = {t.get('id') for t in tasks if isinstance(t, dict)}
    seen = set()
    for i, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get('id'), str):
            problems.append('deployment_task[%d].id: missing' % i)
            continue
        where = 'deployment_task %s' % task['id']
        if task['id'] in seen:
            problems.append('%s.id: duplicate task id' % where)
        seen.add(task['id'])
        if task.get('type') not in TASK_TYPES:
            problems.append('%s.type: unknown task type %r (valid: %s)'
                            % (where, task.get('type'), ', '.join(TASK_TYPES)))
        wanted = task.get('roles', task.get('groups', [])) or []
        for role in [wanted] if isinstance(wanted, str) else wanted:
            if role not in ('*', MASTER) and role not in roles:
                problems.append('%s.roles: unknown role %r' % (where, role))
        for key in ('requires', 'required_for'):
            for dep in task.get(key, []) or []:
                if dep not in ids:
                    problems.append('%s.%s: unknown task %r'
                                    % (where, key, dep))
        for dep in task.get('cross_depends', []) or []:
            if not isinstance(dep, dict) or dep.get('name') not in ids:
                problems.append('%s.cross_depends: unknown task %r'
                                % (where, dep))
