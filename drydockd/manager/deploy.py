"""The deploy_nodes workflow: design -> graph -> pending history -> cast.

The pending rows are committed before the work message is cast, so no
report can arrive for a row that does not exist yet.
"""

import datetime
import logging

from drydockd.common import exception
from drydockd.graph import serializer
from drydockd.graph import vocabulary
from drydockd.messaging import schemas
from drydockd.site import design as design_mod
from drydockd.site import node_filter

LOG = logging.getLogger(__name__)


def select_nodes(design_ref, node_filter_doc):
    """Load the design and apply the node filter."""
    design = design_mod.load(design_ref)
    racks = {r['name']: r.get('labels', {})
             for r in design.get('racks', []) or []}
    return design, node_filter.select(node_filter_doc, design['nodes'],
                                      racks)


def plan(design_ref, node_filter_doc):
    """Load the design and build the graph; nothing is written."""
    design, nodes = select_nodes(design_ref, node_filter_doc)
    # Roles are checked against the whole design, so a node filter just
    # leaves other roles' tasks out instead of failing them.
    graph, metadata = serializer.serialize(
        design.get('deployment_tasks', []), nodes, design.get('roles'),
        design_nodes=design['nodes'])
    return design, nodes, graph, metadata


def start(db, publisher, design_ref, node_filter_doc, dry_run=False,
          created_by=None, deadline_s=3600):
    """Create a deploy_nodes task and cast it; returns the task dict."""
    design, nodes, graph, metadata = plan(design_ref, node_filter_doc)
    if not dry_run:
        # A dry run writes no node: it registers, reserves and moves none.
        db.sync_nodes(design['nodes'], design_ref)
    history = [(vocabulary.wire_uid(uid), item['id'])
               for uid, items in graph.items() for item in items]
    task = db.start_task(
        {'action': 'deploy_nodes', 'design_ref': design_ref,
         'node_filter': node_filter_doc, 'dry_run': dry_run,
         'created_by': created_by,
         'graph': {'tasks_graph': graph, **metadata}},
        [] if dry_run else [n['id'] for n in nodes], history,
        node_status=None if dry_run else 'deploying')
    deadline = task['created'] + datetime.timedelta(seconds=deadline_s)
    message = schemas.request('task_deploy', task['uuid'],
                              tasks_graph=graph, tasks_metadata=metadata,
                              dry_run=dry_run, design_ref=design_ref,
                              deadline=schemas.format_time(deadline))
    task = cast(db, publisher, task, message)
    LOG.info('Task %s (%s) queued: deploy of %d nodes, %d graph tasks',
             task['id'], task['uuid'], len(nodes), len(history))
    return task


def cast(db, publisher, task, message):
    """Cast committed work to the executors; a task that cannot be
    queued ends ``failure`` at once instead of waiting forever."""
    try:
        publisher.to_executor(message)
    except Exception as exc:  # noqa: BLE001 - any broker failure ends it
        LOG.error('Could not queue task %s: %s', task['id'], exc)
        db.finish_task(task['id'], 'failure',
                       'Could not queue the task for an executor',
                       reason='work plane unavailable: %s'
                       % type(exc).__name__)
        raise exception.DrydockException(
            'Task %s could not be queued: the work plane is unavailable'
            % task['id'])
    return db.update_task(task['id'], status='queued')


def stop(db, publisher, task_id, user):
    """Ask the executors to stop a task; end it at once if none runs it.

    The stop goes out even for a task ended here, so that an executor
    holding a queued copy drops it instead of running it later.
    """
    task = db.stop_task(task_id, user)
    publisher.to_executors(schemas.request('stop_deploy_task', task['uuid']))
    LOG.info('Task %s stop requested by %s (now %s)', task['id'], user,
             task['status'])
    return task
