"""The design's JSON Schema and the loader agree.

Each case changes one field of a valid design (or adds a key) and asks the
schema file, through the reference validator (jsonschema, not the
loader's compiled fast path), whether it accepts the result:

- accepted: the loader reports nothing at that field, and where the field
  has no cross-reference rules, the design loads;
- refused: the loader reports a problem at that field (or inside it).
"""

import copy
import json

import jsonschema
import pytest
import yaml

from drydockd.site import design
from drydockd.site import schema

with open(schema.PATH) as _f:
    SCHEMA = json.load(_f)
REFERENCE = jsonschema.Draft7Validator(
    SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)

VALUES = [None, '', 'x', 'a' * 256, 'BAD NAME', 0, -1, 1, 7, 70000, 2 ** 31,
          1.5, True, [], ['x'], [5], {}, {'k': 'v'}, {'k': []},
          '10.0.0.300', '10.0.0.7', '::1', '20%', '150%', 'one_by_one',
          'shell', 'ipmi']


def base():
    return {
        'x-notes': 'anchors and notes live here',
        'nodes': [
            {'id': 1, 'name': 'node01', 'roles': ['controller'],
             'rack': 'r1', 'labels': {'zone': 'a'}, 'tags': ['ssd'],
             'oob': {'type': 'ipmi', 'address': '10.0.0.1', 'port': 623,
                     'account': 'admin', 'credential': 'pw'},
             'ssh': {'host': 'node01.example', 'port': 22, 'user': 'root'}},
            {'id': 2, 'name': 'node02', 'roles': ['compute'], 'rack': 'r1'}],
        'racks': [{'name': 'r1', 'labels': {'row': 1}}],
        'roles': ['controller', {'name': 'compute', 'fault_tolerance': 1}],
        'deployment_tasks': [
            {'id': 'hiera', 'type': 'shell', 'roles': ['*'],
             'parameters': {'command': 'true', 'timeout': 60, 'retries': 1,
                            'strategy': {'type': 'parallel', 'amount': 2},
                            'environment': {'A': 'b'}, 'duration': 0.1,
                            'duration_on': {'1': 0.2}, 'fail': False,
                            'fail_on': ['2'], 'fail_times': 1},
             'fail_on_error': True, 'optional': False},
            {'id': 'net', 'type': 'shell', 'groups': 'compute',
             'requires': ['hiera'], 'required_for': [],
             'cross_depends': [{'name': 'hiera', 'role': 'controller'}],
             'cross_depended_by': []},
            {'id': 'end', 'type': 'stage', 'requires': ['net']}],
    }


# Fields whose value no cross-reference rule looks at: when the schema
# accepts a value there, the whole design must load.
NEUTRAL = [
    ('nodes', 0, 'labels', 'zone'), ('nodes', 0, 'tags'),
    ('nodes', 0, 'oob', 'address'), ('nodes', 0, 'oob', 'port'),
    ('nodes', 0, 'oob', 'account'), ('nodes', 0, 'oob', 'credential'),
    ('nodes', 0, 'oob', 'type'), ('nodes', 0, 'ssh', 'host'),
    ('nodes', 0, 'ssh', 'port'), ('racks', 0, 'labels', 'row'),
    ('deployment_tasks', 0, 'parameters', 'command'),
    ('deployment_tasks', 0, 'parameters', 'timeout'),
    ('deployment_tasks', 0, 'parameters', 'retries'),
    ('deployment_tasks', 0, 'parameters', 'environment', 'A'),
    ('deployment_tasks', 0, 'parameters', 'duration'),
    ('deployment_tasks', 0, 'parameters', 'fail_on'),
    ('deployment_tasks', 0, 'parameters', 'fail_times'),
    ('deployment_tasks', 0, 'fail_on_error'),
]
# Fields with cross-reference rules too: only the schema's verdict on
# the field itself is compared.
CHECKED = NEUTRAL + [
    ('nodes', 0, 'id'), ('nodes', 0, 'name'), ('nodes', 0, 'roles'),
    ('nodes', 0, 'rack'), ('nodes', 0, 'labels'), ('nodes', 0, 'oob'),
    ('nodes', 0, 'ssh'), ('nodes', 1), ('racks', 0, 'name'),
    ('roles', 0), ('roles', 1, 'fault_tolerance'),
    ('deployment_tasks', 0, 'id'), ('deployment_tasks', 0, 'type'),
    ('deployment_tasks', 0, 'roles'), ('deployment_tasks', 1, 'groups'),
    ('deployment_tasks', 1, 'requires'),
    ('deployment_tasks', 1, 'cross_depends'),
    ('deployment_tasks', 0, 'parameters'),
    ('deployment_tasks', 0, 'parameters', 'strategy'),
    ('deployment_tasks', 0, 'parameters', 'strategy', 'amount'),
    ('deployment_tasks', 0, 'parameters', 'strategy', 'type'),
    ('deployment_tasks', 0, 'parameters', 'environment'),
    ('deployment_tasks', 0, 'optional'),
    ('racks',), ('roles',), ('deployment_tasks',), ('nodes',),
]


SECTIONS = {'nodes': 'node', 'racks': 'rack', 'roles': 'role',
            'deployment_tasks': 'deployment_task'}


def _set(doc, path, value):
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def _where(doc, path):
    """The document.field the loader names for ``path``."""
    sections = {'nodes': ('node', 'name'), 'racks': ('rack', 'name'),
                'roles': ('role', 'name'),
                'deployment_tasks': ('deployment_task', 'id')}
    if path[0] in sections and len(path) > 1:
        kind, key = sections[path[0]]
        item = doc[path[0]][path[1]]
        name = item.get(key) if isinstance(item, dict) else (
            item if path[0] == 'roles' else None)
        head = '%s %s' % (kind, name) if isinstance(name, str) and name \
            else '%s[%d]' % (kind, path[1])
        rest = path[2:]
    else:
        head, rest = 'design', path
    return head + ''.join('[%d]' % p if isinstance(p, int) else '.%s' % p
                          for p in rest)


def test_the_base_design_is_valid():
    assert REFERENCE.is_valid(base())
    assert design.validate(base()) == []


@pytest.mark.parametrize('path', CHECKED, ids=[
    '.'.join(map(str, p)) for p in CHECKED])
def test_schema_and_loader_agree(path, tmp_path):
    disagreements = [(value, why) for value in VALUES
                     for why in [_disagreement(path, value, tmp_path)]
                     if why]
    assert disagreements == []


def _disagreement(path, value, tmp_path):
    """Why the loader disagrees with the schema on ``path = value``."""
    doc = base()
    _set(doc, path, copy.deepcopy(value))
    accepted = REFERENCE.is_valid(doc)
    where = _where(doc, path)
    found = design.validate(doc)
    inside = (where + ':', where + '.', where + '[')
    if len(path) == 1 and path[0] in SECTIONS:     # its documents too
        inside += (SECTIONS[path[0]] + ' ', SECTIONS[path[0]] + '[')
    at_field = [p for p in found if p.startswith(inside)]
    if not accepted:
        return None if at_field else ('refused, but loads', found)
    if path[-1] == 'id' and isinstance(value, float):
        return None     # the one rule stricter than JSON Schema's integer
    schema_problems = [p for p in at_field if 'must be' in p or
                       'missing' in p or 'unknown key' in p]
    if schema_problems:
        return ('accepted, but refused', schema_problems)
    if path in NEUTRAL:
        if found:
            return ('accepted, but refused', found)
        site = tmp_path / 'site.yaml'
        site.write_text(yaml.safe_dump(doc))
        if design.load('file://%s' % site) != doc:
            return ('accepted, but loads differently', None)
    return None


@pytest.mark.parametrize('path', [(), ('nodes', 0), ('nodes', 0, 'oob'),
                                  ('nodes', 0, 'ssh'), ('racks', 0),
                                  ('roles', 1), ('deployment_tasks', 0),
                                  ('deployment_tasks', 0, 'parameters'),
                                  ('deployment_tasks', 0, 'parameters',
                                   'strategy'),
                                  ('deployment_tasks', 1, 'cross_depends',
                                   0)])
def test_unknown_keys_are_refused_by_both(path):
    doc = base()
    target = doc
    for part in path:
        target = target[part]
    target['surprise'] = 1
    assert not REFERENCE.is_valid(doc)
    (problem,) = design.validate(doc)
    assert problem.startswith(_where(doc, path + ('surprise',)) +
                              ': unknown key')


def test_every_subschema_says_what_it_must_be():
    """Problem texts come from descriptions: none may be missing."""
    def walk(node, where):
        if any(k in node for k in ('type', 'enum', 'pattern')):
            assert 'description' in node, where
        for key in ('properties', 'definitions', 'patternProperties'):
            for name, sub in node.get(key, {}).items():
                walk(sub, '%s/%s/%s' % (where, key, name))
        for key in ('items', 'additionalProperties', 'propertyNames'):
            if isinstance(node.get(key), dict):
                walk(node[key], '%s/%s' % (where, key))
    walk(SCHEMA, '#')
    jsonschema.Draft7Validator.check_schema(SCHEMA)
