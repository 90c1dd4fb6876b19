"""drydock's public API for Python callers: the CLI, other daemons, scripts.

:class:`Client` is the only code that knows RPC method names and versions
(as Ironic's ``ConductorAPI`` is). Each method prepares the lowest API
version that supports the arguments it sends, so a newer client keeps
working with an older manager, and ``version_cap`` pins the highest version
sent during rolling upgrades.

API version history:

    1.0 - Initial version: create_task, get_task, list_tasks, delete_task,
          get_deployment_history.
    1.1 - Added stop_task.
    1.2 - Added list_nodes, get_node, set_node_power; create_task takes
          verify_site, prepare_site, verify_nodes, prepare_nodes,
          provision_nodes and destroy_nodes.
    1.3 - list_tasks takes limit and marker (pagination by id).
    1.4 - create_task takes all_nodes (required for prepare_nodes,
          provision_nodes and destroy_nodes over the whole site);
          set_node_power takes dry_run; get_deployment_history takes
          limit and marker (keyset pages).
    1.5 - get_deployment_history takes page_format ('json': a page's rows
          as one JSON text, which the client decodes).
    1.6 - get_deployment_history takes page_format 'columns' (a page as
          one list of values per column, zlib-compressed JSON in base64).

Errors are the classes of :mod:`drydock_client.exceptions`, whatever the
transport, with a one-line ``exc.message``. Nothing here imports
``drydockd``: the client installs and runs without drydock's server.
Example::

    from drydock_client import client

    dd = client.Client.from_url('rabbit://drydock:SECRET@127.0.0.1:5672/drydock',
                                version_cap='1.0', user='my-daemon')
    task = dd.create_task('deploy_nodes', 'file:///srv/site.yaml')
    print(dd.get_task(task['id'])['status'])
    dd.close()
"""

import base64
import getpass
import json
import re
import time
import zlib

from drydock_client import exceptions

# NOTE: must be in sync with drydockd.manager.manager.RPC_API_VERSION
RPC_API_VERSION = '1.6'
EXCHANGE = 'drydock'    # the manager's oslo.messaging control exchange
TOPIC = 'drydock'
FINAL_STATUSES = ('complete', 'terminated')
# Rows per get_deployment_history page when fetching every page (the
# manager's most).
HISTORY_PAGE = 10000
# The page format each version brings, newest first.
_PAGE_FORMATS = (('1.6', 'columns'), ('1.5', 'json'), ('1.4', None))
DEFAULT_AMQP_PORT = 5672


def default_user():
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in a container
        return 'unknown'


def check_broker(conf, url, timeout=5.0):
    """Connect to the broker of a ``rabbit://`` URL once, or raise.

    oslo.messaging retries a failing connection forever (with growing
    back-off) before a call can even time out. This opens one plain AMQP
    connection per host with ``timeout`` seconds to connect, log in and
    open the virtual host, and closes it again. The first host that
    answers ends the check.

    :param conf: an oslo.config ``ConfigOpts`` with oslo.messaging's
        options registered (for ``[oslo_messaging_rabbit] ssl``).
    :raises: BrokerUnreachable with the reason of the last host tried.
    """
    import kombu
    import oslo_messaging as messaging

    parsed = messaging.TransportURL.parse(conf, url)
    if parsed.transport not in ('rabbit', 'kombu'):
        return
    hosts = parsed.hosts or [messaging.TransportHost()]
    ssl = rabbit_ssl_params(conf)
    problems, last = [], None
    for host in hosts:
        where = '%s:%s' % (host.hostname or 'localhost',
                           host.port or DEFAULT_AMQP_PORT)
        conn = kombu.Connection(
            hostname=host.hostname or 'localhost',
            port=host.port or DEFAULT_AMQP_PORT,
            userid=host.username or 'guest',
            password=host.password or 'guest',
            virtual_host=parsed.virtual_host or '/',
            ssl=ssl, connect_timeout=timeout, transport='pyamqp')
        try:
            conn.ensure_connection(max_retries=1, interval_start=0,
                                   interval_step=0, timeout=timeout)
            return
        except Exception as exc:  # noqa: BLE001 - socket, AMQP, TLS errors
            problems.append('%s (%s)' % (where, _first_line(exc)))
            last = exc
        finally:
            conn.release()
    raise exceptions.BrokerUnreachable(
        'Cannot reach the message broker at %s' % '; '.join(problems)) \
        from last


def rabbit_ssl_params(conf):
    """kombu's ``ssl`` argument from ``[oslo_messaging_rabbit]`` ssl
    options, as oslo.messaging's rabbit driver builds it (so the check
    and the transport agree): with ``ssl_ca_file`` the broker's
    certificate is verified against it."""
    if not _rabbit_option(conf, 'ssl', False):
        return False
    import ssl
    params = {}
    for option, key in (('ssl_key_file', 'keyfile'),
                        ('ssl_cert_file', 'certfile'),
                        ('ssl_ca_file', 'ca_certs')):
        value = _rabbit_option(conf, option, None)
        if value:
            params[key] = value
    if 'ca_certs' in params:
        params['cert_reqs'] = ssl.CERT_REQUIRED
        params['server_hostname'] = _rabbit_option(
            conf, 'ssl_server_hostname', None)
    return params or True


def mask_url(url):
    """A transport URL without its password."""
    return re.sub(r'(//[^:/@]*:)[^@/]*@', r'\1****@', url)


def _rabbit_option(conf, name, default):
    try:
        return conf.oslo_messaging_rabbit[name]
    except Exception:  # noqa: BLE001 - options not registered on this conf
        return default


def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class Client:
    """drydock's RPC API, one method per API method.

    :param transport: an oslo.messaging RPC transport.
    :param topic: the manager's topic (``[manager] topic``).
    :param exchange: the manager's control exchange (``drydock``); a
        transport's own default (``openstack``) never reaches drydock.
    :param version_cap: highest RPC API version to send, e.g. ``'1.0'``
        while some managers are older. None: the newest this client knows
        (:data:`RPC_API_VERSION`). A method newer than the cap raises
        ``UnsupportedVersion`` before anything is sent.
    :param timeout: seconds to wait for a reply to a call.
    :param retry: connection retries when sending (None: forever, 0: none).
    :param user: recorded as ``created_by``/``terminated_by``.
    :param rpc_client: an object with oslo.messaging ``RPCClient``'s
        ``prepare``/``can_send_version``/``version_cap``, used instead of
        ``transport`` (the embedded default hosts the API in-process).
    """

    RPC_API_VERSION = RPC_API_VERSION

    def __init__(self, transport=None, topic=TOPIC, version_cap=None,
                 timeout=60, retry=3, user=None, exchange=EXCHANGE,
                 rpc_client=None):
        self.transport = transport
        self.timeout = timeout
        if rpc_client is None:
            import oslo_messaging as messaging
            target = messaging.Target(exchange=exchange, topic=topic,
                                      version='1.0')
            rpc_client = messaging.get_rpc_client(
                transport, target, version_cap=version_cap or RPC_API_VERSION,
                timeout=timeout, retry=retry)
        self.rpc = rpc_client
        self.context = {'user': user or default_user()}
        self._owns_transport = False

    @classmethod
    def from_url(cls, url, conf=None, check=True, connect_timeout=5.0,
                 **kwargs):
        """A client with its own transport to ``url``.

        :param conf: an oslo.config ``ConfigOpts`` (default: the global
            ``cfg.CONF``, which oslo.messaging needs for its tracing
            options).
        :param check: run :func:`check_broker` first.
        :raises: BrokerUnreachable.
        """
        import oslo_messaging as messaging
        if conf is None:
            from oslo_config import cfg
            conf = cfg.CONF
        try:
            transport = messaging.get_rpc_transport(conf, url=url)
        except (messaging.InvalidTransportURL,
                messaging.DriverLoadFailure) as exc:
            raise exceptions.InvalidInput('Bad transport URL %s: %s' % (
                mask_url(url), _first_line(exc))) from exc
        if check:
            check_broker(conf, url, connect_timeout)
        client = cls(transport, **kwargs)
        client._owns_transport = True
        return client

    @property
    def version_cap(self):
        return self.rpc.version_cap

    def can_send_version(self, version):
        """True if ``version`` is within the version cap."""
        return self.rpc.can_send_version(version)

    def _send(self, version, method, kwargs=None, cast=False, **more):
        """Prepare ``version``, then call (or cast) ``method``."""
        if not self.rpc.can_send_version(version):
            raise exceptions.UnsupportedVersion(
                '%s needs RPC API %s; the version cap is %s'
                % (method, version, self.version_cap))
        prepared = self.rpc.prepare(version=version)
        kwargs = dict(kwargs or {}, **more)
        try:
            if cast:
                return prepared.cast(self.context, method, **kwargs)
            return prepared.call(self.context, method, **kwargs)
        except Exception as exc:
            error = exceptions.translate(exc, self.timeout)
            if error is None or error is exc:
                raise
            raise error from exc

    def create_task(self, action, design_ref, node_filter=None,
                    dry_run=False, all_nodes=False):
        """Create and start a task; returns its task document (1.0; 1.4
        with ``all_nodes``).

        :param action: ``deploy_nodes``, ``validate_design``, and since
            1.2 ``verify_site``, ``prepare_site``, ``verify_nodes``,
            ``prepare_nodes``, ``provision_nodes``, ``destroy_nodes``.
        :param design_ref: ``file:///abs/path.yaml`` or ``http(s)://``.
        :param node_filter: a Drydock node filter (docs/tasks.md); None
            selects every node of the design, except for actions that
            power nodes off or reboot them (``prepare_nodes``,
            ``provision_nodes``, ``destroy_nodes``), which need
            ``all_nodes=True`` (1.4) for that.
        :param dry_run: record what would be touched; touch nothing.
        :raises: InvalidInput, UnsupportedAction, DesignError, GraphCycle,
            GraphInvalid, NodeLocked.
        """
        return self._send(*_create(action, design_ref, node_filter,
                                   dry_run, all_nodes))

    def create_task_async(self, action, design_ref, node_filter=None,
                          dry_run=False, all_nodes=False):
        """Cast create_task: returns at once, nothing comes back.

        Errors are logged by the manager only; poll :meth:`list_tasks`
        to find the task.
        """
        version, method, kwargs = _create(action, design_ref, node_filter,
                                          dry_run, all_nodes)
        self._send(version, method, cast=True, **kwargs)

    def get_task(self, task_id):
        """The task document by id or uuid (1.0). :raises: TaskNotFound."""
        return self._send('1.0', 'get_task', task_id=task_id)

    def list_tasks(self, statuses=None, include_deleted=False, limit=None,
                   marker=None):
        """Task summaries, newest first (1.0). ``limit``/``marker`` (1.3)
        page by id: at most ``limit`` tasks with ids below ``marker``.

        :raises: InvalidInput.
        """
        if limit is None and marker is None:
            return self._send('1.0', 'list_tasks', statuses=statuses,
                              include_deleted=include_deleted)
        return self._send('1.3', 'list_tasks', statuses=statuses,
                          include_deleted=include_deleted, limit=limit,
                          marker=marker)

    def delete_task(self, task_id):
        """Soft-delete a task (1.0). :raises: TaskNotFound."""
        return self._send('1.0', 'delete_task', task_id=task_id)

    def get_deployment_history(self, task_id, nodes=None, statuses=None,
                               tasks_names=None, include_summary=False,
                               limit=None, marker=None):
        """History rows of a task; see docs/history.md.

        Without ``limit`` and ``marker``: every row, fetched page by page
        from a 1.4 manager (in one call from an older one, 1.0). With
        either (1.4): one page, ``{'columns': [...], 'rows': [[...]],
        'next': marker or None}``, of the rows after ``marker`` (the
        previous page's ``next``).

        :raises: TaskNotFound, InvalidInput.
        """
        query = {'task_id': task_id, 'nodes': nodes, 'statuses': statuses,
                 'tasks_names': tasks_names,
                 'include_summary': include_summary}
        if limit is not None or marker is not None:
            return self._send('1.4', 'get_deployment_history', query,
                              limit=limit, marker=marker)
        if not self.can_send_version('1.4'):
            return self._send('1.0', 'get_deployment_history', query)
        # The most compact page the manager knows: from 1.6 columns of
        # values, compressed; from 1.5 the rows as one JSON text.
        version, page_format = next(f for f in _PAGE_FORMATS
                                    if self.can_send_version(f[0]))
        extra = {'page_format': page_format} if page_format else {}
        rows, marker = [], None
        while True:
            page = self._send(version, 'get_deployment_history', query,
                              limit=HISTORY_PAGE, marker=marker, **extra)
            rows.extend(page_rows(page))
            marker = page['next']
            if marker is None:
                return rows

    def stop_task(self, task_id):
        """Stop a task (1.1): running graph tasks finish, the rest are
        skipped, it ends ``terminated``.

        :raises: TaskNotFound; InvalidInput if it already ended.
        """
        return self._send('1.1', 'stop_task', task_id=task_id)

    def list_nodes(self):
        """Every node, without BMC credentials (1.2)."""
        return self._send('1.2', 'list_nodes')

    def get_node(self, node_id):
        """One node by id or name (1.2). :raises: NodeNotFound."""
        return self._send('1.2', 'get_node', node_id=node_id)

    def set_node_power(self, node_id, power, dry_run=False):
        """Power a node ``on``/``off``/``cycle`` or read its ``status``
        (1.2); returns the power task's document. ``dry_run`` (1.4)
        touches nothing and says what it would do.

        :raises: NodeNotFound, InvalidInput, NodeLocked.
        """
        if dry_run:
            return self._send('1.4', 'set_node_power', node_id=node_id,
                              power=power, dry_run=True)
        return self._send('1.2', 'set_node_power', node_id=node_id,
                          power=power)

    def wait(self, task_id, timeout=None, interval=1.0, on_update=None):
        """Poll until the task is ``complete`` or ``terminated``.

        :param on_update: called with each task document polled.
        :returns: the final task document.
        :raises: WaitTimeout after ``timeout`` seconds (None: no limit).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            doc = self.get_task(task_id)
            if on_update is not None:
                on_update(doc)
            if doc['status'] in FINAL_STATUSES:
                return doc
            if deadline is not None and time.monotonic() >= deadline:
                raise exceptions.WaitTimeout(
                    'task %s still %s after %ss'
                    % (task_id, doc['status'], timeout))
            time.sleep(interval)

    def close(self):
        """Release the transport if this client created it."""
        if self._owns_transport:
            self.transport.cleanup()


def page_rows(page):
    """The rows of a history page in any format, as dicts."""
    if 'columns_z' in page:
        rows = zip(*json.loads(zlib.decompress(base64.b64decode(
            page['columns_z']))))
    elif 'rows_json' in page:
        rows = json.loads(page['rows_json'])
    else:
        rows = page['rows']
    return [dict(zip(page['columns'], row)) for row in rows]


def _create(action, design_ref, node_filter, dry_run, all_nodes):
    """(version, method, kwargs) of a create_task: the lowest version
    that knows the action and the arguments given."""
    kwargs = {'action': action, 'design_ref': design_ref,
              'node_filter': node_filter, 'dry_run': dry_run}
    # 1.0 even for the actions 1.2 added: a 1.0-pinned caller has always
    # sent them so, and an older manager answers UnsupportedAction.
    version = '1.0'
    if all_nodes:
        version = '1.4'
        kwargs['all_nodes'] = all_nodes
    return version, 'create_task', kwargs
