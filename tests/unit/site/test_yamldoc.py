"""Design YAML is parsed within bounds, into plain JSON data."""

import subprocess
import sys
import textwrap
import tracemalloc

import pytest
import yaml

from drydockd.common import exception
from drydockd.site import design
from drydockd.site import yamldoc


def bomb(levels=7, width=9, leaf=64):
    """A few KB of nested aliases naming one node label: ``leaf`` chars
    times ``width ** levels`` once expanded (306 MB by default)."""
    lines = ['x-l0: &l0 "%s"' % ('x' * leaf)]
    for level in range(1, levels + 1):
        lines.append('x-l%d: &l%d [%s]' % (level, level, ', '.join(
            ['*l%d' % (level - 1)] * width)))
    lines.append('nodes:')
    lines.append('  - {id: 1, name: node01, labels: {bomb: *l%d}}' % levels)
    return '\n'.join(lines) + '\n'


def test_the_c_loader_is_used():
    # PyYAML on this machine is built with libyaml; a build without it
    # falls back to the pure-Python loader under the same rules.
    assert yaml.__with_libyaml__ and yamldoc.C_LOADER


def test_an_alias_bomb_is_refused_before_it_costs_memory(tmp_path):
    text = bomb()
    assert len(text) < 4096
    path = tmp_path / 'bomb.yaml'
    path.write_text(text)
    tracemalloc.start()
    try:
        with pytest.raises(exception.DesignError) as err:
            design.load('file://%s' % path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 'once its aliases are expanded' in err.value.message
    assert peak < 2 * 1024 * 1024, peak


def test_a_smaller_bomb_is_still_counted_whole():
    # 64 * 9**6 = 34 MB expanded: just over the limit, from 1 KB.
    with pytest.raises(yamldoc.ParseError, match='larger than 33554432'):
        yamldoc.parse(bomb(levels=6))
    assert isinstance(yamldoc.parse(bomb(levels=3)), dict)


def test_anchors_and_merge_keys_work():
    doc = yamldoc.parse(textwrap.dedent('''\
        x-bmc: &bmc {type: ipmi, port: 623, account: admin, credential: pw}
        nodes:
          - {id: 1, name: a, oob: {<<: *bmc, address: 10.0.0.1}}
          - {id: 2, name: b, oob: {<<: *bmc, address: 10.0.0.2, port: 624}}
        '''))
    assert doc['nodes'][1]['oob'] == {'type': 'ipmi', 'port': 624,
                                      'account': 'admin',
                                      'credential': 'pw',
                                      'address': '10.0.0.2'}
    assert design.validate(doc) == []


def test_deep_nesting_is_refused_without_crashing():
    # libyaml composes recursively in C: this used to kill the process
    # with SIGSEGV. Run in a child so a regression fails one test.
    code = ('from drydockd.site import yamldoc\n'
            'try:\n'
            '    yamldoc.parse(b"[" * 200000 + b"]" * 200000)\n'
            'except yamldoc.ParseError as exc:\n'
            '    print(exc)\n')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])
    assert done.stdout.strip() == 'nested deeper than 64 levels at line 1'


@pytest.mark.parametrize('text, reason', [
    ('a: &a [1, *a]\n', 'an alias refers to a node that contains it'),
    ('a: 1\nb: 2\na: 3\n', 'at line 3, column 1: duplicate key'),
    ('on: 1\n', 'a mapping key must be a string'),
    ('1: x\n', 'a mapping key must be a string'),
    ('? [a, b]\n: x\n', 'a mapping key must be a string'),
    ('a: !!binary aGVsbG8=\n', 'this YAML type is not allowed'),
    ('a: !!set {x, y}\n', 'this YAML type is not allowed'),
    ('a: !!omap [{x: 1}]\n', 'this YAML type is not allowed'),
    ('a: !custom 1\n', 'could not determine a constructor'),
    ('a: *nowhere\n', 'found undefined alias'),
    ('a: [1, 2\n', 'not YAML at line 2'),
    ('a: 1\n---\nb: 2\n', 'expected a single document'),
])
def test_refused_yaml(text, reason):
    with pytest.raises(yamldoc.ParseError, match=reason.replace(
            '[', r'\[')):
        yamldoc.parse(text)


def test_errors_do_not_quote_the_text():
    with pytest.raises(yamldoc.ParseError) as err:
        yamldoc.parse(b'nodes:\n  - secret-value: [unclosed\n')
    assert 'secret-value' not in str(err.value)
    assert str(err.value).startswith('not YAML at line ')


def test_undecodable_bytes():
    with pytest.raises(yamldoc.ParseError, match='cannot decode the text'):
        yamldoc.parse(b'a: \xff\xfe\x80\n')


def test_values_are_json_data():
    doc = yamldoc.parse(textwrap.dedent('''\
        date: 2026-11-22
        when: 2026-11-22T10:00:01Z
        yes_no: yes
        number: 1.5
        empty:
        '''))
    assert doc == {'date': '2026-11-22', 'when': '2026-11-22T10:00:01Z',
                   'yes_no': True, 'number': 1.5, 'empty': None}


def test_an_empty_document_is_none():
    assert yamldoc.parse('# only a comment\n') is None
