"""Node filters after the Drydock task schema.

A filter set combines filters by ``filter_set_type``; within one filter,
every criterion given is applied by its ``filter_type``: ``intersection``
(all criteria) or ``union`` (any). Label maps match a node only when every
pair matches. ``node_names`` also matches node ids, so ``--nodes 5,6`` and
``--nodes node05`` both work.

The shape is owned by ``jsonschema/node-filter.json``; :func:`validate`
checks a filter against it before anything is recorded. A selection value
always names something: an empty list, string or map is refused, and so
is a node or rack name the design does not have, so no typo or unset
shell variable ever widens an action to nodes nobody named.
"""

import functools
import json
import os

from drydockd.common import exception
from drydockd.common import text

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), 'jsonschema',
                           'node-filter.json')
SET_TYPES = ('intersection', 'union')
CRITERIA = ('node_names', 'node_tags', 'node_labels', 'rack_names',
            'rack_labels', 'min_memory_mb', 'min_disk_bytes')
# Criteria on what the node's agent found (``inventory``, which the
# caller adds to the design's nodes); a node never inspected has none and
# matches none of them.
INVENTORY_CRITERIA = ('min_memory_mb', 'min_disk_bytes')
_TYPES = {'array': 'a list', 'object': 'an object (a map of key: value)',
          'string': 'a string'}
_JSON_NAMES = {str: 'a string', int: 'a number', float: 'a number',
               bool: 'a boolean', list: 'a list', dict: 'an object',
               type(None): 'null'}
_SHOWN = 60


@functools.lru_cache(maxsize=1)
def _validator():
    import jsonschema    # 0.1 s to import: only when a filter is given
    with open(SCHEMA_PATH) as f:
        schema = json.load(f)
    return jsonschema.Draft202012Validator(schema)


def _shown(value):
    """A caller's value as an error may quote it: short, one line."""
    out = repr(value)
    return out if len(out) <= _SHOWN else out[:_SHOWN - 3] + '...'


def _where(error):
    path = 'node_filter'
    for part in error.absolute_path:
        path += '[%d]' % part if isinstance(part, int) else '.%s' % part
    return path


def _says(error):
    """One schema error in words an operator can act on."""
    kind, value = error.validator, error.validator_value
    if kind == 'additionalProperties':
        known = sorted(error.schema.get('properties', {}))
        extra = sorted(set(error.instance) - set(known), key=str)
        return 'unknown field %s (valid: %s)' % (
            ', '.join(_shown(e) for e in extra), ', '.join(known))
    if kind == 'required':
        missing = [k for k in value if k not in error.instance]
        return 'missing %s' % ', '.join(missing)
    if kind == 'anyOf':
        return 'a filter needs at least one criterion (%s)' % ', '.join(
            CRITERIA)
    if kind == 'type':
        kinds = [value] if isinstance(value, str) else value
        return 'must be %s, not %s' % (' or '.join(
            _TYPES.get(k, k) for k in kinds),
            _JSON_NAMES.get(type(error.instance), 'that'))
    if kind == 'enum':
        return 'must be one of %s, not %s' % (
            ', '.join(value), _shown(error.instance))
    if kind in ('minItems', 'minLength', 'minProperties'):
        return ('is empty: name at least one (an empty selection never '
                'means every node)')
    if kind == 'maxLength':
        return 'is longer than %d characters' % value
    return error.message[:200]


def validate(node_filter):
    """Check a filter against the schema; returns it unchanged.

    ``None`` (no filter) is valid. :raises: InvalidInput naming the first
    field that is wrong, as ``node_filter.filter_set[0].node_names``.
    """
    if node_filter is None:
        return None
    errors = sorted(_validator().iter_errors(node_filter),
                    key=lambda e: (list(map(str, e.absolute_path)),
                                   e.validator))
    if errors:
        first = errors[0]
        raise exception.InvalidInput(
            reason='%s: %s' % (_where(first), _says(first)))
    for where, value in text.strings(node_filter, 'node_filter'):
        problem = text.unstorable(value)
        if problem:
            raise exception.InvalidInput(reason='%s: %s' % (where, problem))
    return node_filter


def _matches(criterion, value, node, racks):
    inventory = node.get('inventory') or {}
    if criterion == 'min_memory_mb':
        return (inventory.get('memory_mb') or -1) >= value
    if criterion == 'min_disk_bytes':
        return max((d['size_bytes'] for d in inventory.get('disks', ())),
                   default=-1) >= value
    if criterion == 'node_names':
        return node['name'] in value or str(node['id']) in value
    if criterion == 'node_tags':
        return bool(set(value) & set(node.get('tags', [])))
    if criterion == 'node_labels':
        labels = node.get('labels', {})
        return all(str(labels.get(k)) == str(v) for k, v in value.items())
    if criterion == 'rack_names':
        return node.get('rack') in value
    rack_labels = racks.get(node.get('rack'), {})
    return all(str(rack_labels.get(k)) == str(v) for k, v in value.items())


def uses_inventory(node_filter):
    """True if the filter selects on node inventories."""
    return any(c in flt for flt in (node_filter or {}).get('filter_set', ())
               for c in INVENTORY_CRITERIA)


def _check_known(index, flt, nodes, racks):
    """A node or rack name the design does not have is a typo."""
    known = {'node_names': {n['name'] for n in nodes}
             | {str(n['id']) for n in nodes},
             'rack_names': set(racks) | {n.get('rack') for n in nodes}}
    for criterion, names in known.items():
        unknown = [v for v in flt.get(criterion, ()) if v not in names]
        if unknown:
            raise exception.InvalidInput(
                reason='node_filter.filter_set[%d].%s: the design has no '
                       '%s %s' % (index, criterion, criterion.split('_')[0],
                                  ', '.join(map(_shown, unknown[:5]))))


def _apply_filter(flt, nodes, racks):
    given = [c for c in CRITERIA if c in flt]
    sets = [{n['name'] for n in nodes if _matches(c, flt[c], n, racks)}
            for c in given]
    if flt.get('filter_type', 'intersection') == 'intersection':
        return set.intersection(*sets)
    return set.union(*sets)


def select(node_filter, nodes, racks=None):
    """Nodes of ``nodes`` (design dicts) selected by ``node_filter``.

    ``None`` selects every node; whether an action may run on every node
    is the caller's rule. :raises: InvalidInput when the filter breaks the
    schema, names a node or rack the design lacks, or selects nothing.
    """
    if validate(node_filter) is None:
        return list(nodes)
    racks = racks or {}
    for index, flt in enumerate(node_filter['filter_set']):
        _check_known(index, flt, nodes, racks)
    sets = [_apply_filter(f, nodes, racks)
            for f in node_filter['filter_set']]
    if node_filter['filter_set_type'] == 'intersection':
        names = set.intersection(*sets)
    else:
        names = set.union(*sets)
    chosen = [n for n in nodes if n['name'] in names]
    if not chosen:
        raise exception.InvalidInput(reason='the node filter selects no node')
    return chosen
