"""Node filters: the Drydock document's example, every criterion, and
set algebra."""

import json

import hypothesis
import jsonschema
import pytest
from hypothesis import strategies as st

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
    one(node_labels={'type': 'physical', 'color': 'pink'}),
    {'filter_set_type': 'intersection', 'filter_set': [
        {'node_names': ['a']}, {'node_names': ['b']}]},
])
def test_empty_selection_is_refused(flt):
    with pytest.raises(exception.InvalidInput, match='selects no node'):
        node_filter.select(flt, NODES, RACKS)


@pytest.mark.parametrize('flt, message', [
    (one(node_names=['a', 'zzz']), r"filter_set\[0\].node_names: the design "
                                   r"has no node 'zzz'"),
    (one(rack_names=['r9']), r"filter_set\[0\].rack_names: the design has "
                             r"no rack 'r9'"),
])
def test_names_the_design_lacks_are_refused(flt, message):
    """A typo in one name of several never quietly narrows the action."""
    with pytest.raises(exception.InvalidInput, match=message):
        node_filter.select(flt, NODES, RACKS)


# Each case: the filter, and the field and complaint the one error names.
SCHEMA_CASES = [
    # A misspelled criterion used to be ignored: every node selected.
    (one(node_lables={'color': 'yellow'}),
     "node_filter.filter_set[0]: unknown field 'node_lables'"),
    # A string used to match by substring: "ab" selected a and b.
    (one(node_names='ab'),
     'node_filter.filter_set[0].node_names: must be a list, not a string'),
    # A list of k=v used to raise a raw AttributeError.
    (one(node_labels=['color=yellow']),
     'node_filter.filter_set[0].node_labels: must be an object'),
    # Empty selections used to select every node.
    (one(node_names=[]), 'node_filter.filter_set[0].node_names: is empty'),
    (one(node_names=['']), 'node_filter.filter_set[0].node_names[0]: is '
                           'empty'),
    (one(node_labels={}), 'node_filter.filter_set[0].node_labels: is empty'),
    ({'filter_set_type': 'union', 'filter_set': []},
     'node_filter.filter_set: is empty'),
    (one(), 'node_filter.filter_set[0]: a filter needs at least one '
            'criterion'),
    ({}, 'node_filter: missing filter_set_type, filter_set'),
    ({'filter_set': [{'node_names': ['a']}]},
     'node_filter: missing filter_set_type'),
    ('nodes', 'node_filter: must be an object'),
    ([], 'node_filter: must be an object'),
    ({'filter_set_type': 'xor', 'filter_set': [{'node_names': ['a']}]},
     'node_filter.filter_set_type: must be one of intersection, union'),
    (one('sometimes', node_names=['a']),
     'node_filter.filter_set[0].filter_type: must be one of'),
    ({'filter_set_type': 'union', 'filter_set': {}},
     'node_filter.filter_set: must be a list'),
    ({'filter_set_type': 'union', 'filter_set': ['a']},
     'node_filter.filter_set[0]: must be an object'),
    (one(node_names=[5]),
     'node_filter.filter_set[0].node_names[0]: must be a string, not a '
     'number'),
    (one(node_names=['a' * 256]),
     'node_filter.filter_set[0].node_names[0]: is longer than 255'),
    (one(node_labels={'color': None}),
     'node_filter.filter_set[0].node_labels.color: must be a string or '
     'number or boolean, not null'),
    (one(node_names=['a\x00']),
     'node_filter.filter_set[0].node_names[0]: contains a NUL character'),
    (one(node_labels={'k\ud800': 'v'}),
     'node_filter.filter_set[0].node_labels: is not valid Unicode text'),
    (dict(one(node_names=['a']), extra=1),
     "node_filter: unknown field 'extra'"),
]


@pytest.mark.parametrize('flt, message', SCHEMA_CASES,
                         ids=[m.split(':')[0] + ':' + m.split(':')[1][:20]
                              for _, m in SCHEMA_CASES])
def test_schema_errors_name_the_field(flt, message):
    with pytest.raises(exception.InvalidInput) as refused:
        node_filter.select(flt, NODES, RACKS)
    text = refused.value.message
    assert text.startswith('Invalid input: ' + message), text
    assert len(text.splitlines()) == 1 and len(text) < 300


def test_no_filter_selects_every_node_and_validates():
    assert node_filter.validate(None) is None
    assert names(None) == ['a', 'b', 'c']
    flt = one(node_names=['a'])
    assert node_filter.validate(flt) is flt


def test_the_schema_is_a_json_schema():
    with open(node_filter.SCHEMA_PATH) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema['$defs']['filter']['properties']) == {
        'filter_type', *node_filter.CRITERIA}


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
        return {n['name'] for n in node_filter.select(flt, nodes, RACKS)}
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


def test_inventory_criteria_match_what_the_agent_found():
    inventoried = [
        dict(NODES[0], inventory={'memory_mb': 4096, 'disks': [
            {'name': 'vda', 'size_bytes': 500}]}),
        dict(NODES[1], inventory={'memory_mb': 1024, 'disks': [
            {'name': 'vda', 'size_bytes': 100},
            {'name': 'vdb', 'size_bytes': 2000}]}),
        dict(NODES[2])]      # never inspected: matches no such criterion

    def chosen(**criteria):
        flt = one(**criteria)
        assert node_filter.uses_inventory(flt)
        return sorted(n['name'] for n in node_filter.select(
            flt, inventoried, RACKS))

    assert chosen(min_memory_mb=2048) == ['a']
    assert chosen(min_memory_mb=0) == ['a', 'b']
    assert chosen(min_disk_bytes=1000) == ['b']
    assert chosen(min_disk_bytes=100, min_memory_mb=2000) == ['a']
    assert chosen(filter_type='union', min_disk_bytes=1000,
                  min_memory_mb=2000) == ['a', 'b']
    with pytest.raises(exception.InvalidInput, match='selects no node'):
        chosen(min_memory_mb=1 << 20)
    with pytest.raises(exception.InvalidInput, match='min_memory_mb'):
        node_filter.validate(one(min_memory_mb=-1))
    assert not node_filter.uses_inventory(one(node_names=['a']))
