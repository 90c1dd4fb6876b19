"""Node actions: verify, prepare, provision, destroy, power.

Each creates a parent task with one subtask per selected node (the parent
result is voted from them), locks the nodes, and casts one work message
naming the nodes and the design; BMC credentials stay in the design and
never travel on the work plane. A dry run goes no further than selecting
the nodes (``dry_run.record``).
"""

import logging

from drydockd.common import actions
from drydockd.common import exception
from drydockd.manager import deploy
from drydockd.manager import dry_run as dry_run_mod
from drydockd.manager import limits
from drydockd.messaging import schemas
from drydockd.site import policy as policy_mod

LOG = logging.getLogger(__name__)
# Stands in for subtask uuids (same length) when the size is checked
# before the subtasks exist.
_UUID_WIDTH = '0' * 36


def check_scope(action, node_filter, all_nodes):
    """Which nodes a create_task may name, before the design is read.

    ``all_nodes`` asks for every node of the design by name; it excludes
    a filter. An action that powers nodes off or reboots them
    (``actions.WHOLE_SITE_ASKED``) runs over the whole site only when
    asked so: a filter left out (an unset variable in a script, a 1.0
    client) is refused. ``verify_site`` always covers the whole site.

    :raises: InvalidInput saying what to send instead.
    """
    if all_nodes and node_filter is not None:
        raise exception.InvalidInput(
            reason='all_nodes and node_filter exclude each other: give '
                   'one or the other')
    if action in actions.SITE_ALIASES and node_filter is not None:
        raise exception.InvalidInput(
            reason='%s covers every node of the design; give %s a node '
                   'filter instead' % (action, actions.SITE_ALIASES[action]))
    if (action in actions.WHOLE_SITE_ASKED and node_filter is None
            and not all_nodes):
        raise exception.InvalidInput(
            reason='%s needs a node filter, or all_nodes=true for every '
                   'node of the design (drydock2 task create %s '
                   '--all-nodes)' % (action, action))


def start(db, publisher, conf, action, design_ref, node_filter_doc,
          created_by=None, power=None, dry_run=False):
    """Create the parent task and its subtasks and cast the work."""
    spec = actions.NODE_ACTIONS[action]
    args = dict(spec.args)
    if action == 'power_nodes':
        args['power'] = power
    design, nodes = deploy.select_nodes(
        design_ref, node_filter_doc, policy_mod.Policy.from_conf(conf),
        lambda: {n['id']: n.get('inventory') for n in db.list_nodes()})
    if dry_run:
        return dry_run_mod.record(db, action, design_ref, node_filter_doc,
                                  nodes, created_by, power=power)

    def message(task_uuid, subtask_of):
        return schemas.request(
            spec.method, task_uuid, design_ref=design_ref,
            nodes=[{'uid': str(n['id']), 'name': n['name'],
                    'subtask_uuid': subtask_of(n)} for n in nodes],
            timeout=conf.manager.provision_timeout,
            reap_after=conf.manager.executor_timeout, **args)

    limits.check_message(conf, message(_UUID_WIDTH, lambda n: _UUID_WIDTH))
    db.sync_nodes(design['nodes'], design_ref)
    task = db.start_task(
        {'action': action, 'design_ref': design_ref,
         'node_filter': node_filter_doc, 'created_by': created_by},
        [n['id'] for n in nodes], node_status=spec.node_status,
        history=[(str(n['id']), step) for n in nodes if spec.uses_agent(n)
                 for step in spec.steps],
        subtasks=True)
    with deploy.ending_on_failure(db, publisher, task):
        task = db.get_task(task['id'])
        by_node = {s['node_id']: s['uuid'] for s in task['subtasks']}
        deploy.cast(db, publisher, task,
                    message(task['uuid'], lambda n: by_node[n['id']]))
    LOG.info('Task %s (%s) queued: %s of %d nodes', task['id'], task['uuid'],
             action, len(nodes))
    return db.get_task(task['id'])
