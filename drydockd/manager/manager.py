"""The public RPC API endpoint (server side of drydock_client.rpcapi).

Methods validate their input, make one workflow or DB API call and return
JSON-safe dicts. Expected errors are declared so oslo.messaging re-raises
them on the caller's side as typed exceptions, not logged as crashes.
"""

import logging

import oslo_messaging as messaging

from drydockd.common import actions
from drydockd.common import exception
from drydockd.common import states
from drydockd.manager import deploy
from drydockd.manager import node_actions
from drydockd.manager import validation
from drydockd.manager import views

LOG = logging.getLogger(__name__)

# NOTE: must be in sync with drydock_client.rpcapi.DrydockAPI.RPC_API_VERSION
RPC_API_VERSION = '1.3'

MAX_PAGE = 1000
_EXPECTED = (exception.InvalidInput, exception.TaskNotFound,
             exception.NodeNotFound,
             exception.NodeLocked, exception.UnsupportedAction,
             exception.DesignError, exception.GraphCycle)


def _user(context):
    return (context or {}).get('user') or 'unknown'


def _check_choices(name, values, valid):
    bad = [v for v in values or [] if v not in valid]
    if bad:
        raise exception.InvalidInput(
            reason='invalid %s %s; valid: %s' % (
                name, ', '.join(map(str, bad)), ', '.join(valid)))


class ManagerEndpoint:
    target = messaging.Target(version=RPC_API_VERSION)

    def __init__(self, db, publisher, conf):
        self.db = db
        self.publisher = publisher
        self.conf = conf

    @messaging.expected_exceptions(*_EXPECTED)
    def create_task(self, context, action, design_ref, node_filter=None,
                    dry_run=False):
        if action not in actions.SUPPORTED:
            raise exception.UnsupportedAction(
                action=action, supported=', '.join(actions.SUPPORTED))
        if action == 'validate_design':
            return views.task_document(validation.validate_design(
                self.db, design_ref, _user(context)))
        if action == 'prepare_site':
            return views.task_document(validation.prepare_site(
                self.db, design_ref, _user(context)))
        if action in actions.SITE_ALIASES:
            action, node_filter = actions.SITE_ALIASES[action], None
        if action in actions.NODE_ACTIONS:
            return views.task_document(node_actions.start(
                self.db, self.publisher, self.conf, action, design_ref,
                node_filter, created_by=_user(context)))
        task = deploy.start(self.db, self.publisher, self.conf, design_ref,
                            node_filter, dry_run=bool(dry_run),
                            created_by=_user(context))
        return views.task_document(task)

    @messaging.expected_exceptions(*_EXPECTED)
    def get_task(self, context, task_id):
        return views.task_document(self.db.get_task(task_id,
                                                    with_messages=True))

    @messaging.expected_exceptions(*_EXPECTED)
    def list_tasks(self, context, statuses=None, include_deleted=False,
                   limit=None, marker=None):
        """1.0; 1.3 added ``limit`` and ``marker`` (page by id)."""
        _check_choices('status', statuses, states.TASK_STATUSES)
        for name, value, top in (('limit', limit, MAX_PAGE),
                                 ('marker', marker, None)):
            if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int)
                    or value < 1 or (top and value > top)):
                raise exception.InvalidInput(
                    reason='%s must be an integer from 1%s' % (
                        name, ' to %d' % top if top else ''))
        return [views.task_summary(t) for t in self.db.list_tasks(
            statuses, include_deleted, limit=limit, marker=marker)]

    @messaging.expected_exceptions(*_EXPECTED)
    def delete_task(self, context, task_id):
        return views.task_summary(self.db.soft_delete_task(task_id))

    @messaging.expected_exceptions(*_EXPECTED)
    def get_deployment_history(self, context, task_id, nodes=None,
                               statuses=None, tasks_names=None,
                               include_summary=False):
        _check_choices('status', statuses, states.HISTORY_STATUSES)
        for name, value in (('nodes', nodes), ('tasks_names', tasks_names)):
            if value is not None and not isinstance(value, list):
                raise exception.InvalidInput(reason='%s must be a list'
                                             % name)
        if isinstance(task_id, bool) or not str(task_id).isdigit():
            raise exception.InvalidInput(reason='task id must be an integer')
        rows = self.db.get_history(int(task_id), nodes, statuses,
                                   tasks_names, include_summary)
        return [views.history_row(r) for r in rows]

    @messaging.expected_exceptions(*_EXPECTED)
    def stop_task(self, context, task_id):
        """1.1: stop a task (terminating, then terminated)."""
        return views.task_document(
            deploy.stop(self.db, self.publisher, task_id, _user(context)))

    @messaging.expected_exceptions(*_EXPECTED)
    def list_nodes(self, context):
        """1.2: every known node, without credentials."""
        return [views.node(n) for n in self.db.list_nodes()]

    @messaging.expected_exceptions(*_EXPECTED)
    def get_node(self, context, node_id):
        """1.2: one node by id or name, without its credential."""
        return views.node(self.db.get_node(node_id))

    @messaging.expected_exceptions(*_EXPECTED)
    def set_node_power(self, context, node_id, power):
        """1.2: power on/off/cycle/status one node; returns the task."""
        node = self.db.get_node(node_id)
        if not node['design_ref']:
            raise exception.InvalidInput(
                reason='node %s has no design; run an action on it from '
                       'its site design first' % node['name'])
        flt = {'filter_set_type': 'union', 'filter_set': [
            {'filter_type': 'union', 'node_names': [node['name']]}]}
        return views.task_document(node_actions.start(
            self.db, self.publisher, self.conf, 'power_nodes',
            node['design_ref'], flt, created_by=_user(context), power=power))
