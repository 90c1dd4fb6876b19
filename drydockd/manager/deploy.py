"""The deploy_nodes workflow: design -> graph -> pending history -> cast.

The pending rows are committed before the work message is cast, so no
report can arrive for a row that does not exist yet. The work message
carries the graph's compact spec (graph.serializer.graph_spec), checked
against the size limits before anything is written.
"""

import datetime
import logging
import uuid as uuidlib

from drydockd.common import exception
from drydockd.graph import serializer
from drydockd.graph import vocabulary
from drydockd.manager import limits
from drydockd.messaging import schemas
from drydockd.site import design as design_mod
from drydockd.site import node_filter
from drydockd.site import policy as policy_mod

LOG = logging.getLogger(__name__)


def select_nodes(design_ref, node_filter_doc, policy, inventories=None):
    """Load the design (within the site's ``policy``) and apply the node
    filter.

    :param inventories: ``callable()`` giving ``{node id: inventory}``,
        called only when the filter selects on inventories.
    """
    design = design_mod.load(design_ref, policy=policy)
    racks = {r['name']: r.get('labels', {})
             for r in design.get('racks', []) or []}
    if inventories is None or not node_filter.uses_inventory(
            node_filter_doc):
        return design, node_filter.select(node_filter_doc, design['nodes'],
                                          racks)
    found = inventories()
    by_id = {n['id']: n for n in design['nodes']}
    seen = [dict(n, inventory=found.get(n['id'])) for n in design['nodes']]
    chosen = node_filter.select(node_filter_doc, seen, racks)
    return design, [by_id[n['id']] for n in chosen]


def plan(design_ref, node_filter_doc, policy):
    """Load the design and build the graph; nothing is written."""
    design, nodes = select_nodes(design_ref, node_filter_doc, policy)
    # Roles are checked against the whole design, so a node filter just
    # leaves other roles' tasks out instead of failing them.
    graph, metadata = serializer.serialize(
        design.get('deployment_tasks', []), nodes, design.get('roles'),
        design_nodes=design['nodes'])
    return design, nodes, graph, metadata


def _request(conf, task_uuid, created, spec, dry_run, design_ref):
    deadline = created + datetime.timedelta(
        seconds=conf.manager.deploy_timeout)
    return schemas.request('task_deploy', task_uuid, graph_spec=spec,
                           dry_run=dry_run, design_ref=design_ref,
                           deadline=schemas.format_time(deadline),
                           reap_after=conf.manager.executor_timeout)


def start(db, publisher, conf, design_ref, node_filter_doc, dry_run=False,
          created_by=None):
    """Create a deploy_nodes task and cast it; returns the task dict."""
    design, nodes, graph, metadata = plan(
        design_ref, node_filter_doc, policy_mod.Policy.from_conf(conf))
    limits.check_deployment(conf, serializer.vertex_count(graph))
    spec = serializer.graph_spec(design.get('deployment_tasks', []), nodes,
                                 design.get('roles'), graph)
    task_uuid = str(uuidlib.uuid4())
    # The same size as the message sent below: only the deadline differs.
    limits.check_message(conf, _request(conf, task_uuid, schemas.utcnow(),
                                        spec, dry_run, design_ref))
    if not dry_run:
        # A dry run writes no node: it registers, reserves and moves none.
        db.sync_nodes(design['nodes'], design_ref)
    history = [(vocabulary.wire_uid(uid), item['id'])
               for uid, items in graph.items() for item in items]
    del graph    # the largest object of a big deployment; not needed now
    task = db.start_task(
        {'uuid': task_uuid, 'action': 'deploy_nodes',
         'design_ref': design_ref, 'node_filter': node_filter_doc,
         'dry_run': dry_run, 'created_by': created_by,
         'graph': {'task_names': metadata['task_names'],
                   'graph_spec': spec}},
        # A dry run locks no node: it never touches one.
        [] if dry_run else [n['id'] for n in nodes], history,
        node_status=None if dry_run else 'deploying')
    with ending_on_failure(db, publisher, task):
        message = _request(conf, task['uuid'], task['created'], spec,
                           dry_run, design_ref)
        task = cast(db, publisher, task, message)
    LOG.info('Task %s (%s) queued: deploy of %d nodes, %d graph tasks',
             task['id'], task['uuid'], len(nodes), len(history))
    return task


class ending_on_failure:
    """Whatever fails after a task's row exists ends the task at once
    (failure, nodes released) and tells the executors to drop it, so no
    task waits for the reaper because its creation broke half-way. If
    even that cannot be written, the leader's reaper ends it
    (``requested`` for longer than ``[manager] executor_timeout``)."""

    def __init__(self, db, publisher, task):
        self.db, self.publisher, self.task = db, publisher, task

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, exception.WorkPlaneUnavailable):
            return False    # cast() ended it already
        LOG.error('Task %s failed while it was being created: %s: %s',
                  self.task['id'], kind.__name__, exc)
        reason = 'task creation failed: %s' % (
            exc.message if isinstance(exc, exception.DrydockException)
            else kind.__name__)
        try:
            self.db.finish_task(self.task['id'], 'failure',
                                'The task could not be created', reason)
        except Exception:  # noqa: BLE001 - the reaper ends it later
            LOG.exception('Task %s could not be ended; the reaper will end '
                          'it', self.task['id'])
            raise exception.DrydockException(
                'Task %s could not be created (%s); it will be ended within '
                '[manager] executor_timeout' % (self.task['id'], reason))
        _drop_everywhere(self.publisher, self.task)
        raise exception.DrydockException(
            'Task %s could not be created (%s); it was ended and its nodes '
            'released' % (self.task['id'], reason))


def _drop_everywhere(publisher, task):
    """Best effort: no executor may start a task that ended unrun (a
    publish that gave up may still have been delivered)."""
    try:
        publisher.to_executors(schemas.request('stop_deploy_task',
                                               task['uuid']))
    except Exception as exc:  # noqa: BLE001 - the executor's deadline and
        # fence still hold
        LOG.warning('Could not tell the executors to drop task %s: %s',
                    task['id'], exc)


def cast(db, publisher, task, message):
    """Cast committed work to the executors; a task that cannot be
    queued ends ``failure`` at once instead of waiting forever."""
    try:
        publisher.to_executor(message)
    except exception.WorkPlaneUnavailable as exc:
        LOG.error('Could not queue task %s: %s', task['id'], exc.message)
        db.finish_task(task['id'], 'failure',
                       'Could not queue the task for an executor',
                       reason=exc.message)
        _drop_everywhere(publisher, task)
        raise exception.WorkPlaneUnavailable(
            reason='task %s could not be queued within [DEFAULT] '
                   'publish_timeout (%gs)' % (task['id'],
                                              publisher.timeout))
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
