"""drydock's public API for Python callers: other daemons and scripts.

A thin, documented layer over :class:`drydock_client.rpcapi.DrydockAPI`
(the only code that knows RPC method names and versions). It adds what a
caller otherwise writes by hand:

- no ``context`` argument: the caller's name travels in every request;
- ``version_cap``: pin the highest RPC API version sent, for rolling
  upgrades (an older manager keeps working with a newer caller);
- a quick broker check (:func:`check_broker`): "cannot reach" in seconds
  instead of oslo.messaging retrying its connection forever;
- bounded send retries, so a broker that goes away mid-run raises
  ``MessageDeliveryFailure`` instead of blocking.

Errors are the typed exceptions of :mod:`drydockd.common.exception`
(``TaskNotFound``, ``InvalidInput``, ``NodeLocked``, ...), re-raised on
the caller's side by oslo.messaging; ``exc.args[0]`` is the one-line
message. Example::

    from drydock_client import client

    dd = client.Client.from_url('rabbit://drydock:SECRET@127.0.0.1:5672/drydock',
                                version_cap='1.0', user='my-daemon')
    task = dd.create_task('deploy_nodes', 'file:///srv/site.yaml')
    print(dd.get_task(task['id'])['status'])
    dd.close()

A daemon that already has an oslo.messaging transport passes it instead:
``client.Client(transport, version_cap=CONF.drydock_version_cap)``. The
transport must allow ``drydockd.common.exception`` as a remote exception
module (``allowed_remote_exmods``) to get typed errors; otherwise errors
arrive as ``oslo_messaging.RemoteError``. See docs/integration.md.
"""

import getpass
import time

import oslo_messaging as messaging

from drydock_client import rpcapi

ALLOWED_EXMODS = ['drydockd.common.exception']
FINAL_STATUSES = ('complete', 'terminated')
DEFAULT_AMQP_PORT = 5672


class BrokerUnreachable(Exception):
    """No broker of the transport URL accepted a connection.

    ``args[0]`` is one line naming the hosts and the reason.
    """


class WaitTimeout(Exception):
    """A task did not end within the time a caller allowed."""


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

    parsed = messaging.TransportURL.parse(conf, url)
    if parsed.transport not in ('rabbit', 'kombu'):
        return
    hosts = parsed.hosts or [messaging.TransportHost()]
    ssl = _rabbit_option(conf, 'ssl', False)
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
    raise BrokerUnreachable('Cannot reach the message broker at %s'
                            % '; '.join(problems)) from last


def _rabbit_option(conf, name, default):
    try:
        return conf.oslo_messaging_rabbit[name]
    except Exception:  # noqa: BLE001 - options not registered on this conf
        return default


def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class Client:
    """drydock's RPC API (topic ``drydock``), one method per API method.

    :param transport: an oslo.messaging RPC transport.
    :param topic: the manager's topic (``[manager] topic``).
    :param version_cap: highest RPC API version to send, e.g. ``'1.0'``
        while some managers are older. None: the newest this client knows
        (:attr:`RPC_API_VERSION`). A method newer than the cap raises
        ``InvalidInput`` before anything is sent.
    :param timeout: seconds to wait for a reply to a call.
    :param retry: connection retries when sending (None: forever, 0: none).
    :param user: recorded as ``created_by``/``terminated_by``.
    """

    RPC_API_VERSION = rpcapi.DrydockAPI.RPC_API_VERSION

    def __init__(self, transport, topic='drydock', version_cap=None,
                 timeout=60, retry=3, user=None):
        self.transport = transport
        self.api = rpcapi.DrydockAPI(transport, topic=topic,
                                     version_cap=version_cap,
                                     timeout=timeout, retry=retry)
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
        if conf is None:
            from oslo_config import cfg
            conf = cfg.CONF
        transport = messaging.get_rpc_transport(
            conf, url=url, allowed_remote_exmods=ALLOWED_EXMODS)
        if check:
            check_broker(conf, url, connect_timeout)
        client = cls(transport, **kwargs)
        client._owns_transport = True
        return client

    @property
    def version_cap(self):
        return self.api.client.version_cap

    def can_send_version(self, version):
        """True if ``version`` is within the version cap."""
        return self.api.client.can_send_version(version)

    def create_task(self, action, design_ref, node_filter=None,
                    dry_run=False, all_nodes=False):
        """Create and start a task; returns its task document (1.0).

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
            NodeLocked.
        """
        return self.api.create_task(self.context, action, design_ref,
                                    node_filter=node_filter,
                                    dry_run=dry_run, all_nodes=all_nodes)

    def create_task_async(self, action, design_ref, node_filter=None,
                          dry_run=False, all_nodes=False):
        """Cast create_task: returns at once, nothing comes back (1.0).

        Errors are logged by the manager only; poll :meth:`list_tasks`
        to find the task.
        """
        self.api.create_task(self.context, action, design_ref,
                             node_filter=node_filter, dry_run=dry_run,
                             cast=True, all_nodes=all_nodes)

    def get_task(self, task_id):
        """The task document by id or uuid (1.0). :raises: TaskNotFound."""
        return self.api.get_task(self.context, task_id)

    def list_tasks(self, statuses=None, include_deleted=False, limit=None,
                   marker=None):
        """Task summaries, newest first (1.0; ``limit``/``marker`` 1.3).

        :raises: InvalidInput.
        """
        return self.api.list_tasks(self.context, statuses=statuses,
                                   include_deleted=include_deleted,
                                   limit=limit, marker=marker)

    def delete_task(self, task_id):
        """Soft-delete a task (1.0). :raises: TaskNotFound."""
        return self.api.delete_task(self.context, task_id)

    def get_deployment_history(self, task_id, nodes=None, statuses=None,
                               tasks_names=None, include_summary=False,
                               limit=None, marker=None):
        """History rows of a task (1.0); see docs/history.md.

        Every row, fetched page by page from a 1.4 manager; with
        ``limit`` or ``marker`` (1.4) one page only.

        :raises: TaskNotFound, InvalidInput.
        """
        return self.api.get_deployment_history(
            self.context, task_id, nodes=nodes, statuses=statuses,
            tasks_names=tasks_names, include_summary=include_summary,
            limit=limit, marker=marker)

    def stop_task(self, task_id):
        """Stop a task (1.1): running graph tasks finish, the rest are
        skipped, it ends ``terminated``.

        :raises: TaskNotFound; InvalidInput if it already ended or the
            version cap is below 1.1 (nothing is sent then).
        """
        return self.api.stop_task(self.context, task_id)

    def list_nodes(self):
        """Every node, without BMC credentials (1.2)."""
        return self.api.list_nodes(self.context)

    def get_node(self, node_id):
        """One node by id or name (1.2). :raises: NodeNotFound."""
        return self.api.get_node(self.context, node_id)

    def set_node_power(self, node_id, power, dry_run=False):
        """Power a node ``on``/``off``/``cycle`` or read its ``status``
        (1.2); returns the power task's document. ``dry_run`` (1.4)
        touches nothing and says what it would do.

        :raises: NodeNotFound, InvalidInput, NodeLocked.
        """
        return self.api.set_node_power(self.context, node_id, power,
                                       dry_run=dry_run)

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
                raise WaitTimeout('task %s still %s after %ss'
                                  % (task_id, doc['status'], timeout))
            time.sleep(interval)

    def close(self):
        """Release the transport if this client created it."""
        if self._owns_transport:
            self.transport.cleanup()
