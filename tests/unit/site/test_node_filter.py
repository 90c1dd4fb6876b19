"""Node filters: the Drydock document's example, every criterion, and
set algebra."""

import hypothesis
from hypothesis import strategies as st
import pytest

from drydockd.common import exception
from drydockd.site import node_filter

NODES = [
    {'id': 1, 'name': 'a', 'labels': {'type': 'physical', 'color': 'blue'},
     'tags': ['ssd'], 'rack': 'r1'},
    {'id': 2, 'name': 'b', 'labels': {'type': 'virtual', 'color': 'yellow'},
     'tags': ['gpu', 'ssd'], 'rack': 'r2'},
    {'id': 3, 'name': 'c', 'labels': {'type': 'physical', 'color': 'yellow'},
     'tags': [], 'rack': 'r2'},
]
RACKS = {'r1': {'row': '1'}, 'r2': {'row': '2'}}


def names(flt):
    return sorted(n['name'] for n in node_filter.select(flt, NODES, RACKS))


def one(filter_type='intersection', **criteria):
    return {'filter_set_type': 'intersection',
            'filter_set': [dict(filter_type=filter_type, **criteria)]}


def test_drydock_document_example_gives_a_and_c():
    flt = {'filter_set': [
        {'filter_type': 'intersection',
         'node_labels': {'color': 'yellow', 'type': 'physical'}},
        {'filter_type': 'intersection', 'node_names': ['a']}],
        'filter_set_type': 'union'}
    assert names(flt) == ['a', 'c']


@pytest.mark.parametrize('flt, expected', [
    (one(node_names=['a', 'c']), ['a', 'c']),
    (one(node_names=['2']), ['b']),
    (one(node_tags=['gpu']), ['b']),
    (one(node_tags=['ssd']), ['a', 'b']),
    (one(node_labels={'type': 'physical'}), ['a', 'c']),
    (one(node_labels={'type': 'physical', 'color': 'blue'}), ['a']),
    (one(rack_names=['r2']), ['b', 'c']),
    (one(rack_labels={'row': '1'}), ['a']),
    (one(node_tags=['ssd'], rack_names=['r2']), ['b']),
    (one('union', node_tags=['gpu'], rack_names=['r1']), ['a', 'b']),
    (None, ['a', 'b', 'c']),
])
def test_each_criterion(flt, expected):
    assert names(flt) == expected


@pytest.mark.parametrize('flt', [
    one(node_names=['zzz']),
    one(node_labels={'type': 'physical', 'color': 'pink'}),
    {'filter_set_type': 'intersection', 'filter_set': [
        {'node_names': ['a']}, {'node_names': ['b']}]},
])
def test_empty_selection_is_refused(flt):
    with pytest.raises(exception.InvalidInput, match='selects no node'):
        node_filter.select(flt, NODES, RACKS)


@pytest.mark.parametrize('flt', [
    'nodes', {'filter_set_type': 'xor', 'filter_set': []},
    {'filter_set_type': 'union', 'filter_set': {}},
    one('sometimes', node_names=['a']), {'filter_set': ['a']},
])
def test_malformed_filters_are_refused(flt):
    with pytest.raises(exception.InvalidInput):
        node_filter.select(flt, NODES, RACKS)


# Random filters over a random inventory obey set algebra.
_names = [f'n{i}' for i in range(8)]
_inventory = st.lists(
    st.fixed_dictionaries({
        'tags': st.lists(st.sampled_from(['x', 'y', 'z']), unique=True),
        'rack': st.sampled_from(['r1', 'r2']),
        'labels': st.fixed_dictionaries({'k': st.sampled_from('ab')})}),
    min_size=len(_names), max_size=len(_names))
_criteria = st.one_of(
    st.fixed_dictionaries({'node_names': st.lists(st.sampled_from(_names),
                                                  min_size=1)}),
    st.fixed_dictionaries({'node_tags': st.lists(
        st.sampled_from(['x', 'y', 'z']), min_size=1)}),
    st.fixed_dictionaries({'rack_names': st.lists(
        st.sampled_from(['r1', 'r2']), min_size=1)}),
    st.fixed_dictionaries({'node_labels': st.fixed_dictionaries(
        {'k': st.sampled_from('ab')})}))


def _select(nodes, flt):
    try:
        return {n['name'] for n in node_filter.select(flt, nodes)}
    except exception.InvalidInput:
        return set()


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(_inventory, _criteria, _criteria)
def test_union_and_intersection_obey_set_algebra(inventory, f1, f2):
    nodes = [dict(spec, id=i + 1, name=name)
             for i, (name, spec) in enumerate(zip(_names, inventory))]
    a = _select(nodes, {'filter_set_type': 'union', 'filter_set': [f1]})
    b = _select(nodes, {'filter_set_type': 'union', 'filter_set': [f2]})
    union = _select(nodes, {'filter_set_type': 'union',
                            'filter_set': [f1, f2]})
    inter = _select(nodes, {'filter_set_type': 'intersection',
                            'filter_set': [f1, f2]})
    assert union == a | b
    assert inter == a & b
    # One filter whose criteria are combined as union/intersection.
    both = dict(f1, **f2) if not set(f1) & set(f2) else None
    if both:
        assert _select(nodes, {'filter_set_type': 'union', 'filter_set': [
            dict(both, filter_type='union')]}) == a | b
        assert _select(nodes, {'filter_set_type': 'union', 'filter_set': [
            dict(both, filter_type='intersection')]}) == a & b
