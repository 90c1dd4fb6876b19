"""The public RPC API endpoint (server side of drydock_client.client).

Methods check every argument first (``arguments``), make one workflow or
DB API call and return JSON-safe dicts. ``rpc_errors.api_method`` makes
every failure reach the caller as a typed exception with one line: the
expected ones as themselves, anything else as ``InternalError`` with the
traceback logged here. Nothing here imports oslo.messaging: the RPC
server (drydockd.api.rpc) adapts the endpoint, and the embedded default
calls it in-process (drydockd.api.embedded) without the RPC stack.
The modules behind the methods that write (designs, graphs, node
actions) are imported by those methods: a CLI process that only reads
(the embedded default) never loads them.

API version history (the client's docstring repeats it):

    1.0 - create_task, get_task, list_tasks, delete_task,
          get_deployment_history.
    1.1 - stop_task.
    1.2 - list_nodes, get_node, set_node_power; node actions.
    1.3 - list_tasks takes limit and marker.
    1.4 - create_task takes all_nodes; set_node_power takes dry_run;
          get_deployment_history takes limit and marker.
    1.5 - get_deployment_history takes page_format ('json': a page's
          rows as one JSON text, ``rows_json``).
    1.6 - get_deployment_history takes page_format 'columns' (a page as
          one list of values per column, that JSON text zlib-compressed
          and base64-encoded, ``columns_z``).
"""

import functools
import logging

from drydockd.common import actions
from drydockd.common import exception
from drydockd.common import states
from drydockd.manager import arguments
from drydockd.manager import rpc_errors
from drydockd.manager import views

LOG = logging.getLogger(__name__)

# NOTE: must be in sync with drydock_client.client.RPC_API_VERSION
RPC_API_VERSION = '1.6'

MAX_PAGE = 1000
MAX_HISTORY_PAGE = 10000
PAGE_FORMATS = ('rows', 'json', 'columns')


def _action(value):
    if not isinstance(value, str) or value not in actions.SUPPORTED:
        raise exception.UnsupportedAction(
            action=arguments.shown(value),
            supported=', '.join(actions.SUPPORTED))
    return value


class ManagerEndpoint:
    RPC_API_VERSION = RPC_API_VERSION
    # What callers may call (and nothing else on this object).
    API_METHODS = ('create_task', 'get_task', 'list_tasks', 'delete_task',
                   'get_deployment_history', 'stop_task', 'list_nodes',
                   'get_node', 'set_node_power')

    def __init__(self, db, publisher, conf):
        self.db = db
        self.publisher = publisher
        self.conf = conf

    @property
    def _max_output(self):
        return self.conf.manager.max_output_chars

    def _document(self, task):
        return views.task_document(task, self._max_output)

    @functools.cached_property
    def policy(self):
        """The site's bounds on designs ([site] options)."""
        from drydockd.site import policy as policy_mod
        return policy_mod.Policy.from_conf(self.conf)

    @rpc_errors.api_method
    def create_task(self, context, action, design_ref, node_filter=None,
                    dry_run=False, all_nodes=False):
        """1.0; 1.4 added ``all_nodes`` (see node_actions.check_scope)."""
        from drydockd.manager import deploy
        from drydockd.manager import node_actions
        from drydockd.manager import validation
        from drydockd.site import node_filter as node_filter_mod
        user = arguments.context_user(context)
        action = _action(action)
        design_ref = arguments.text('design_ref', design_ref,
                                    arguments.MAX_REF)
        self.policy.resolve(design_ref)     # refused before any fetch
        node_filter = node_filter_mod.validate(node_filter)
        dry_run = arguments.flag('dry_run', dry_run)
        node_actions.check_scope(action, node_filter,
                                 arguments.flag('all_nodes', all_nodes))
        if action == 'validate_design':
            return self._document(validation.validate_design(
                self.db, design_ref, self.policy, user, dry_run=dry_run))
        if action == 'prepare_site':
            return self._document(validation.prepare_site(
                self.db, design_ref, self.policy, user, dry_run=dry_run))
        action = actions.SITE_ALIASES.get(action, action)
        if action in actions.NODE_ACTIONS:
            return self._document(node_actions.start(
                self.db, self.publisher, self.conf, action, design_ref,
                node_filter, created_by=user, dry_run=dry_run))
        task = deploy.start(self.db, self.publisher, self.conf, design_ref,
                            node_filter, dry_run=dry_run, created_by=user)
        return self._document(task)

    @rpc_errors.api_method
    def get_task(self, context, task_id):
        return self._document(self.db.get_task(
            arguments.task_ident(task_id), with_messages=True))

    @rpc_errors.api_method
    def list_tasks(self, context, statuses=None, include_deleted=False,
                   limit=None, marker=None):
        """1.0; 1.3 added ``limit`` and ``marker`` (page by id)."""
        tasks = self.db.list_tasks(
            arguments.text_list('statuses', statuses,
                                valid=states.TASK_STATUSES),
            arguments.flag('include_deleted', include_deleted),
            limit=arguments.page_limit('limit', limit, MAX_PAGE),
            marker=arguments.id_marker('marker', marker))
        return [views.task_summary(t) for t in tasks]

    @rpc_errors.api_method
    def delete_task(self, context, task_id):
        return views.task_summary(self.db.soft_delete_task(
            arguments.task_ident(task_id)))

    @rpc_errors.api_method
    def get_deployment_history(self, context, task_id, nodes=None,
                               statuses=None, tasks_names=None,
                               include_summary=False, limit=None,
                               marker=None, page_format=None):
        """1.0: every row. 1.4 added ``limit`` and ``marker``: with either,
        one page of the rows after ``marker`` (the previous page's
        ``next``, or its last row), as ``{columns, rows, next}``. 1.5 added
        ``page_format='json'``: ``rows_json``, the rows as one JSON text
        that the database wrote and nothing here decodes. 1.6 added
        ``page_format='columns'``: ``columns_z``, the page as one list of
        values per column (a JSON text the database wrote), compressed
        (see ``views.history_page``)."""
        task_id = arguments.task_id(task_id)
        query = {
            'nodes': arguments.text_list('nodes', nodes, ints=True,
                                         max_length=arguments.MAX_NODE_UID),
            'statuses': arguments.text_list('statuses', statuses,
                                            valid=states.HISTORY_STATUSES),
            'names': arguments.text_list('tasks_names', tasks_names),
            'include_summary': arguments.flag('include_summary',
                                              include_summary)}
        layout = 'rows' if page_format is None else arguments.choice(
            'page_format', page_format, PAGE_FORMATS)
        if limit is None and marker is None and layout == 'rows':
            return [views.history_row(r, self._max_output)
                    for r in self.db.get_history(task_id, **query)]
        return views.history_page(self.db.get_history_page(
            task_id, arguments.page_limit(
                'limit', MAX_HISTORY_PAGE if limit is None else limit,
                MAX_HISTORY_PAGE),
            marker=arguments.history_marker(marker), layout=layout,
            **query), self._max_output)

    @rpc_errors.api_method
    def stop_task(self, context, task_id):
        """1.1: stop a task (terminating, then terminated)."""
        from drydockd.manager import deploy
        return self._document(deploy.stop(
            self.db, self.publisher, arguments.task_ident(task_id),
            arguments.context_user(context)))

    @rpc_errors.api_method
    def list_nodes(self, context):
        """1.2: every known node, without credentials."""
        return [views.node(n, self._max_output)
                for n in self.db.list_nodes()]

    @rpc_errors.api_method
    def get_node(self, context, node_id):
        """1.2: one node by id or name, without its credential."""
        return views.node(self.db.get_node(arguments.node_ident(node_id)),
                          self._max_output)

    @rpc_errors.api_method
    def set_node_power(self, context, node_id, power, dry_run=False):
        """1.2: power on/off/cycle/status one node; returns the task.
        1.4 added ``dry_run``."""
        from drydockd.manager import node_actions
        user = arguments.context_user(context)
        power = arguments.choice('power', power, actions.POWER_CHOICES)
        dry_run = arguments.flag('dry_run', dry_run)
        node = self.db.get_node(arguments.node_ident(node_id))
        if not node['design_ref']:
            raise exception.InvalidInput(
                reason='node %s has no design; run an action on it from '
                       'its site design first' % node['name'])
        flt = {'filter_set_type': 'union', 'filter_set': [
            {'filter_type': 'union', 'node_names': [node['name']]}]}
        return self._document(node_actions.start(
            self.db, self.publisher, self.conf, 'power_nodes',
            node['design_ref'], flt, created_by=user, power=power,
            dry_run=dry_run))
