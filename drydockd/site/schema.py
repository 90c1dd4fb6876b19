"""The design's JSON Schema and its problems in drydock's words.

``jsonschema/design.json`` is the one description of the design's shape:
which keys exist at every level (any other key is an error), their types
and ranges. docs/design.md explains it, and tests check that the loader
accepts what it accepts and refuses what it refuses.

Every subschema carries a ``description`` written so that "must be
<description>" reads as a rule; that is the text of a problem. A value
from the design is quoted only where the rule is about the value's
spelling (an enum, a format, a pattern), never for a credential.

A compiled validator (fastjsonschema) answers "valid?" in about 0.1 s for
5,000 nodes; only an invalid design goes through jsonschema, which lists
every error.
"""

import difflib
import functools
import json
import os
import re

import fastjsonschema

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    'jsonschema', 'design.json')
with open(PATH) as _f:
    SCHEMA = json.load(_f)

@functools.cache
def _fast():
    """The compiled check that decides valid or not (built on first use:
    a CLI run that reads no design should not pay for it)."""
    return fastjsonschema.compile(SCHEMA)


@functools.cache
def _full():
    """The reference validator, only for designs with problems: it
    lists every error, and jsonschema costs 0.1 s to import."""
    import jsonschema
    return jsonschema.Draft7Validator(
        SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


# Keywords about how a value is spelled: the value is shown.
_QUOTED = frozenset(('enum', 'format', 'anyOf', 'pattern', 'const'))


def problems(doc):
    """``[(path, text)]`` of every schema error; ``path`` is a tuple of
    keys and indexes from the top of the design."""
    try:
        _fast()(doc)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    found, seen = [], set()
    for error in _full().iter_errors(doc):
        for path, text in _describe(error):
            if path not in seen:       # one problem per field
                seen.add(path)
                found.append((path, text))
    return found


def _describe(error):
    path = tuple(error.absolute_path)
    schema, instance = error.schema, error.instance
    if error.validator == 'required':
        return [(path + (name,), 'missing')
                for name in error.validator_value
                if isinstance(instance, dict) and name not in instance]
    if error.validator == 'additionalProperties' and 'properties' in schema:
        return [(path + (key,), _unknown(key, schema))
                for key in _extra_keys(instance, schema)]
    if 'propertyNames' in error.relative_schema_path:
        # ``instance`` is the offending key of the mapping at ``path``.
        return [(path + (instance,), 'key must be %s' % _rule(schema))]
    text = 'must be %s' % _rule(schema)
    if error.validator in _QUOTED and isinstance(instance,
                                                 (str, int, float)):
        text += ' (not %s)' % _quote(instance)
    return [(path, text)]


def _resolve(schema):
    """A local ``$ref`` (``#/definitions/name``) followed."""
    while '$ref' in schema:
        target = SCHEMA
        for part in schema['$ref'].lstrip('#/').split('/'):
            target = target[part]
        schema = target
    return schema


def _rule(schema):
    schema = _resolve(schema)
    text = schema.get('description', 'valid')
    if 'enum' in schema:
        text += ': %s' % ', '.join(map(str, schema['enum']))
    return text


def _extra_keys(instance, schema):
    patterns = [re.compile(p) for p in schema.get('patternProperties', ())]
    return [k for k in instance if k not in schema['properties']
            and not any(p.search(k) for p in patterns)]


def _unknown(key, schema):
    close = difflib.get_close_matches(str(key), list(schema['properties']),
                                      n=1)
    if close:
        return 'unknown key (did you mean %s?)' % close[0]
    return 'unknown key (known: %s)' % ', '.join(schema['properties'])


def _quote(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


def rule(*path):
    """The description of the field at ``path`` (a walk through the
    schema's keys, ``$ref`` followed), for checks the schema cannot
    express."""
    schema = SCHEMA
    for key in path:
        schema = _resolve(schema[key])
    return _rule(schema)
