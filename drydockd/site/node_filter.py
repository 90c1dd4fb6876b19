"""Node filters after the Drydock task schema.

A filter set combines filters by ``filter_set_type``; within one filter,
every criterion given is applied by its ``filter_type``: ``intersection``
(all criteria) or ``union`` (any). Label maps match a node only when every
pair matches. ``node_names`` also matches node ids, so ``--nodes 5,6`` and
``--nodes node05`` both work.
"""

from drydockd.common import exception

SET_TYPES = ('intersection', 'union')
CRITERIA = ('node_names', 'node_tags', 'node_labels', 'rack_names',
            'rack_labels')


def _matches(criterion, value, node, racks):
    if criterion == 'node_names':
        return node['name'] in value or str(node['id']) in map(str, value)
    if criterion == 'node_tags':
        return bool(set(value) & set(node.get('tags', [])))
    if criterion == 'node_labels':
        labels = node.get('labels', {})
        return all(str(labels.get(k)) == str(v) for k, v in value.items())
    if criterion == 'rack_names':
        return node.get('rack') in value
    rack_labels = racks.get(node.get('rack'), {})
    return all(str(rack_labels.get(k)) == str(v) for k, v in value.items())


def _apply_filter(flt, nodes, racks):
    if not isinstance(flt, dict):
        raise exception.InvalidInput(reason='a filter must be an object')
    kind = flt.get('filter_type', 'intersection')
    if kind not in SET_TYPES:
        raise exception.InvalidInput(
            reason='filter_type must be one of %s' % ', '.join(SET_TYPES))
    given = [c for c in CRITERIA if flt.get(c)]
    if not given:
        return {n['name'] for n in nodes}
    sets = [{n['name'] for n in nodes if _matches(c, flt[c], n, racks)}
            for c in given]
    return set.intersection(*sets) if kind == 'intersection' \
        else set.union(*sets)


def select(node_filter, nodes, racks=None):
    """Nodes of ``nodes`` (design dicts) selected by ``node_filter``.

    ``None`` selects every node. :raises: InvalidInput when malformed or
    when nothing is selected.
    """
    if not node_filter:
        return list(nodes)
    if not isinstance(node_filter, dict):
        raise exception.InvalidInput(reason='node_filter must be an object')
    kind = node_filter.get('filter_set_type', 'intersection')
    filters = node_filter.get('filter_set', [])
    if kind not in SET_TYPES or not isinstance(filters, list):
        raise exception.InvalidInput(
            reason='node_filter needs filter_set_type (%s) and a '
                   'filter_set list' % ', '.join(SET_TYPES))
    sets = [_apply_filter(f, nodes, racks or {}) for f in filters]
    if not sets:
        names = {n['name'] for n in nodes}
    elif kind == 'intersection':
        names = set.intersection(*sets)
    else:
        names = set.union(*sets)
    chosen = [n for n in nodes if n['name'] in names]
    if not chosen:
        raise exception.InvalidInput(reason='the node filter selects no node')
    return chosen
