"""The generated sample config is current; every option group is listed."""

import configparser
import difflib
import importlib.metadata
import os
import subprocess
import sys

import conftest
import pytest
from oslo_config import cfg

from drydockd.conf import opts

GENCONFIG = os.path.join(conftest.ROOT, 'tools', 'genconfig')
SAMPLE = os.path.join(conftest.ROOT, 'etc', 'drydock', 'drydock.conf.sample')
GENERATOR_CONF = os.path.join(conftest.ROOT, 'etc', 'drydock',
                              'drydock-config-generator.conf')


def test_sample_config_is_current(tmp_path):
    fresh = tmp_path / 'drydock.conf.sample'
    # sys.prefix is the venv running the tests: use its generator.
    result = subprocess.run([GENCONFIG, sys.prefix, '--output-file',
                             str(fresh)], capture_output=True, text=True,
                            timeout=120, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    with open(SAMPLE) as f:
        committed = f.read()
    generated = fresh.read_text()
    if generated != committed:
        diff = ''.join(difflib.unified_diff(
            committed.splitlines(True), generated.splitlines(True),
            'etc/drydock/drydock.conf.sample', 'generated', n=1))
        pytest.fail('sample config is stale: run tools/genconfig\n'
                    + diff[:3000])


def test_generator_config():
    parser = configparser.ConfigParser(strict=False)
    with open(GENERATOR_CONF) as f:
        text = f.read()
    parser.read_string(text)
    assert parser['DEFAULT']['output_file'] == \
        'etc/drydock/drydock.conf.sample'
    assert parser['DEFAULT']['wrap_width'] == '79'
    namespaces = [line.split('=', 1)[1].strip()
                  for line in text.splitlines()
                  if line.split('=', 1)[0].strip() == 'namespace']
    assert namespaces == ['drydock', 'oslo.messaging']


def test_sample_has_every_drydock_group():
    with open(SAMPLE) as f:
        headers = {line.strip()[1:-1] for line in f
                   if line.startswith('[')}
    assert {group for group, _ in opts.list_opts()} <= headers
    assert 'oslo_messaging_rabbit' in headers


def test_entry_point_is_list_opts():
    eps = importlib.metadata.entry_points(group='oslo.config.opts')
    drydock = [ep for ep in eps if ep.name == 'drydock']
    assert [ep.value for ep in drydock] == ['drydockd.conf.opts:list_opts']
    assert drydock[0].load() is opts.list_opts


def _registered(conf):
    """{group: {opt names}} of everything drydock registered on ``conf``."""
    builtin = set(cfg.ConfigOpts())      # config_file, config_dir, ...
    groups = {'DEFAULT': set()}
    for name in set(conf) - builtin:
        value = conf[name]
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            groups[name] = set(value)
        else:
            groups['DEFAULT'].add(name)
    return groups


def test_every_registered_group_is_listed():
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    registered = _registered(conf)
    listed = {group: {o.dest for o in group_opts}
              for group, group_opts in opts.list_opts()}
    assert registered == listed


def test_list_opts_is_alphabetical_after_default():
    groups = [group for group, _ in opts.list_opts()]
    assert groups[0] == 'DEFAULT'
    assert groups[1:] == sorted(groups[1:])
    assert len(set(groups)) == len(groups)
    assert set(groups) >= {'DEFAULT', 'database', 'manager', 'executor',
                           'receiver', 'ipmi', 'graph'}
