"""Every page of docs/ is checked wherever it shows a command or a payload.

Conventions the pages follow (and this test enforces):

- **Commands.** In ``console``/``sh``/``shell``/``bash`` and untyped code
  blocks, and in inline code spans, every ``drydock2 ...``,
  ``drydock-manage ...`` and ``drydockd ...`` command line (an optional
  ``$ `` prompt, ``VAR=value`` prefixes and anything after ``|``, ``>``,
  ``&&`` aside) is parsed by the real parsers (a word ``a|b`` stands
  for alternatives, each parsed): cliff's command parsers
  for drydock2, drydock-manage's argparse parser, drydockd's role list and
  oslo.config options. So placeholders must be valid values (``7``, not
  ``ID``). ``text`` blocks (synopses, sample output) are not parsed.
- **Payloads.** Every ``json`` and ``yaml`` block parses (``yaml`` with
  the design loader's rules). A block whose own paragraph (the text just
  above it) names a schema in backticks is validated against it: a path
  from the repository root (``docs/schemas/X.json``, optionally with a
  JSON-pointer fragment ``#/$defs/node_filter``) or the ``$id`` of a JSON
  Schema shown earlier on the same page. A block that is itself a JSON
  Schema (has ``$schema``) must be a valid schema. A block checked
  against the design schema must also pass every check of the design
  loader (cross-references, the graph).
- **docs/design.md** names, in backticks, every key the design schema
  knows, and every key its tables list is one the schema knows.
- **Config.** Every ``ini`` block names only registered options.
- **Code.** Every ``python`` block compiles; one whose paragraph names a
  file under ``examples/`` must be that file, byte for byte.
- **docs/cli.md** has one ``## `drydock2 NOUN VERB` `` section per
  registered command, no more, whose first table lists exactly the
  command's own arguments (formatter options aside), and the global
  options table lists exactly the application's options.
"""

import argparse
import configparser
import contextlib
import glob
import io
import json
import os
import re
import shlex
from importlib import metadata

import jsonschema
import pytest
import referencing
from cliff import command as cliff_command
from cliff import lister
from cliff import show
from oslo_config import cfg

from drydock_client.cli import shell
from drydockd.api import rpc
from drydockd.command import manage
from drydockd.command import services
from drydockd.conf import config as drydock_config
from drydockd.conf import opts as drydock_opts
from drydockd.site import design as site_design
from drydockd.site import schema as design_schema
from drydockd.site import yamldoc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DOCS = sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md')))
PAGES = [os.path.relpath(p, ROOT) for p in DOCS]
SHELL_LANGS = ('', 'console', 'sh', 'shell', 'bash')
PROGRAMS = ('drydock2', 'drydock-manage', 'drydockd')
FENCE = re.compile(r'^(\s*)```(\S*)\s*$')
SPAN = re.compile(r'`([^`\n]+)`')
SCHEMA_REF = re.compile(r'`([\w./-]+\.json)(#[\w/$-]*)?`')
EXAMPLE_REF = re.compile(r'`(examples/[\w./-]+\.py)`')
CUT = ('|', '>', '>>', '&&', '||', ';', '&', '2>&1', '2>')


class Block:
    def __init__(self, lang, body, line, before):
        self.lang, self.body, self.line, self.before = (lang, body, line,
                                                        before)


def read(page):
    with open(os.path.join(ROOT, page)) as f:
        return f.read()


def parse_page(text):
    """(code blocks, prose lines outside blocks)."""
    blocks, prose, lines = [], [], text.splitlines()
    i = 0
    while i < len(lines):
        start = FENCE.match(lines[i])
        if not start:
            prose.append((i + 1, lines[i]))
            i += 1
            continue
        indent, lang = start.group(1), start.group(2)
        body, j = [], i + 1
        while j < len(lines) and not re.match(r'^\s*```\s*$', lines[j]):
            body.append(lines[j][len(indent):] if lines[j].startswith(
                indent) else lines[j])
            j += 1
        assert j < len(lines), 'unclosed code block at line %d' % (i + 1)
        blocks.append(Block(lang, '\n'.join(body) + '\n', i + 1,
                            _paragraph_before(lines, i)))
        i = j + 1
    return blocks, prose


def _paragraph_before(lines, index):
    out = []
    for line in reversed(lines[:index]):
        if not line.strip():
            if out:
                break
            continue
        if FENCE.match(line):
            break
        out.append(line)
    return '\n'.join(reversed(out))


def command_lines(page):
    """(line number, argv) of every drydock command shown on a page."""
    blocks, prose = parse_page(read(page))
    found = []
    for block in blocks:
        if block.lang not in SHELL_LANGS:
            continue
        joined = block.body.replace('\\\n', ' ')
        for offset, line in enumerate(joined.splitlines()):
            found.extend(_commands(block.line + 1 + offset, line))
    for number, line in prose:
        if line.startswith('#'):
            continue       # a heading names a command, it runs nothing
        for span in SPAN.findall(line):
            found.extend((n, ['inline'] + argv)
                         for n, argv in _commands(number, span))
    return found


def _commands(number, line):
    line = line.strip()
    if line.startswith('$ '):
        line = line[2:]
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return []
    while words and re.match(r'^[A-Z_]+=', words[0]):
        words.pop(0)
    if not words or words[0] not in PROGRAMS:
        return []
    for i, word in enumerate(words):
        if word in CUT:
            words = words[:i]
            break
    if len(words) == 1:
        return []          # the bare program name, in prose
    # ``list|replay`` shows alternatives: each one must parse.
    variants = [[]]
    for word in words:
        options = word.split('|') if re.match(r'^[^|]+(\|[^|]+)+$',
                                               word) else [word]
        variants = [v + [o] for v in variants for o in options]
    return [(number, v) for v in variants]


@contextlib.contextmanager
def parser_errors(where):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            yield
    except SystemExit as exc:
        if exc.code:
            pytest.fail('%s does not parse: %s' % (where,
                                                  err.getvalue().strip()))


@pytest.fixture(scope='module')
def app():
    return shell.Drydock2()


def check_drydock2(app, argv, where, inline=False):
    """Parse a command line; ``inline``: a span of prose, where the bare
    name of a command (``drydock2 task wait``) is a mention, not a run."""
    with parser_errors(where):
        options, rest = app.parser.parse_known_args(argv)
    if not rest:
        return
    try:
        factory, name, sub = app.command_manager.find_command(rest)
    except ValueError:
        pytest.fail('%s: unknown command %r' % (where, ' '.join(rest)))
    if inline and not sub and rest == argv:
        return
    cmd = factory(app, options)
    with parser_errors(where):
        cmd.get_parser('drydock2 ' + name).parse_args(sub)


def check_manage(argv, where):
    with parser_errors(where):
        manage._parser().parse_args(argv)


def check_daemon(argv, where, tmp_path):
    assert argv and argv[0] in services.BUILDERS, (
        '%s: drydockd role must be one of %s' % (where,
                                                ', '.join(services.BUILDERS)))
    empty = tmp_path / 'empty.conf'
    empty.write_text('')
    args = list(argv[1:])
    for i, word in enumerate(args):    # the files need not exist here
        if word == '--config-file' and i + 1 < len(args):
            args[i + 1] = str(empty)
        elif word.startswith('--config-file='):
            args[i] = '--config-file=%s' % empty
    conf = cfg.ConfigOpts()
    conf.register_cli_opts(drydock_config.CLI_OPTS)
    with parser_errors(where):
        conf(args, project='drydock', default_config_files=[])


COMMANDS = [(page, number, argv) for page in PAGES
            for number, argv in command_lines(page)]


def test_pages_show_commands():
    assert {'docs/cli.md', 'docs/operations.md', 'docs/history.md',
            'docs/tasks.md', 'docs/integration.md'} <= set(PAGES)
    assert {page for page, _, _ in COMMANDS} >= {
        'docs/cli.md', 'docs/operations.md', 'docs/history.md'}
    assert {argv[argv[0] == 'inline'] for _, _, argv in COMMANDS} == \
        set(PROGRAMS)


@pytest.mark.parametrize('page, number, argv', COMMANDS, ids=[
    '%s:%d:%s' % (page, number, ' '.join(argv[:4]))
    for page, number, argv in COMMANDS])
def test_command_line_parses(app, tmp_path, page, number, argv):
    inline = argv[0] == 'inline'
    argv = argv[1:] if inline else argv
    where = '%s:%d %s' % (page, number, ' '.join(argv))
    if argv[0] == 'drydock2':
        check_drydock2(app, argv[1:], where, inline)
    elif argv[0] == 'drydock-manage':
        check_manage(argv[1:], where)
    else:
        check_daemon(argv[1:], where, tmp_path)


# ---------------------------------------------------------------- payloads

def _schema_file(path):
    full = os.path.join(ROOT, path)
    if not os.path.isfile(full):
        return None
    with open(full) as f:
        return json.load(f)


def _validate(instance, schema, fragment, where):
    if not fragment:
        cls = jsonschema.validators.validator_for(schema)
        cls(schema).validate(instance)
        return
    uri = schema.get('$id') or 'urn:drydock:doc-schema'
    resource = referencing.Resource.from_contents(
        schema, default_specification=referencing.jsonschema.DRAFT202012)
    registry = referencing.Registry().with_resource(uri, resource)
    cls = jsonschema.validators.validator_for(schema)
    cls({'$ref': uri + fragment}, registry=registry).validate(instance)


@pytest.mark.parametrize('page', PAGES)
def test_payloads_parse_and_match_their_schemas(page):
    blocks, _ = parse_page(read(page))
    in_page = {}
    for block in blocks:
        where = '%s:%d' % (page, block.line)
        if block.lang in ('json', 'yaml'):
            try:
                data = json.loads(block.body) if block.lang == 'json' \
                    else yamldoc.parse(block.body)
            except ValueError as exc:
                pytest.fail('%s: not %s: %s' % (where, block.lang.upper(),
                                                exc))
            if isinstance(data, dict) and '$schema' in data:
                jsonschema.validators.validator_for(data).check_schema(data)
                if '$id' in data:
                    in_page[data['$id']] = data
                continue
            for name, fragment in SCHEMA_REF.findall(block.before):
                schema = in_page.get(name) or _schema_file(name)
                assert schema is not None, (
                    '%s names schema %s, which is neither a file nor an '
                    'earlier schema on the page' % (where, name))
                try:
                    _validate(data, schema, fragment, where)
                except jsonschema.ValidationError as exc:
                    pytest.fail('%s does not match %s%s: %s' % (
                        where, name, fragment, exc.message))
                if os.path.join(ROOT, name) == design_schema.PATH:
                    assert site_design.validate(data) == [], where
        elif block.lang == 'python':
            compile(block.body, where, 'exec')
            for example in EXAMPLE_REF.findall(block.before):
                assert block.body == read(example), (
                    '%s differs from %s' % (where, example))
        elif block.lang == 'ini':
            check_ini(block.body, where)


def test_validated_payloads_are_there():
    """The pages promise these checks; make sure they happen."""
    named = {}
    for page in PAGES:
        for block in parse_page(read(page))[0]:
            if block.lang in ('json', 'yaml'):
                for name, _ in SCHEMA_REF.findall(block.before):
                    named.setdefault(page, set()).add(name)
    assert 'docs/schemas/task-status.json' in named['docs/tasks.md']
    assert os.path.relpath(design_schema.PATH, ROOT) in \
        named['docs/design.md']
    assert 'drydock/history-rows.json' in named['docs/history.md']
    assert 'drydockd/messaging/jsonschema/report.json' in \
        named['docs/history.md']
    examples = [b for b in parse_page(read('docs/integration.md'))[0]
                if EXAMPLE_REF.search(b.before) and b.lang == 'python']
    assert len(examples) == 1


# --------------------------------------------------------------- design.md

def _schema_keys(node, found):
    """Every property name of the design schema, at every level."""
    if isinstance(node, dict):
        found.update(node.get('properties', {}))
        for value in node.values():
            _schema_keys(value, found)
    elif isinstance(node, list):
        for value in node:
            _schema_keys(value, found)
    return found


def test_design_md_names_every_key_of_the_schema():
    text = read('docs/design.md')
    keys = _schema_keys(design_schema.SCHEMA, set())
    missing = sorted(k for k in keys if '`%s`' % k not in text)
    assert not missing, 'docs/design.md does not name %s' % missing
    listed, in_table = set(), False
    for line in text.splitlines():
        if line.startswith('| key |'):
            in_table = True       # the tables of a document's keys
            continue
        row = ROW.match(line)
        if in_table and row:
            listed.add(row.group(1).strip('`'))
        elif not line.startswith('|'):
            in_table = False
    unknown = sorted(listed - keys - {'x-…'})
    assert not unknown, 'docs/design.md lists unknown keys %s' % unknown
    assert {'nodes', 'credential', 'fault_tolerance', 'cross_depends',
            'fail_times'} <= listed | keys


def _known_options():
    conf = cfg.ConfigOpts()
    drydock_opts.register_opts(conf)
    rpc.register_opts(conf)
    known = {}
    for name in conf:
        value = getattr(conf, name, None)
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            known[name] = set(value)
        else:
            known.setdefault('DEFAULT', set()).add(name)
    return known


def check_ini(body, where):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(body)
    known = _known_options()
    for section in ['DEFAULT'] + parser.sections():
        options = (parser.defaults() if section == 'DEFAULT'
                   else {k: v for k, v in parser.items(section, raw=True)
                         if k not in parser.defaults()})
        assert section in known, '%s: unknown group [%s]' % (where, section)
        unknown = set(options) - known[section]
        assert not unknown, '%s: unknown options in [%s]: %s' % (
            where, section, ', '.join(sorted(unknown)))


# ----------------------------------------------------------------- cli.md

HEADING = re.compile(r'^## `drydock2 ([a-z ]+)`\s*$')
ROW = re.compile(r'^\|\s*(`[^|]+?)\s*\|')


def cli_sections():
    """{command: [documented argument tokens]} and the global table."""
    sections, current, table, glob_opts = {}, None, None, None
    in_block = False
    for line in read('docs/cli.md').splitlines():
        if FENCE.match(line):
            in_block = not in_block
            continue
        if in_block:
            continue
        heading = HEADING.match(line)
        if heading:
            current = heading.group(1)
            assert current not in sections, 'two sections for ' + current
            sections[current], table = [], None
            continue
        if line.startswith('#'):
            current = None if line.startswith('## ') else current
            table = None
            if line.startswith('## ') and 'Choosing the deployment' in line:
                glob_opts = []
            continue
        if line.startswith('| option | meaning |'):
            table = 'open'
            continue
        row = ROW.match(line)
        if table == 'open' and row:
            tokens = [t.split()[0] for t in SPAN.findall(row.group(1))]
            if current is not None:
                sections[current].extend(tokens)
            elif glob_opts is not None:
                glob_opts.extend(tokens)
        elif table == 'open' and not line.startswith('|'):
            table = 'closed'
    return sections, glob_opts


def registered_commands():
    return sorted(ep.name.replace('_', ' ')
                  for ep in metadata.entry_points(group='drydock.cli'))


def _arguments(parser):
    """{action: its names}, help-suppressed ones left out."""
    out = {}
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        names = (set(action.option_strings) if action.option_strings
                 else {action.dest.upper()})
        out[action.dest + '|' + '/'.join(sorted(names))] = names
    return out


def _base_class(cls):
    for base in (lister.Lister, show.ShowOne, cliff_command.Command):
        if issubclass(cls, base):
            return base


def _compare(documented, arguments, what):
    documented = list(documented)
    assert len(documented) == len(set(documented)), (
        '%s: an argument is documented twice: %s' % (what, documented))
    covered = {key for key, names in arguments.items()
               if names & set(documented)}
    missing = sorted(k.split('|')[1] for k in set(arguments) - covered)
    extra = sorted(t for t in documented
                   if not any(t in names for names in arguments.values()))
    assert not missing, '%s: not in docs/cli.md: %s' % (what, missing)
    assert not extra, '%s: docs/cli.md shows unknown %s' % (what, extra)


def test_cli_md_has_every_command_and_no_other(app):
    sections, _ = cli_sections()
    assert sorted(sections) == registered_commands()


@pytest.mark.parametrize('name', registered_commands())
def test_cli_md_lists_each_commands_arguments(app, name):
    sections, _ = cli_sections()
    factory, cmd_name, _ = app.command_manager.find_command(name.split())
    cmd = factory(app, None)
    parser = cmd.get_parser('drydock2 ' + cmd_name)
    base = _base_class(factory).get_parser(cmd, 'base')
    own = {k: v for k, v in _arguments(parser).items()
           if k not in _arguments(base)}
    _compare(sections[name], own, 'drydock2 ' + name)


def test_cli_md_lists_the_global_options(app):
    _, documented = cli_sections()
    _compare(documented, _arguments(app.parser), 'global options')
