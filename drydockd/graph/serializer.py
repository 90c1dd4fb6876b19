"""Turn a design's deployment tasks into an Astute-style ``tasks_graph``.

Placement: ``stage``/``sync`` tasks go on the sync pseudo-node (key
``"null"``); ``master_shell`` tasks and tasks with role ``master`` on
``"master"``; other tasks on every selected node that has one of their
roles (``*`` is every selected node). Each placed item lists what it
``requires`` as ``{name, node_id}`` pairs (``node_id`` null is the sync
node), so the executor needs no knowledge of roles:

- ``requires`` / ``required_for`` (same node): on the node itself when the
  dependency runs there; on the sync node or master when the dependency is
  placed there; on every node running it when the dependant is on the sync
  node or master; otherwise the dependency does not run for this node's
  roles and the edge passes through to *its* requirements, so the order
  the design states still holds on every node.
- ``cross_depends: [{name, role}]``: the task waits for ``name`` on every
  node running it that has ``role`` (``*``/absent: any; ``self``: one of
  the task's own roles; a sync or master placement always matches), the
  same node included, the vertex itself excluded.
- ``cross_depended_by: [{name, role}]``: the reverse: ``name`` on every
  such node waits for this task.

``tasks_metadata`` holds ``task_names`` (every design task id),
``fault_tolerance_groups`` (Astute's ``[{name, node_ids, fault_tolerance}]``
from design roles with a ``fault_tolerance``: a count, or a percentage of
the role's selected nodes rounded down) and ``node_facts`` (per node uid:
id, name, roles, rack and the optional ``ssh`` mapping, for transports).

Nothing is returned for a graph that cannot run: see graph.validation.

Work messages carry the graph as its spec (``graph_spec``): the design's
deployment tasks, the selected nodes' facts and the design's roles, a few
hundred kilobytes where the expanded graph of 5,000 nodes x 50 tasks is
about 40 MB. The executor runs ``expand`` on it, the same code the manager
ran, and checks the result against the vertex count and digest the
manager computed, so a manager and an executor of different versions can
never disagree silently about the history rows (docs/decisions.md).
"""

import hashlib
import math

from drydockd.common import exception
from drydockd.graph import validation as checks
from drydockd.graph.vocabulary import MASTER
from drydockd.graph.vocabulary import SYNC
from drydockd.graph.vocabulary import SYNC_TYPES
from drydockd.graph.vocabulary import roles_of


def place(task, nodes):
    """The tasks_graph keys a task definition runs on."""
    if task.get('type') in SYNC_TYPES:
        return [SYNC]
    if task.get('type') == 'master_shell':
        return [MASTER]
    roles = set(roles_of(task))
    placed = [MASTER] if MASTER in roles else []
    roles.discard(MASTER)
    if roles:
        placed.extend(str(n['id']) for n in nodes
                      if '*' in roles or roles & set(n.get('roles') or ()))
    return placed


def serialize(tasks, nodes, roles=None, design_nodes=None):
    """Return ``(tasks_graph, tasks_metadata)`` for the selected nodes.

    :param tasks: the design's ``deployment_tasks``.
    :param nodes: the selected design nodes.
    :param roles: the design's top-level ``roles`` (names, or mappings
        ``{name, fault_tolerance}``).
    :param design_nodes: every node of the design. A task that is not
        ``optional`` and whose roles select no node is a problem; with
        ``design_nodes`` that is judged on the whole design, so a node
        filter (a partial deploy) just leaves other roles' tasks out;
        without it, on the selected nodes.
    :raises: GraphCycle when cycles are the only problems (every cycle's
        path); GraphInvalid naming every problem otherwise.
    """
    known = {t['id'] for t in tasks}
    problems = checks.unknown_references(tasks)
    placed = {t['id']: place(t, nodes) for t in tasks}
    if design_nodes is None:
        problems.extend(checks.placement_problems(tasks, placed))
    else:
        problems.extend(checks.placement_problems(tasks, {
            t['id']: place(t, design_nodes) for t in tasks},
            'node in the design'))
    problems.extend(checks.strategy_problems(tasks))
    groups = fault_tolerance_groups(roles, nodes, problems)
    requires = _same_node_requires(tasks, known)
    cycles = checks.find_cycles([t['id'] for t in tasks], requires, str)
    graph = {}
    if not cycles:
        edges = _expand(tasks, nodes, placed, requires, known)
        cycles = checks.placed_cycles(edges)
        graph = _items(tasks, placed, edges)
    if problems:
        raise exception.GraphInvalid(problems='; '.join(
            problems + ['cycle %s' % path for path in cycles]))
    if cycles:
        raise exception.GraphCycle(path='; '.join(cycles))
    return graph, _metadata(tasks, groups, nodes)


def _metadata(tasks, groups, nodes):
    return {'task_names': [t['id'] for t in tasks],
            'fault_tolerance_groups': groups,
            'node_facts': node_facts(nodes)}


SPEC_VERSION = 1


def graph_spec(tasks, nodes, roles, graph):
    """The compact form of ``graph`` (what ``serialize(tasks, nodes,
    roles)`` returned) that work messages carry.

    Nodes travel as their facts (never OOB data); ``vertices`` and
    ``digest`` let the executor check its expansion.
    """
    return {'version': SPEC_VERSION, 'deployment_tasks': list(tasks),
            'nodes': list(node_facts(nodes).values()),
            'roles': list(roles or ()), 'vertices': vertex_count(graph),
            'digest': digest(graph)}


def expand(spec):
    """``(tasks_graph, tasks_metadata)`` from a ``graph_spec``.

    The manager validated the graph before it sent the spec, so nothing
    is checked again but the outcome: the same vertices as the manager's.

    :raises: GraphInvalid for an unknown spec version or an expansion
        that differs from the manager's.
    """
    if spec.get('version') != SPEC_VERSION:
        raise exception.GraphInvalid(
            problems='graph_spec version %r is not %d: manager and '
                     'executor versions differ' % (spec.get('version'),
                                                   SPEC_VERSION))
    tasks, nodes = spec['deployment_tasks'], spec['nodes']
    known = {t['id'] for t in tasks}
    placed = {t['id']: place(t, nodes) for t in tasks}
    edges = _expand(tasks, nodes, placed, _same_node_requires(tasks, known),
                    known)
    graph = _items(tasks, placed, edges)
    groups = fault_tolerance_groups(spec.get('roles'), nodes, [])
    if (vertex_count(graph), digest(graph)) != (spec.get('vertices'),
                                                spec.get('digest')):
        raise exception.GraphInvalid(
            problems='expanding graph_spec gave %d node tasks, not the %s '
                     'the manager wrote history rows for: manager and '
                     'executor versions differ' % (vertex_count(graph),
                                                   spec.get('vertices')))
    return graph, _metadata(tasks, groups, nodes)


def vertex_count(graph):
    """Node tasks (rows of the history) in a tasks_graph."""
    return sum(len(items) for items in graph.values())


def digest(graph):
    """A fingerprint of a tasks_graph's vertices, in order."""
    sha = hashlib.sha256()
    for uid, items in graph.items():
        for item in items:
            sha.update(('%s\0%s\n' % (uid, item['id'])).encode())
    return sha.hexdigest()


def same_node_cycles(tasks):
    """Cycles of the design's own ``requires``/``required_for`` (on one
    node): cycles whatever nodes are selected. Cheap: tasks only."""
    requires = _same_node_requires(tasks, {t['id'] for t in tasks})
    return checks.find_cycles([t['id'] for t in tasks], requires, str)


def placed_cycles(tasks, nodes):
    """Cycles that appear once the tasks are placed on ``nodes``
    (``cross_depends`` across nodes). Costs a placement of the whole
    graph; only meaningful when :func:`same_node_cycles` found none."""
    known = {t['id'] for t in tasks}
    requires = _same_node_requires(tasks, known)
    placed = {t['id']: place(t, nodes) for t in tasks}
    return checks.placed_cycles(_expand(tasks, nodes, placed, requires,
                                        known))


def _same_node_requires(tasks, known):
    """task id -> ids it requires on the same node (required_for folded
    in, unknown names dropped: they are reported separately)."""
    requires = {t['id']: [r for r in t.get('requires') or () if r in known]
                for t in tasks}
    for task in tasks:
        for later in task.get('required_for') or ():
            if later in known and task['id'] not in requires[later]:
                requires[later].append(task['id'])
    return requires


def _expand(tasks, nodes, placed, requires, known):
    """The placed edges: ``{(uid, task): {(uid, task): None}}`` (ordered
    sets, so the output is stable)."""
    edges = {(uid, t['id']): {} for t in tasks for uid in placed[t['id']]}
    resolve = _resolver(placed, requires)
    for task in tasks:
        for uid in placed[task['id']]:
            deps = edges[(uid, task['id'])]
            for dep in requires[task['id']]:
                deps.update(dict.fromkeys(resolve(dep, uid)))
    role_of = {str(n['id']): set(n.get('roles') or ()) for n in nodes}
    for task in tasks:
        _cross_edges(task, placed, role_of, known, edges)
    return edges


def _resolver(placed, requires):
    """``resolve(dep, uid)``: the vertices a task on ``uid`` waits for when
    it requires ``dep`` (memoized; the design's requires are acyclic)."""
    memo = {}
    on = {name: set(where) for name, where in placed.items()}
    special = {name for name, where in on.items()
               if where and where <= {SYNC, MASTER}}

    def resolve(dep, uid):
        key = (dep, uid)
        if key not in memo:
            where = placed[dep]
            if uid in on[dep]:
                memo[key] = [(uid, dep)]
            elif where and (uid in (SYNC, MASTER) or dep in special):
                memo[key] = [(target, dep) for target in where]
            else:   # not run for this node's roles: pass through
                memo[key] = [t for d in requires[dep] for t in resolve(d, uid)]
        return memo[key]
    return resolve


def _cross_edges(task, placed, role_of, known, edges):
    mine = [(uid, task['id']) for uid in placed[task['id']]]
    for ref in _refs(task, 'cross_depends', known):
        targets = _cross_targets(ref, task, placed, role_of)
        for vertex in mine:
            edges[vertex].update((t, None) for t in targets if t != vertex)
    for ref in _refs(task, 'cross_depended_by', known):
        for target in _cross_targets(ref, task, placed, role_of):
            for vertex in mine:
                if target != vertex:
                    edges[target][vertex] = None


def _refs(task, key, known):
    return [r for r in task.get(key) or ()
            if isinstance(r, dict) and r.get('name') in known]


def _cross_targets(ref, task, placed, role_of):
    """``(uid, ref name)`` for every node running ``ref['name']`` that
    matches ``ref['role']``."""
    role = ref.get('role', '*')
    if role == 'self':
        wanted = set(roles_of(task))
    else:
        wanted = {role} if isinstance(role, str) or role is None \
            else set(role)
    any_role = not wanted or bool(wanted & {'*', None})
    return [(uid, ref['name']) for uid in placed[ref['name']]
            if any_role or uid in (SYNC, MASTER)
            or wanted & role_of.get(uid, set())]


def _items(tasks, placed, edges):
    graph = {}
    for task in tasks:
        for uid in placed[task['id']]:
            graph.setdefault(uid, []).append({
                'id': task['id'], 'type': task['type'],
                'parameters': dict(task.get('parameters') or {}),
                'fail_on_error': task.get('fail_on_error', True) is not False,
                'requires': [
                    {'name': name, 'node_id': None if node == SYNC else node}
                    for node, name in edges[(uid, task['id'])]]})
    return graph


def fault_tolerance_groups(roles, nodes, problems):
    """Astute's fault-tolerance groups from the design's roles.

    A role ``{name, fault_tolerance}`` covers the selected nodes with that
    role; ``fault_tolerance`` is how many of them may fail: a non-negative
    integer, or ``'N%'`` of the group rounded down (so ``'20%'`` of four
    nodes is 0: every node is critical). Roles with no selected node give
    no group. Malformed values are appended to ``problems``.
    """
    groups = []
    for role in roles or ():
        if not isinstance(role, dict) or role.get('fault_tolerance') is None:
            continue
        name = role.get('name')
        members = [str(n['id']) for n in nodes
                   if name in (n.get('roles') or ())]
        try:
            count = tolerance_count(role['fault_tolerance'], len(members))
        except ValueError as exc:
            problems.append('role %s: fault_tolerance %s' % (name, exc))
            continue
        if members:
            groups.append({'name': name, 'node_ids': members,
                           'fault_tolerance': count})
    return groups


def tolerance_count(value, size):
    """``2`` -> 2, ``'20%'`` of ``size`` -> floor; raises ValueError."""
    if isinstance(value, str) and value.strip().endswith('%'):
        try:
            percent = float(value.strip()[:-1])
        except ValueError:
            raise ValueError('%r is not a percentage' % value)
        if not 0 <= percent <= 100:
            raise ValueError('%r is not in 0-100%%' % value)
        return math.floor(size * percent / 100)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError('%r is not a count or a percentage' % (value,))
    return value


def node_facts(nodes):
    """What a transport may tell a node about itself (never OOB data)."""
    facts = {}
    for node in nodes:
        fact = {'id': node['id'], 'name': node.get('name'),
                'roles': list(node.get('roles') or ()),
                'rack': node.get('rack')}
        if isinstance(node.get('ssh'), dict):
            fact['ssh'] = dict(node['ssh'])
        facts[str(node['id'])] = fact
    return facts
