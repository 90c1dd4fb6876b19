"""site.policy: where design refs may point, what may run on the master."""

import os

import pytest
import yaml
from oslo_config import cfg

import conftest
from drydockd.common import exception
from drydockd.conf import opts
from drydockd.executor.transports import fake
from drydockd.executor.transports import master
from drydockd.site import design
from drydockd.site import fetch
from drydockd.site import policy as policy_mod


def _conf(**site):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([], default_config_files=[])
    for key, value in site.items():
        conf.set_override(key, value, 'site')
    return conf


def _policy(**site):
    return policy_mod.Policy.from_conf(_conf(**site))


@pytest.fixture
def no_fetch(monkeypatch):
    """Fails the test if anything is fetched."""
    def refuse(*args, **kwargs):
        raise AssertionError('fetched %r' % (args,))
    monkeypatch.setattr(fetch, 'fetch', refuse)


# -- defaults -----------------------------------------------------------------

def test_defaults_keep_the_examples_and_state_path():
    conf = _conf()
    roots = conf.site.design_file_roots
    assert roots[:2] == ['/etc/drydock', '/srv/drydock']
    assert roots[2] == conf.state_path
    # A source checkout's examples (tools/demo's design).
    assert os.path.dirname(conftest.DEMO_SITE) in roots
    assert conf.site.design_http_hosts == []
    assert conf.site.allow_master_shell is False
    policy = policy_mod.Policy.from_conf(conf)
    assert policy.resolve('file://' + conftest.DEMO_SITE) == \
        'file://' + os.path.realpath(conftest.DEMO_SITE)


# -- file:// ------------------------------------------------------------------

def test_file_inside_a_root(tmp_path):
    (tmp_path / 'site.yaml').write_text('x')
    policy = _policy(design_file_roots=[str(tmp_path)])
    assert policy.resolve('file://%s/site.yaml' % tmp_path) == \
        'file://%s/site.yaml' % os.path.realpath(tmp_path)


@pytest.mark.parametrize('where', ['outside', 'dotdot', 'symlink',
                                   'prefix', 'linkdir'])
def test_file_outside_every_root_is_refused(tmp_path, where, no_fetch):
    root = tmp_path / 'designs'
    root.mkdir()
    secret = tmp_path / 'secret.yaml'
    secret.write_text('x')
    (tmp_path / 'designs2').mkdir()
    (tmp_path / 'designs2' / 's.yaml').write_text('x')
    os.symlink(secret, root / 'link.yaml')
    os.symlink(tmp_path, root / 'up')
    path = {'outside': str(secret),
            'dotdot': '%s/../secret.yaml' % root,
            'symlink': '%s/link.yaml' % root,
            'prefix': '%s2/s.yaml' % root,
            'linkdir': '%s/up/secret.yaml' % root}[where]
    policy = _policy(design_file_roots=[str(root)])
    with pytest.raises(exception.InvalidInput) as caught:
        design.load('file://' + path, policy=policy)
    message = caught.value.message
    assert '\n' not in message
    assert message == (
        'Invalid input: design_ref file://%s is outside the directories '
        'designs may be read from ([site] design_file_roots: %s)'
        % (path, os.path.realpath(root)))


def test_a_device_is_refused_before_it_is_opened(no_fetch):
    with pytest.raises(exception.InvalidInput):
        design.problems('file:///dev/kmsg', _policy())


def test_a_symlink_inside_to_inside_is_followed(tmp_path):
    (tmp_path / 'real.yaml').write_text('x')
    os.symlink(tmp_path / 'real.yaml', tmp_path / 'link.yaml')
    policy = _policy(design_file_roots=[str(tmp_path)])
    assert policy.resolve('file://%s/link.yaml' % tmp_path) == \
        'file://%s/real.yaml' % os.path.realpath(tmp_path)


def test_no_file_roots_no_files(tmp_path, no_fetch):
    with pytest.raises(exception.InvalidInput) as caught:
        _policy(design_file_roots=[]).resolve('file://%s/x' % tmp_path)
    assert 'design_file_roots: none' in caught.value.message


# -- http(s):// ---------------------------------------------------------------

@pytest.mark.parametrize('ref', [
    'http://design.example/site.yaml',
    'https://design.example:8443/site.yaml',
])
def test_no_http_unless_configured(ref, no_fetch):
    with pytest.raises(exception.InvalidInput) as caught:
        design.load(ref, policy=_policy())
    assert caught.value.message == (
        'Invalid input: design_ref %s names a server designs may not be '
        'fetched from ([site] design_http_hosts: none)' % ref)


@pytest.mark.parametrize('hosts,ref,allowed', [
    (['design.example'], 'http://design.example/s.yaml', True),
    (['design.example'], 'http://DESIGN.example:80/s.yaml', True),
    (['design.example'], 'https://design.example/s.yaml', True),
    (['design.example'], 'http://design.example:8080/s.yaml', False),
    (['design.example'], 'http://other.example/s.yaml', False),
    (['design.example:8080'], 'http://design.example:8080/s.yaml', True),
    (['design.example:8080'], 'http://design.example/s.yaml', False),
    (['127.0.0.1:8000'], 'http://127.0.0.1:15672/api/users', False),
    (['[::1]:8000'], 'http://[::1]:8000/s.yaml', True),
    (['[::1]:8000'], 'http://[::2]:8000/s.yaml', False),
])
def test_http_hosts_and_ports(hosts, ref, allowed):
    policy = _policy(design_http_hosts=hosts)
    if allowed:
        assert policy.resolve(ref) == ref
    else:
        with pytest.raises(exception.InvalidInput):
            policy.resolve(ref)


def test_a_refusal_shows_no_credentials(no_fetch):
    ref = 'https://admin:hunter2@evil.example/s.yaml?token=abc'
    with pytest.raises(exception.InvalidInput) as caught:
        design.load(ref, policy=_policy(design_http_hosts=['good.example']))
    assert 'hunter2' not in caught.value.message
    assert 'good.example' in caught.value.message


# -- master-node commands -----------------------------------------------------

def _site(tmp_path, tasks=None, extra=None):
    doc = yaml.safe_load(open(conftest.DEMO_SITE))
    if tasks is not None:
        doc['deployment_tasks'] = tasks
    if extra:
        doc['deployment_tasks'].extend(extra)
    path = tmp_path / 'site.yaml'
    path.write_text(yaml.safe_dump(doc))
    return 'file://%s' % path


MASTER_OFF = ('runs a command on the master node, and master-node commands '
              'are off ([site] allow_master_shell)')


def test_master_shell_is_off_by_default(tmp_path):
    ref = _site(tmp_path, extra=[
        {'id': 'on_master', 'type': 'shell', 'roles': ['master'],
         'parameters': {'command': 'id'}},
        {'id': 'staged', 'type': 'stage', 'roles': ['master']},
        {'id': 'bad', 'type': 'shell', 'roles': ['nobody'],
         'parameters': {'command': 'x'}}])
    policy = _policy(design_file_roots=[str(tmp_path)])
    # Every problem at once, each naming its task and field.
    assert design.problems(ref, policy) == [
        'deployment_task upload_repos.type: ' + MASTER_OFF,
        'deployment_task on_master.roles: ' + MASTER_OFF,
        "deployment_task bad.roles: unknown role 'nobody'"]
    with pytest.raises(exception.DesignError) as caught:
        design.load(ref, policy=policy)
    assert 'deployment_task upload_repos.type: ' + MASTER_OFF in \
        caught.value.message


def test_only_listed_commands_run_on_the_master(tmp_path):
    ref = _site(tmp_path, extra=[
        {'id': 'shadow', 'type': 'master_shell', 'roles': ['master'],
         'parameters': {'command': 'cat /etc/shadow'}}])
    policy = _policy(design_file_roots=[str(tmp_path)],
                     allow_master_shell=True,
                     master_shell_commands=['sync-repos'])
    assert design.problems(ref, policy) == [
        'deployment_task shadow.parameters.command: its command is not one '
        'of [site] master_shell_commands']
    # Listing it is the operator's decision.
    allowed = _policy(design_file_roots=[str(tmp_path)],
                      allow_master_shell=True,
                      master_shell_commands=['sync-repos',
                                             'cat /etc/shadow'])
    assert design.problems(ref, allowed) == []
    assert design.load(ref, policy=allowed)['deployment_tasks'][-1]['id'] \
        == 'shadow'


def test_the_cache_does_not_carry_a_verdict_across_policies(tmp_path):
    ref = _site(tmp_path)
    roots = [str(tmp_path)]
    allowed = _policy(design_file_roots=roots, allow_master_shell=True,
                      master_shell_commands=['sync-repos'])
    design.load(ref, policy=allowed)
    with pytest.raises(exception.DesignError):
        design.load(ref, policy=_policy(design_file_roots=roots))


def test_allowing_without_commands_allows_none(tmp_path):
    ref = _site(tmp_path)
    policy = _policy(design_file_roots=[str(tmp_path)],
                     allow_master_shell=True)
    assert design.problems(ref, policy) == [
        'deployment_task upload_repos.parameters.command: its command is '
        'not one of [site] master_shell_commands']


# -- the executor's own check -------------------------------------------------

class _Done:
    def __init__(self):
        self.calls = []

    def __call__(self, ok, message=None, summary=None):
        self.calls.append((ok, message))


@pytest.mark.parametrize('uid,task,refused', [
    ('master', {'id': 'x', 'type': 'master_shell',
                'parameters': {'command': 'id'}}, True),
    ('master', {'id': 'x', 'type': 'shell',
                'parameters': {'command': 'id'}}, True),
    ('master', {'id': 'x', 'type': 'master_shell',
                'parameters': {'command': 'sync-repos'}}, False),
    ('5', {'id': 'x', 'type': 'shell', 'parameters': {'command': 'id'}},
     False),
])
def test_the_executor_refuses_what_its_config_does_not_list(uid, task,
                                                            refused):
    inner = fake.FakeTransport()
    started = []
    inner_start = inner.start

    def start(*args):
        started.append(args[0])
        return inner_start(*args)
    inner.start = start
    guard = master.MasterGuard(inner, _policy(
        allow_master_shell=True, master_shell_commands=['sync-repos']))
    done = _Done()
    guard.start(uid, task, 5, done)
    if refused:
        assert started == []
        assert done.calls == [(False, 'refused on this executor: task x its '
                               'command is not one of [site] '
                               'master_shell_commands')]
    else:
        assert started == [uid]
    guard.close()


def test_the_executor_refuses_every_master_command_when_off():
    done = _Done()
    guard = master.MasterGuard(fake.FakeTransport(), _policy())
    guard.start('master', {'id': 'x', 'type': 'master_shell',
                           'parameters': {'command': 'sync-repos'}}, 5, done)
    assert done.calls == [(False, 'refused on this executor: task x '
                           + MASTER_OFF)]
