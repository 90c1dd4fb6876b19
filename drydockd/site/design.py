"""Site designs: load a ``design_ref`` and check it, every problem at once.

A design is YAML; docs/design.md describes it and ``jsonschema/design.json``
is its shape. Loading is fetch (site.fetch: bounded in time, size and
kind), parse (site.yamldoc: bounded expansion and depth, JSON data only)
and validation, and the result is cached by the digest of the fetched
bytes (site.cache), so the executor's per-message loads cost a fetch and a
copy.

Validation never stops at the first problem: operators fix a file in one
pass, so every problem is reported as ``document.field: problem``
(``node node05.oob.port: …``, ``deployment_task netconfig.requires: …``,
``design.deployment_tasks: cycle …``). Three layers, each always run:

1. the schema: unknown keys, types, ranges, at every level;
2. references: duplicate names and ids, unknown racks, roles and tasks;
3. the graph, on the part of the design that passed 1: strategies, fault
   tolerances, tasks whose roles select no node, and same-node cycles.
   Cycles that only appear once tasks are placed on nodes
   (``cross_depends``) need the whole placement, seconds for thousands of
   nodes; :func:`problems` (``drydock2 design validate``) looks for them,
   and so does every deployment before it runs (graph.serializer).
"""

from drydockd.common import exception
from drydockd.graph import serializer
from drydockd.graph import strategy
from drydockd.graph import validation as graph_checks
from drydockd.graph.vocabulary import MASTER
from drydockd.graph.vocabulary import UNPLACED_TYPES
from drydockd.site import cache as cache_mod
from drydockd.site import fetch as fetch_mod
from drydockd.site import policy as policy_mod
from drydockd.site import schema
from drydockd.site import yamldoc

MAX_DESIGN_BYTES = fetch_mod.MAX_DESIGN_BYTES
# Problems named in a DesignError; `drydock2 design validate` lists all.
MAX_PROBLEMS_IN_ERROR = 20

CACHE = cache_mod.DesignCache()
fetch = fetch_mod.fetch

# Section of the design -> (its documents' name, the key that names one).
SECTIONS = {'nodes': ('node', 'name'), 'racks': ('rack', 'name'),
            'roles': ('role', 'name'),
            'deployment_tasks': ('deployment_task', 'id')}
_RANK = {name: rank for rank, name in enumerate(SECTIONS, 1)}


def load(ref, timeout=fetch_mod.FETCH_TIMEOUT, policy=None):
    """Fetch, parse and validate a design; the caller's own copy.

    :param policy: the site's bounds (site.policy); None: none.
    :raises: InvalidInput when ``policy`` refuses the reference (nothing
        is fetched); DesignError naming the reference and the problems.
    """
    policy = policy or policy_mod.OPEN
    data = fetch_mod.fetch(policy.resolve(ref), timeout)
    key = _key(data, policy)
    doc = CACHE.get(key)
    if doc is not None:
        return doc
    try:
        doc = yamldoc.parse(data)
    except yamldoc.ParseError as exc:
        raise exception.DesignError(ref=fetch_mod.safe_ref(ref),
                                    reason=str(exc))
    found = validate(doc, policy)
    if found:
        shown = found[:MAX_PROBLEMS_IN_ERROR]
        if len(found) > len(shown):
            shown.append('and %d more problems (drydock2 design validate '
                         'lists them all)' % (len(found) - len(shown)))
        raise exception.DesignError(ref=fetch_mod.safe_ref(ref),
                                    reason='; '.join(shown))
    CACHE.put(key, doc)
    return doc


def _key(data, policy):
    """Validity depends on the bytes and on what the policy lets run."""
    return cache_mod.digest(data) + '/' + policy.key


def problems(ref, policy=None):
    """Every problem of the design at ``ref`` (empty when valid), placed
    cycles included.

    :raises: InvalidInput when ``policy`` refuses the reference.
    """
    policy = policy or policy_mod.OPEN
    target = policy.resolve(ref)
    try:
        data = fetch_mod.fetch(target)
    except exception.DesignError as exc:
        return [exc.message]
    key = _key(data, policy)
    doc = CACHE.get(key)
    if doc is None:
        try:
            doc = yamldoc.parse(data)
        except yamldoc.ParseError as exc:
            return ['design: %s' % exc]
    checked = _Check(doc, policy)
    found = checked.run()
    if not found:
        CACHE.put(key, doc)
    if checked.graph is not None:
        tasks, nodes = checked.graph
        found.extend('design.deployment_tasks: cycle %s' % path
                     for path in serializer.placed_cycles(tasks, nodes))
    return found


def validate(doc, policy=None):
    """Every problem of a parsed design but placed cycles, as
    ``document.field: problem`` strings in document order."""
    return _Check(doc, policy or policy_mod.OPEN).run()


class _Check:
    """One validation run; ``graph`` is then ``(tasks, nodes)`` of the
    well-formed part, free of same-node cycles, or None."""

    def __init__(self, doc, policy):
        self.doc = doc
        self.policy = policy
        self.found = []         # (sort key, text)
        self.bad = set()        # (section, index) with a schema problem
        self.flagged = set()    # paths with a problem
        self.graph = None

    def run(self):
        if not isinstance(self.doc, dict):
            return ['design: the top level must be a mapping']
        for path, text in schema.problems(self.doc):
            self.add(path, text)
            if len(path) >= 2 and path[0] in SECTIONS:
                self.bad.add(path[:2])
        node_roles = self._nodes()
        racks = self._names('racks')
        self._names('roles')
        self._rack_refs(racks)
        self._roles()
        self._tasks(node_roles)
        self.found.sort(key=lambda item: item[0])
        return [text for _, text in self.found]

    # -- helpers ---------------------------------------------------------

    def add(self, path, text, rank=None):
        self.flagged.add(tuple(path))
        section = path[0] if path and path[0] in SECTIONS else None
        index = path[1] if section and len(path) > 1 and \
            isinstance(path[1], int) else -1
        self.found.append(((rank or _RANK.get(section, 0), index),
                           '%s: %s' % (self.where(path), text)))

    def where(self, path):
        section = path[0] if path else None
        if section in SECTIONS and len(path) > 1 and \
                isinstance(path[1], int):
            kind, key = SECTIONS[section]
            item = self.doc[section][path[1]]
            name = item.get(key) if isinstance(item, dict) else \
                item if section == 'roles' else None
            if isinstance(name, str) and name:
                head = '%s %s' % (kind, name)
            else:
                head = '%s[%d]' % (kind, path[1])
            rest = path[2:]
        else:
            head, rest = 'design', path
        return head + ''.join('[%d]' % p if isinstance(p, int) else '.%s' % p
                              for p in rest)

    def items(self, section, good_only=False):
        """``(index, item)`` of a section's mappings."""
        items = self.doc.get(section)
        if not isinstance(items, list):
            return []
        return [(i, item) for i, item in enumerate(items)
                if isinstance(item, dict)
                and not (good_only and (section, i) in self.bad)]

    @staticmethod
    def field(item, key, kind):
        value = item.get(key)
        return value if isinstance(value, kind) and \
            not isinstance(value, bool) else None

    # -- references -------------------------------------------------------

    def _nodes(self):
        """Duplicate names and ids; returns every role a node has."""
        names, ids, roles, macs = set(), set(), set(), set()
        for i, node in self.items('nodes'):
            boot = node.get('boot')
            mac = boot.get('mac') if isinstance(boot, dict) else None
            if isinstance(mac, str):
                if mac.lower() in macs:
                    self.add(('nodes', i, 'boot', 'mac'),
                             'duplicate MAC %s' % mac)
                macs.add(mac.lower())
            name = self.field(node, 'name', str)
            if name is not None and name in names:
                self.add(('nodes', i, 'name'), 'duplicate node name')
            names.add(name)
            nid = node.get('id')
            if isinstance(nid, float) and ('nodes', i, 'id') not in \
                    self.flagged:           # JSON Schema's 1.0 is 1
                self.add(('nodes', i, 'id'), 'must be %s' % schema.rule(
                    'definitions', 'node', 'properties', 'id'))
            elif isinstance(nid, int) and not isinstance(nid, bool):
                if nid in ids:
                    self.add(('nodes', i, 'id'), 'duplicate node id %d' % nid)
                ids.add(nid)
            node_roles = node.get('roles')
            if isinstance(node_roles, list):
                roles.update(r for r in node_roles if isinstance(r, str))
        return roles

    def _names(self, section):
        """Duplicate names in racks or roles; returns the names."""
        names = set()
        items = self.doc.get(section)
        for i, item in enumerate(items if isinstance(items, list) else ()):
            name = item.get('name') if isinstance(item, dict) else item
            if not isinstance(name, str):
                continue
            if name in names:
                self.add((section, i) + (('name',) if isinstance(
                    item, dict) else ()), 'duplicate %s name'
                    % SECTIONS[section][0])
            names.add(name)
        return names

    def _rack_refs(self, racks):
        """A node's rack must be a declared one, when racks are declared."""
        if not isinstance(self.doc.get('racks'), list):
            return
        for i, node in self.items('nodes'):
            rack = self.field(node, 'rack', str)
            if rack is not None and rack not in racks:
                self.add(('nodes', i, 'rack'), 'unknown rack %r (racks: %s)'
                         % (rack, ', '.join(sorted(racks)) or 'none'))

    def _roles(self):
        for i, role in self.items('roles', good_only=True):
            value = role.get('fault_tolerance')
            if value is None:
                continue
            try:
                serializer.tolerance_count(value, 1)
            except ValueError as exc:
                self.add(('roles', i, 'fault_tolerance'), str(exc))

    def _tasks(self, node_roles):
        roles = self.doc.get('roles')
        names = [r.get('name') if isinstance(r, dict) else r
                 for r in (roles if isinstance(roles, list) else ())]
        declared = {r for r in names if isinstance(r, str)}
        known_roles = node_roles | declared | {'*', MASTER}
        tasks = self.items('deployment_tasks')
        ids = {t['id'] for _, t in tasks if isinstance(t.get('id'), str)}
        seen, good = set(), []
        for i, task in tasks:
            tid = task.get('id')
            duplicate = isinstance(tid, str) and tid in seen
            if duplicate:
                self.add(('deployment_tasks', i, 'id'), 'duplicate task id')
            seen.add(tid if isinstance(tid, str) else None)
            unknown = self._task_refs(i, task, known_roles, ids)
            refused = self.policy.design_problems(task)
            if refused is not None:
                self.add(('deployment_tasks', i, refused[0]), refused[1])
            if ('deployment_tasks', i) not in self.bad and not duplicate:
                good.append((i, task, unknown))
        self._graph(good, self._graph_nodes())

    def _graph_nodes(self):
        """The nodes tasks can be placed on: each with a numeric id (the
        first of duplicates) and roles that are a list of names, whatever
        else is wrong with it, so one bad field does not hide its roles."""
        nodes, ids = [], set()
        for _, node in self.items('nodes'):
            nid, roles = node.get('id'), node.get('roles', [])
            if type(nid) not in (int, float) or nid in ids or \
                    not isinstance(roles, list) or \
                    not all(isinstance(r, str) for r in roles):
                continue
            ids.add(nid)
            nodes.append(node)
        return nodes

    def _task_refs(self, i, task, known_roles, ids):
        """Unknown roles and tasks; returns whether a role was unknown."""
        unknown = False
        for key in ('roles', 'groups'):
            wanted = task.get(key)
            for role in [wanted] if isinstance(wanted, str) else \
                    wanted if isinstance(wanted, list) else ():
                if isinstance(role, str) and role not in known_roles:
                    self.add(('deployment_tasks', i, key),
                             'unknown role %r' % role)
                    unknown = True
        for key in ('requires', 'required_for'):
            deps = task.get(key)
            for dep in deps if isinstance(deps, list) else ():
                if isinstance(dep, str) and dep not in ids:
                    self.add(('deployment_tasks', i, key),
                             'unknown task %r' % dep)
        for key in ('cross_depends', 'cross_depended_by'):
            refs = task.get(key)
            for ref in refs if isinstance(refs, list) else ():
                name = ref.get('name') if isinstance(ref, dict) else None
                if isinstance(name, str) and name not in ids:
                    self.add(('deployment_tasks', i, key),
                             'unknown task %r' % name)
        return unknown

    # -- the graph --------------------------------------------------------

    def _graph(self, good, nodes):
        """Strategies, placement and same-node cycles of the good tasks."""
        for i, task, unknown_role in good:
            params = task.get('parameters') or {}
            try:
                strategy.parse_limit(params.get('strategy'), 1)
            except ValueError as exc:
                self.add(('deployment_tasks', i, 'parameters', 'strategy'),
                         str(exc))
            if unknown_role or task.get('optional') or \
                    task.get('type') in UNPLACED_TYPES:
                continue
            placed = {task['id']: serializer.place(task, nodes)}
            prefix = 'task %s: ' % task['id']
            key = 'groups' if 'roles' not in task and 'groups' in task \
                else 'roles'
            for text in graph_checks.placement_problems(
                    [task], placed, 'node in the design'):
                self.add(('deployment_tasks', i, key),
                         text.removeprefix(prefix))
        tasks = [task for _, task, _ in good]
        cycles = serializer.same_node_cycles(tasks)
        for path in cycles:
            self.add(('deployment_tasks',), 'cycle %s' % path,
                     rank=len(_RANK) + 1)
        if not cycles:
            self.graph = (tasks, nodes)
