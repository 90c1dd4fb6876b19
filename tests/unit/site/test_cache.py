"""Validated designs are parsed once per content, and callers cannot
corrupt what the next caller gets."""

import pytest
import yaml
from oslo_config import cfg

import conftest
from drydockd.conf import opts
from drydockd.executor import node_methods
from drydockd.site import cache
from drydockd.site import design


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(design, 'CACHE', cache.DesignCache())
    return design.CACHE


def _site(tmp_path, text=None):
    path = tmp_path / 'site.yaml'
    path.write_text(text or open(conftest.DEMO_SITE).read())
    return 'file://%s' % path, path


def test_the_same_bytes_are_parsed_once(tmp_path, fresh_cache):
    ref, _ = _site(tmp_path)
    first = design.load(ref)
    second = design.load(ref)
    assert first == second and first is not second
    assert (fresh_cache.misses, fresh_cache.hits) == (1, 1)


def test_changing_a_loaded_design_changes_nothing_cached(tmp_path):
    ref, _ = _site(tmp_path)
    first = design.load(ref)
    expected = yaml.safe_load(open(conftest.DEMO_SITE))
    first['nodes'][0]['oob']['credential'] = 'changed'
    first['nodes'][0]['labels']['zone'] = 'z'
    first['deployment_tasks'].clear()
    first['racks'] = None
    second = design.load(ref)
    assert second == expected
    second['nodes'].pop()
    assert design.load(ref) == expected


def test_new_bytes_are_parsed_again(tmp_path, fresh_cache):
    ref, path = _site(tmp_path)
    assert len(design.load(ref)['nodes']) == 8
    doc = yaml.safe_load(open(conftest.DEMO_SITE))
    doc['nodes'] = doc['nodes'][:4]
    path.write_text(yaml.safe_dump(doc))
    assert len(design.load(ref)['nodes']) == 4
    assert fresh_cache.misses == 2


def test_invalid_designs_are_not_kept(tmp_path, fresh_cache):
    ref, _ = _site(tmp_path, 'nodes: []\n')
    for _ in range(2):
        with pytest.raises(Exception, match='non-empty list of nodes'):
            design.load(ref)
    assert len(fresh_cache) == 0


def test_validate_design_fills_the_cache(tmp_path, fresh_cache):
    ref, _ = _site(tmp_path)
    assert design.problems(ref) == []
    design.load(ref)
    assert fresh_cache.hits == 1


def test_the_cache_is_bounded():
    bounded = cache.DesignCache(max_entries=3, max_bytes=10 ** 6)
    for i in range(5):
        bounded.put(str(i), {'n': i})
    assert len(bounded) == 3
    assert bounded.get('0') is None and bounded.get('4') == {'n': 4}
    bounded.get('2')                     # now the most recently used
    bounded.put('5', {'n': 5})
    assert bounded.get('3') is None and bounded.get('2') == {'n': 2}

    small = cache.DesignCache(max_entries=10, max_bytes=3000)
    for i in range(5):
        small.put(str(i), {'pad': 'x' * 1000, 'n': i})
    assert len(small) == 2
    small.put('huge', {'pad': 'x' * 5000})
    assert small.get('huge') is None and len(small) == 2


class _Reporter:
    """Collects what the executor reports (the receiver's view)."""

    def __init__(self):
        self.results = {}

    def node_result(self, node, ok, message, **extra):
        self.results[node['name']] = (ok, message)

    def progress(self, percent):
        self.percent = percent

    def fenced(self, reap_after):
        return None     # every report reached the receiver

    def finish(self, status, progress, error=None):
        self.status = status


def _executor(root):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([], default_config_files=[])
    conf.set_override('oob_driver', 'fake', 'executor')
    conf.set_override('design_file_roots', [str(root)], 'site')
    conf.set_override('allow_master_shell', True, 'site')
    conf.set_override('master_shell_commands', ['sync-repos'], 'site')
    return node_methods.NodeMethods(conf)


def test_the_executor_parses_a_design_once_per_content(tmp_path,
                                                       fresh_cache):
    ref, path = _site(tmp_path)
    methods = _executor(tmp_path)
    item = {'method': 'power', 'args': {
        'design_ref': ref, 'power': 'status',
        'nodes': [{'id': 5, 'name': 'node05'}, {'id': 6, 'name': 'node06'}]}}
    for _ in range(3):
        reporter = _Reporter()
        methods.run(item, reporter)
        assert reporter.status == 'ready'
        assert reporter.results['node05'][0]
    assert (fresh_cache.misses, fresh_cache.hits) == (1, 2)

    # The design is still read every time: a node taken out of it is
    # seen by the next message.
    doc = yaml.safe_load(open(conftest.DEMO_SITE))
    doc['nodes'] = [n for n in doc['nodes'] if n['name'] != 'node06']
    path.write_text(yaml.safe_dump(doc))
    reporter = _Reporter()
    methods.run(item, reporter)
    assert reporter.results['node06'] == (
        False, 'node node06 has no OOB entry in the design')
    assert fresh_cache.misses == 2
