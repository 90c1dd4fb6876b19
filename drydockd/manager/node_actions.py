"""Node actions: verify, prepare, provision, destroy, power.

Each creates a parent task with one subtask per selected node (the parent
result is voted from them), locks the nodes, and casts one work message
naming the nodes and the design; BMC credentials stay in the design and
never travel on the work plane.
"""

import logging

from drydockd.common import actions
from drydockd.common import exception
from drydockd.manager import deploy
from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)



def start(db, publisher, conf, action, design_ref, node_filter_doc,
          created_by=None, power=None):
    """Create the parent task and its subtasks and cast the work."""
    spec = actions.NODE_ACTIONS[action]
    args = dict(spec.args)
    if action == 'power_nodes':
        if power not in actions.POWER_CHOICES:
            raise exception.InvalidInput(
                reason='power must be one of %s'
                % ', '.join(actions.POWER_CHOICES))
        args['power'] = power
    design, nodes = deploy.select_nodes(design_ref, node_filter_doc)
    db.sync_nodes(design['nodes'], design_ref)
    task = db.start_task(
        {'action': action, 'design_ref': design_ref,
         'node_filter': node_filter_doc, 'created_by': created_by},
        [n['id'] for n in nodes], node_status=spec.node_status,
        subtasks=True)
    task = db.get_task(task['id'])
    by_node = {s['node_id']: s['uuid'] for s in task['subtasks']}
    message = schemas.request(
        spec.method, task['uuid'], design_ref=design_ref,
        nodes=[{'uid': str(n['id']), 'name': n['name'],
                'subtask_uuid': by_node[n['id']]} for n in nodes],
        timeout=conf.manager.provision_timeout, **args)
    deploy.cast(db, publisher, task, message)
    LOG.info('Task %s (%s) queued: %s of %d nodes', task['id'], task['uuid'],
             action, len(nodes))
    return db.get_task(task['id'])
