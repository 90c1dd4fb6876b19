"""Checks a deployment graph must pass before anything runs.

Every check returns problems as strings (``task X: ...``) instead of
raising, so the serializer can refuse a design with one error that names
every problem: an operator fixes the file in one pass.

Cycles are found twice. On the design's same-node ``requires`` (and
``required_for``) they are cycles whatever nodes are selected; they are
checked first because the serializer's expansion follows those edges. On
the placed graph, cycles can also come from ``cross_depends`` /
``cross_depended_by`` across nodes. A cycle is given as its path, read
"requires": ``a -> b -> a`` is "a requires b, which requires a". One cycle
is named per strongly connected component (a component holds every cycle
through its vertices, and fixing the named one is where to start).
"""

import collections

from drydockd.graph import strategy
from drydockd.graph.vocabulary import UNPLACED_TYPES
from drydockd.graph.vocabulary import roles_of

MAX_CYCLES = 10


def unknown_references(tasks):
    known = {t['id'] for t in tasks}
    problems = []
    for task in tasks:
        for key in ('requires', 'required_for'):
            for name in task.get(key) or ():
                if name not in known:
                    problems.append('task %s: %s unknown task %r'
                                    % (task['id'], key, name))
        for key in ('cross_depends', 'cross_depended_by'):
            for ref in task.get(key) or ():
                name = ref.get('name') if isinstance(ref, dict) else None
                if name not in known:
                    problems.append('task %s: %s unknown task %r'
                                    % (task['id'], key,
                                       name if name is not None else ref))
    return problems


def placement_problems(tasks, placed, scope='selected node'):
    """Tasks whose roles select no node and that are not optional.

    :param scope: what ``placed`` was computed on, for the message.
    """
    problems = []
    for task in tasks:
        if placed[task['id']] or task.get('optional') \
                or task.get('type') in UNPLACED_TYPES:
            continue
        roles = roles_of(task)
        if roles:
            problems.append(
                'task %s: no %s has role %s (mark the task optional: '
                'true to allow this)'
                % (task['id'], scope, ', '.join(str(r) for r in roles)))
        else:
            problems.append('task %s: no roles or groups' % task['id'])
    return problems


def strategy_problems(tasks):
    problems = []
    for task in tasks:
        params = task.get('parameters') or {}
        try:
            strategy.parse_limit(params.get('strategy'), 1)
        except ValueError as exc:
            problems.append('task %s: %s' % (task['id'], exc))
        for key in ('timeout', 'retries'):
            value = params.get(key)
            if value is not None and (isinstance(value, bool) or not
                                      isinstance(value, (int, float))
                                      or value < 0):
                problems.append('task %s: %s must be a non-negative number'
                                % (task['id'], key))
    return problems


def find_cycles(vertices, edges, render):
    """One rendered cycle path per cyclic strongly connected component.

    :param vertices: every vertex, in a stable order (the first vertex of
        a component in this order starts its path).
    :param edges: vertex -> iterable of the vertices it requires.
    :param render: vertex -> str.
    """
    order = {v: i for i, v in enumerate(vertices)}
    paths = []
    for component in _components(vertices, edges):
        members = set(component)
        start = min(component, key=order.__getitem__)
        if len(component) == 1 and start not in edges.get(start, ()):
            continue
        paths.append(' -> '.join(
            render(v) for v in _cycle_through(start, members, edges)))
    if len(paths) > MAX_CYCLES:
        paths[MAX_CYCLES:] = ['and %d more cycles' % (len(paths) - MAX_CYCLES)]
    return paths


def _cycle_through(start, members, edges):
    """Shortest path start -> ... -> start inside one component (BFS)."""
    parent, queue = {start: None}, collections.deque([start])
    while queue:
        vertex = queue.popleft()
        for child in edges.get(vertex, ()):
            if child == start:
                path = [vertex]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return list(reversed(path)) + [start]
            if child in members and child not in parent:
                parent[child] = vertex
                queue.append(child)
    return [start, start]   # unreachable for a cyclic component


def _components(vertices, edges):
    """Tarjan's strongly connected components, iteratively."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for root in vertices:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(edges.get(root, ())))]
        while work:
            vertex, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    break
                if child in on_stack:
                    low[vertex] = min(low[vertex], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[vertex])
                if low[vertex] == index[vertex]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == vertex:
                            break
                    found.append(component)
    return found


def placed_cycles(edges):
    """Cycles of a placed graph ``{(uid, name): [(uid, name), ...]}``.

    Kahn's algorithm first (linear); only the vertices it cannot order go
    through the component search.
    """
    indegree = dict.fromkeys(edges, 0)
    dependants = collections.defaultdict(list)
    for vertex, deps in edges.items():
        for dep in deps:
            if dep in indegree:
                indegree[vertex] += 1
                dependants[dep].append(vertex)
    ready = [v for v, n in indegree.items() if n == 0]
    while ready:
        for child in dependants[ready.pop()]:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    left = [v for v in edges if indegree[v] > 0]
    if not left:
        return []
    members = set(left)
    sub = {v: [d for d in edges[v] if d in members] for v in left}
    return find_cycles(left, sub, lambda v: '%s@%s' % (v[1], v[0]))
