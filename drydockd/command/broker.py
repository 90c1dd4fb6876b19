"""``drydock-manage broker setup``: roles, permissions and topology.

Everything goes through ``rabbitmqctl`` on the broker's host (the
management plugin may be off): one ``export_definitions`` reads what the
broker holds, the difference with what drydock needs is computed here,
and one ``import_definitions`` (JSON on standard input, never on a
command line) applies it: virtual hosts, one user per role, their
permissions and topic permissions (``messaging.roles``), and the work
plane's durable exchanges, queues and bindings (``messaging.entities``).
Nothing that is already right is touched, so a second run changes
nothing and says so.

Passwords are generated (or read from files the operator names), sent
to the broker only as salted SHA-256 hashes, and printed once, in the
role's config snippet. An existing user keeps its password unless a new
one is given; its snippet then shows ``****``.
"""

import base64
import hashlib
import json
import secrets
import subprocess
import urllib.parse

from drydockd.common import exception
from drydockd.messaging import entities
from drydockd.messaging import roles

HASHING = 'rabbit_password_hashing_sha256'
TIMEOUT = 120


class SetupError(exception.DrydockException):
    _msg_fmt = '%(reason)s'


def hash_password(password, salt=None):
    """RabbitMQ's salted SHA-256 hash, as definitions carry it."""
    salt = salt if salt is not None else secrets.token_bytes(4)
    digest = hashlib.sha256(salt + password.encode('utf-8')).digest()
    return base64.b64encode(salt + digest).decode('ascii')


def password_matches(password, password_hash, algorithm):
    if algorithm != HASHING or not password_hash:
        return False
    raw = base64.b64decode(password_hash)
    return hash_password(password, raw[:4]) == password_hash


class Rabbitmqctl:
    """The few ``rabbitmqctl`` calls setup needs; one-line errors."""

    def __init__(self, binary='rabbitmqctl', node=None):
        self.argv = [binary] + (['-n', node] if node else [])

    def _run(self, args, stdin=None):
        try:
            result = subprocess.run(self.argv + ['-q'] + args, input=stdin,
                                    capture_output=True, text=True,
                                    timeout=TIMEOUT)
        except FileNotFoundError:
            raise SetupError(reason='%s not found: run on the broker\'s host '
                             '(or give --rabbitmqctl)' % self.argv[0])
        except subprocess.TimeoutExpired:
            raise SetupError(reason='rabbitmqctl did not answer within %ds'
                             % TIMEOUT)
        if result.returncode != 0:
            lines = [line.strip() for line in
                     (result.stderr + result.stdout).splitlines()
                     if line.strip() and line.strip() != 'Error:']
            raise SetupError(reason='rabbitmqctl %s failed: %s' % (
                args[0], lines[0] if lines else 'exit %d'
                % result.returncode))
        return result.stdout

    def export(self):
        out = self._run(['export_definitions', '-', '--format', 'json'])
        try:
            return json.loads(out)
        except ValueError:
            raise SetupError(reason='rabbitmqctl export_definitions gave '
                             'no JSON')

    def import_(self, definitions):
        self._run(['import_definitions', '--format', 'json'],
                  stdin=json.dumps(definitions))


class Plan:
    """What drydock needs on the broker, and what is missing of it."""

    def __init__(self, conf, work_vhost, api_vhost, prefix, control_exchange,
                 topic):
        self.conf = conf
        self.work_vhost, self.api_vhost = work_vhost, api_vhost
        self.users = {role: prefix + role for role in roles.ROLES}
        self.control_exchange, self.topic = control_exchange, topic

    def wanted(self):
        """Definitions of everything but users: (section, key, item)."""
        out = [('vhosts', v, {'name': v})
               for v in (self.work_vhost, self.api_vhost)]
        for vhost, grants in (
                (self.work_vhost, roles.work_grants(self.conf)),
                (self.api_vhost, roles.api_grants(self.control_exchange,
                                                  self.topic))):
            for role, grant in grants.items():
                user = self.users[role]
                out.append(('permissions', (user, vhost), dict(
                    user=user, vhost=vhost, **grant._asdict())))
        for vhost, grants in (
                (self.work_vhost, roles.work_topic_grants(self.conf)),
                (self.api_vhost, roles.api_topic_grants(
                    self.control_exchange, self.topic))):
            for role, grant in grants.items():
                user = self.users[role]
                out.append(('topic_permissions',
                            (user, vhost, grant.exchange),
                            dict(user=user, vhost=vhost, **grant._asdict())))
        out.extend(self._topology())
        return out

    def _topology(self):
        exchanges, queues = entities.topology(self.conf)
        vhost = self.work_vhost
        for exchange in exchanges:
            yield ('exchanges', (exchange.name, vhost), {
                'name': exchange.name, 'vhost': vhost, 'type': exchange.type,
                'durable': True, 'auto_delete': False, 'internal': False,
                'arguments': {}})
        for queue in queues:
            yield ('queues', (queue.name, vhost), {
                'name': queue.name, 'vhost': vhost, 'durable': True,
                'auto_delete': False,
                'arguments': dict(queue.queue_arguments or {})})
            for source, key in entities.bindings_of(queue):
                yield ('bindings', (source, queue.name, key, vhost), {
                    'source': source, 'vhost': vhost,
                    'destination': queue.name, 'destination_type': 'queue',
                    'routing_key': key, 'arguments': {}})


_KEYS = {'vhosts': lambda i: i['name'],
         'permissions': lambda i: (i['user'], i['vhost']),
         'topic_permissions': lambda i: (i['user'], i['vhost'],
                                         i['exchange']),
         'exchanges': lambda i: (i['name'], i['vhost']),
         'queues': lambda i: (i['name'], i['vhost']),
         'bindings': lambda i: (i['source'], i['destination'],
                                i['routing_key'], i['vhost'])}
# Fields compared to tell an existing item from a wrong one.
_SAME = {'vhosts': (), 'permissions': ('configure', 'write', 'read'),
         'topic_permissions': ('write', 'read'),
         'exchanges': ('type', 'durable', 'auto_delete', 'internal'),
         'queues': ('durable', 'auto_delete', 'arguments'), 'bindings': ()}
# What an export leaves out when it is the default.
_DEFAULTS = {'internal': False, 'auto_delete': False, 'arguments': {}}


def _difference(wanted, current):
    """(definitions to import, report lines) for items missing or wrong;
    a wrong exchange or queue cannot be changed in place: refused."""
    have = {(section, _KEYS[section](item)): item
            for section in _KEYS for item in current.get(section, ())}
    changes = {}
    lines = []
    for section, key, item in wanted:
        old = have.get((section, key))
        what = '%s %s' % (section.rstrip('s').replace('_', ' '),
                          _describe(key))
        if old is not None and all(old.get(f, _DEFAULTS.get(f)) == item[f]
                                   for f in _SAME[section]):
            lines.append('%s: unchanged' % what)
            continue
        if old is not None and section in ('exchanges', 'queues'):
            raise SetupError(reason='%s exists with other properties; '
                             'delete it first' % what)
        changes.setdefault(section, []).append(item)
        lines.append('%s: %s' % (what, 'updated' if old else 'created'))
    return changes, lines


def _describe(key):
    if isinstance(key, tuple):
        return ' '.join(str(k) or "''" for k in key)
    return key


def _users(plan, current, given):
    """(user definitions to import, report lines, role -> password shown)."""
    have = {u['name']: u for u in current.get('users', ())}
    items, lines, shown = [], [], {}
    for role, user in plan.users.items():
        password = given.get(role)
        old = have.get(user)
        if old is not None and (password is None or password_matches(
                password, old.get('password_hash'),
                old.get('hashing_algorithm'))):
            lines.append('user %s: unchanged' % user)
            continue
        password = password or secrets.token_urlsafe(24)
        items.append({'name': user, 'password_hash': hash_password(password),
                      'hashing_algorithm': HASHING, 'tags': []})
        shown[role] = password
        lines.append('user %s: %s' % (user, 'password changed' if old
                                      else 'created'))
    return items, lines, shown


def setup(ctl, plan, given_passwords):
    """Bring the broker to the plan.

    :returns: (report lines, {role: password} for passwords set now).
    :raises: SetupError.
    """
    current = ctl.export()
    changes, lines = _difference(plan.wanted(), current)
    users, user_lines, shown = _users(plan, current, given_passwords)
    if users:
        changes['users'] = users
    if changes:
        ctl.import_(changes)
    return user_lines + lines, shown


def read_password_files(pairs):
    """``ROLE=FILE`` pairs -> {role: password} (first line of FILE)."""
    out = {}
    for pair in pairs:
        role, sep, path = pair.partition('=')
        if not sep or role not in roles.ROLES:
            raise SetupError(reason='--password-file takes ROLE=FILE with '
                             'ROLE one of %s, not %r' % (
                                 ', '.join(roles.ROLES), pair))
        try:
            with open(path) as f:
                password = f.readline().rstrip('\r\n')
        except OSError as exc:
            raise SetupError(reason='cannot read the %s password file %s: '
                             '%s' % (role, path, exc.strerror))
        if not password:
            raise SetupError(reason='the %s password file %s is empty'
                             % (role, path))
        out[role] = password
    return out


def snippets(plan, shown, host, port, tls_ca=None):
    """Each role's config snippet (ini), with its password if set now."""
    def url(scheme, role, vhost):
        password = shown.get(role)
        secret = urllib.parse.quote(password, safe='') if password \
            else '****'
        return '%s://%s:%s@%s:%d/%s' % (
            scheme, urllib.parse.quote(plan.users[role], safe=''), secret,
            host, port, urllib.parse.quote(vhost, safe=''))

    work = ['[work_plane]', 'declare_topology = false']
    api_tls, work_tls = [], []
    if tls_ca:
        api_tls = ['[oslo_messaging_rabbit]', 'ssl = true',
                   'ssl_ca_file = %s' % tls_ca]
        work_tls = ['ssl = true', 'ssl_ca_file = %s' % tls_ca]
    out = {}
    for role in roles.ROLES:
        lines = ['[DEFAULT]']
        if role in ('api', 'manager'):
            lines.append('transport_url = %s'
                         % url('rabbit', role, plan.api_vhost))
        if role != 'api':
            lines.append('work_transport_url = %s'
                         % url('amqp', role, plan.work_vhost))
        if role == 'receiver':
            lines += ['', '[receiver]',
                      'executor_identities = %s' % plan.users['executor'],
                      'agent_identities = %s' % plan.users['agent']]
        if role != 'api':
            lines += [''] + work + work_tls
        if api_tls and role in ('api', 'manager'):
            lines += [''] + api_tls
        out[role] = '\n'.join(lines)
    return out


def main(args, conf):
    """Run setup for ``drydock-manage broker setup``; print the report."""
    from drydockd.api import rpc
    plan = Plan(conf, args.work_vhost, args.api_vhost, args.user_prefix,
                rpc.CONTROL_EXCHANGE, conf.manager.topic)
    given = read_password_files(args.password_file)
    ctl = Rabbitmqctl(args.rabbitmqctl, args.node)
    lines, shown = setup(ctl, plan, given)
    for line in lines:
        print(line)
    changed = [line for line in lines if not line.endswith(': unchanged')]
    print('broker setup: %s' % ('%d changes applied' % len(changed)
                                if changed else
                                'nothing to change (already set up)'))
    port = args.port or (5671 if args.tls_ca else 5672)
    for role, text in snippets(plan, shown, args.host, port,
                               args.tls_ca).items():
        note = ('password shown only now' if role in shown else
                'password unchanged, not shown')
        print('\n# %s (%s): %s' % (role, plan.users[role], note))
        print(text)
    return 0


def check(conf):
    """Connect to each plane's broker once; one line per plane.

    :returns: 0 if both answer (or run in-process), else 1.
    """
    from drydock_client import client
    from drydockd.api import rpc
    code = 0
    conn = entities.connection(conf, connect_timeout=10)
    try:
        conn.ensure_connection(max_retries=1, timeout=10)
        print('work plane: connected to %s%s' % (
            conn.as_uri(), ' over TLS' if entities.ssl_options(conf)
            else ''))
    except Exception as exc:  # noqa: BLE001 - socket, AMQP, TLS errors
        print('work plane: %s' % entities.explain(conf, exc))
        code = 1
    finally:
        conn.release()
    url = rpc.api_url(conf)
    if rpc.is_embedded(url):
        print('API plane: in-process (%s)' % url)
        return code
    try:
        client.check_broker(conf, url, timeout=10)
        print('API plane: connected to %s' % client.mask_url(url))
    except Exception as exc:  # noqa: BLE001 - BrokerUnreachable
        print('API plane: %s%s' % (str(exc).splitlines()[0],
                                   _api_hint(conf, str(exc))))
        code = 1
    return code


def _api_hint(conf, text):
    if 'CERTIFICATE_VERIFY_FAILED' in text:
        return ('; TLS: the broker\'s certificate is not trusted: check '
                '[oslo_messaging_rabbit] ssl_ca_file')
    if 'reset by peer' in text and not conf.oslo_messaging_rabbit.ssl:
        return '; a TLS port? Set [oslo_messaging_rabbit] ssl = true'
    return ''


def run(args, conf):
    """``drydock-manage broker setup|check``."""
    if args.verb == 'check':
        return check(conf)
    return main(args, conf)


def add_parser(nouns):
    broker = nouns.add_parser('broker', help='RabbitMQ roles and topology')
    verbs = broker.add_subparsers(dest='verb', required=True)
    verbs.add_parser('check', help='connect to both planes\' brokers once '
                     'and say what is wrong (TLS included)')
    setup_parser = verbs.add_parser(
        'setup', help='create the virtual hosts, one user per role, their '
        'permissions and the work-plane topology (idempotent)')
    setup_parser.add_argument('--work-vhost', default='drydock-work')
    setup_parser.add_argument('--api-vhost', default='drydock')
    setup_parser.add_argument('--user-prefix', default='drydock-')
    setup_parser.add_argument(
        '--password-file', action='append', default=[],
        metavar='ROLE=FILE', help='set ROLE\'s password from FILE\'s first '
        'line (default: keep an existing user\'s, generate a new one\'s)')
    setup_parser.add_argument('--host', default='127.0.0.1',
                              help='broker host the snippets name')
    setup_parser.add_argument('--port', type=int,
                              help='broker port the snippets name (5672, '
                              'or 5671 with --tls-ca)')
    setup_parser.add_argument('--tls-ca', metavar='FILE',
                              help='CA file: snippets connect over TLS')
    setup_parser.add_argument('--rabbitmqctl', default='rabbitmqctl')
    setup_parser.add_argument('--node', help='RabbitMQ node name')
    return broker

