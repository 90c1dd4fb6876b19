"""Parse a design's YAML into plain JSON data, within fixed bounds.

A design comes from anyone who can pass a ``design_ref``, so parsing it
must cost what its size says:

- **Aliases.** An alias repeats a whole subtree; a few kilobytes of nested
  aliases ("billion laughs") stand for gigabytes once anything walks the
  document (a JSON column, a work message). Before anything is built, one
  pass over libyaml's event stream adds up the document's expanded size
  (every node counts 1, a scalar its length too, an alias the size of what
  it names) and refuses it beyond ``MAX_EXPANDED``: a bomb costs the
  parse of its own bytes and nothing more. An alias inside the node it
  names (a recursive structure) is refused too: JSON cannot hold it.
- **Depth.** libyaml composes nodes recursively in C; about 100,000 nested
  brackets crash the process. The same pass refuses nesting deeper than
  ``MAX_DEPTH``.
- **JSON data only.** Timestamps stay strings; ``!!binary``, ``!!set``,
  ``!!omap`` and ``!!pairs`` are refused; a mapping key must be a string
  (so ``on:`` or ``1:`` is refused rather than turned into ``True`` or
  ``1``) and appear once per mapping. Merge keys (``<<: *defaults``) work.

libyaml's C parser is used when PyYAML was built with it (about 4x faster
than the pure-Python one on large designs); the rules are the same either
way. Errors give the line and column and never quote the document.
"""

import yaml
from yaml import constructor as yaml_constructor
from yaml import events

MAX_DEPTH = 64
MAX_EXPANDED = 32 * 1024 * 1024

_BASE = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
C_LOADER = _BASE is not yaml.SafeLoader
_STR = 'tag:yaml.org,2002:str'
_MERGE = 'tag:yaml.org,2002:merge'


class ParseError(ValueError):
    """The text is not a design's YAML; ``str()`` is one line."""


class _Loader(_BASE):
    """The safe loader, restricted to JSON data."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key, _ in node.value:
                if key.tag == _MERGE:
                    continue
                if not isinstance(key, yaml.ScalarNode) or key.tag != _STR:
                    raise yaml_constructor.ConstructorError(
                        None, None, 'a mapping key must be a string (quote '
                        'it)', key.start_mark)
                if key.value in seen:
                    raise yaml_constructor.ConstructorError(
                        None, None, 'duplicate key in a mapping',
                        key.start_mark)
                seen.add(key.value)
        return super().construct_mapping(node, deep=deep)


def _refuse(loader, node):
    raise yaml_constructor.ConstructorError(
        None, None, 'this YAML type is not allowed in a design (use plain '
        'strings, numbers, lists and mappings)', node.start_mark)


_Loader.add_constructor('tag:yaml.org,2002:timestamp',
                        yaml_constructor.SafeConstructor.construct_yaml_str)
for _tag in ('binary', 'set', 'omap', 'pairs'):
    _Loader.add_constructor('tag:yaml.org,2002:' + _tag, _refuse)


def parse(data):
    """The document in ``data`` (bytes or str) as dicts, lists, strings,
    numbers, booleans and None.

    :raises: ParseError with the reason (and line and column when known).
    """
    try:
        _check_bounds(data)
        loader = _Loader(data)
        try:
            node = loader.get_single_node()
            return None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ParseError(_describe(exc))
    except RecursionError:
        raise ParseError('nested too deeply')


def _check_bounds(data):
    """One pass over the events: depth and expanded size, nothing built."""
    loader = _BASE(data)
    try:
        anchors = {}
        stack = [[0, None]]         # per open collection: [size, anchor]
        get = loader.get_event
        while loader.check_event():
            event = get()
            if isinstance(event, events.ScalarEvent):
                size = 1 + len(event.value)
                if event.anchor:
                    anchors[event.anchor] = size
            elif isinstance(event, events.AliasEvent):
                if any(anchor == event.anchor for _, anchor in stack):
                    raise ParseError(
                        'an alias refers to a node that contains it (line '
                        '%d)' % (event.start_mark.line + 1))
                size = anchors.get(event.anchor, 0)
            elif isinstance(event, events.CollectionStartEvent):
                if len(stack) > MAX_DEPTH:
                    raise ParseError(
                        'nested deeper than %d levels at line %d'
                        % (MAX_DEPTH, event.start_mark.line + 1))
                stack.append([1, event.anchor])
                continue
            elif isinstance(event, events.CollectionEndEvent):
                size, anchor = stack.pop()
                if anchor:
                    anchors[anchor] = size
            else:
                continue
            stack[-1][0] += size
            if stack[-1][0] > MAX_EXPANDED:
                raise ParseError(
                    'larger than %d characters once its aliases are '
                    'expanded (line %d)'
                    % (MAX_EXPANDED, event.start_mark.line + 1))
    finally:
        loader.dispose()


def _describe(exc):
    """One line: where, then what (libyaml's words, not the text)."""
    if isinstance(exc, yaml.reader.ReaderError):
        return 'not YAML: cannot decode the text (%s)' % exc.reason
    mark = getattr(exc, 'problem_mark', None) or \
        getattr(exc, 'context_mark', None)
    what = ': '.join(p for p in (getattr(exc, 'context', None),
                                 getattr(exc, 'problem', None)) if p)
    what = ' '.join((what or 'unreadable').split())[:200]
    if mark is None:
        return 'not YAML: %s' % what
    return 'not YAML at line %d, column %d: %s' % (mark.line + 1,
                                                   mark.column + 1, what)
