"""Turn a design's deployment tasks into an Astute-style ``tasks_graph``.

Placement: ``stage``/``sync`` tasks go on the sync pseudo-node (key
``"null"``), ``master_shell`` tasks and tasks for role ``master`` go on
``"master"``, other tasks on every selected node that has one of their
roles (``*`` is every node). Each placed task lists what it ``requires``
as ``{name, node_id}`` pairs, so the executor needs no knowledge of roles.
"""

from drydockd.common import exception

SYNC = 'null'      # key of the sync pseudo-node in tasks_graph
MASTER = 'master'
SYNC_TYPES = ('stage', 'sync')


def _roles(task):
    return task.get('roles', task.get('groups', [])) or []


def place(task, nodes):
    """The tasks_graph keys a task definition runs on."""
    if task['type'] in SYNC_TYPES:
        return [SYNC]
    roles = _roles(task)
    if task['type'] == 'master_shell' or roles == [MASTER]:
        return [MASTER]
    if isinstance(roles, str):
        roles = [roles]
    return [str(n['id']) for n in nodes
            if '*' in roles or set(roles) & set(n.get('roles', []))]


def serialize(tasks, nodes):
    """Return ``(tasks_graph, tasks_metadata)`` for the selected nodes.

    :raises: GraphCycle naming the cycle's path.
    """
    by_id = {t['id']: t for t in tasks}
    placed = {t['id']: place(t, nodes) for t in tasks}
    role_of = {str(n['id']): set(n.get('roles', [])) for n in nodes}
    requires = {t['id']: set(t.get('requires', []) or []) for t in tasks}
    for task in tasks:
        for later in task.get('required_for', []) or []:
            requires.setdefault(later, set()).add(task['id'])
    graph = {}
    for task in tasks:
        for uid in placed[task['id']]:
            deps = []
            for dep in sorted(requires.get(task['id'], ())):
                deps.extend(_dep_targets(uid, dep, by_id[dep], placed[dep]))
            for cross in task.get('cross_depends', []) or []:
                deps.extend(
                    {'name': cross['name'], 'node_id': target}
                    for target in placed[cross['name']]
                    if target != uid and _has_role(target, cross, role_of))
            graph.setdefault(uid, []).append({
                'id': task['id'], 'type': task['type'],
                'parameters': dict(task.get('parameters', {}) or {}),
                'fail_on_error': task.get('fail_on_error', True),
                'requires': deps})
    check_acyclic(graph)
    return graph, {'task_names': [t['id'] for t in tasks]}


def _dep_targets(uid, name, dep_task, dep_nodes):
    """Where a same-node ``requires`` points: the same node if the
    dependency runs there, else the sync/master placement (a stage), else
    nothing (the dependency does not run for this node's roles)."""
    if uid in dep_nodes:
        return [{'name': name, 'node_id': uid}]
    if uid in (SYNC, MASTER) or dep_task['type'] in SYNC_TYPES \
            or dep_nodes == [MASTER]:
        return [{'name': name, 'node_id': target} for target in dep_nodes]
    return []


def _has_role(target, cross, role_of):
    role = cross.get('role', '*')
    if role in ('*', None) or target in (SYNC, MASTER):
        return True
    roles = [role] if isinstance(role, str) else role
    return bool(role_of.get(target, set()) & set(roles))


def check_acyclic(graph):
    """Raise GraphCycle with the path of the first cycle found."""
    state = {}
    edges = {(uid, t['id']): [(d['node_id'], d['name'])
                              for d in t['requires']]
             for uid, items in graph.items() for t in items}
    for start in edges:
        if state.get(start):
            continue
        stack, path = [(start, iter(edges[start]))], [start]
        state[start] = 1
        while stack:
            vertex, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[vertex] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                cycle = path[path.index(child):] + [child]
                raise exception.GraphCycle(path=' -> '.join(
                    '%s@%s' % (name, node) for node, name in cycle))
            elif not state.get(child) and child in edges:
                state[child] = 1
                stack.append((child, iter(edges[child])))
                path.append(child)
