"""Defaults that work: a new user with no config file gets a state directory.

The suite runs as root, so the new user is ``nobody`` (``setpriv``), with a
HOME this test makes and an environment holding nothing else. The
project's virtualenv interpreter lives under /root, which ``nobody`` cannot
enter; the system ``python3`` of the same minor version runs the same
installed packages instead (their ``.pth`` files included), through the
same entry points the console scripts call.
"""

import json
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from importlib import metadata

import pytest
import yaml

import conftest
from drydockd.common import exception
from drydockd.common import paths

SYSTEM_PYTHON = '/usr/bin/python3'
SITE_PACKAGES = sysconfig.get_paths()['purelib']
NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups']


def _entry_point(script):
    (ep,) = [e for e in metadata.entry_points(group='console_scripts')
             if e.name == script]
    return ep.value


def _as_nobody(home, script, *args, extra_env=None):
    """argv and env running ``script`` as nobody, with nothing configured."""
    module, _, func = _entry_point(script).partition(':')
    code = ('import site, sys; site.addsitedir(%r); sys.argv = %r; '
            'from %s import %s as main; sys.exit(main())'
            % (SITE_PACKAGES, [script] + list(args), module, func))
    env = {'HOME': str(home), 'PATH': '/usr/bin:/bin', 'LANG': 'C.UTF-8'}
    env.update(extra_env or {})
    return NOBODY + ['env', '-i'] + ['%s=%s' % kv for kv in env.items()] + \
        [SYSTEM_PYTHON, '-c', code]


def _run(home, script, *args, extra_env=None, timeout=120):
    return subprocess.run(_as_nobody(home, script, *args,
                                     extra_env=extra_env),
                          cwd=str(home), capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def home():
    """A home directory owned by nobody (pytest's tmp_path is root's
    private directory)."""
    version = subprocess.run([SYSTEM_PYTHON, '-c',
                              'import sys; print(sys.version_info[:2])'],
                             capture_output=True, text=True, check=True)
    assert version.stdout.strip() == str(sys.version_info[:2]), (
        '%s must be Python %d.%d to run the installed packages as nobody'
        % ((SYSTEM_PYTHON,) + sys.version_info[:2]))
    path = pathlib.Path(tempfile.mkdtemp(prefix='drydock-nobody-'))
    shutil.chown(path, 'nobody', 'nogroup')
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _without_master_commands(path):
    """The demo design less its master_shell task, which a site with no
    config does not allow (docs/security.md)."""
    doc = yaml.safe_load(open(conftest.DEMO_SITE))
    doc['deployment_tasks'] = [t for t in doc['deployment_tasks']
                               if t['id'] != 'upload_repos']
    for task in doc['deployment_tasks']:
        if task['id'] == 'install_packages':
            del task['cross_depends']       # on upload_repos
    path.write_text(yaml.safe_dump(doc))
    os.chmod(path, 0o644)


def test_new_user_runs_the_embedded_default_with_no_config(home):
    upgrade = _run(home, 'drydock-manage', 'db', 'upgrade')
    assert upgrade.returncode == 0, upgrade.stderr
    state = home / '.local' / 'state' / 'drydock'
    assert (state / 'drydock.sqlite').is_file()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert state.stat().st_uid == home.stat().st_uid
    # Designs are read from the default roots, the state path among them.
    site = state / 'site.yaml'
    _without_master_commands(site)
    outside = home / 'site.yaml'
    shutil.copy(site, outside)
    refused = _run(home, 'drydock2', 'design', 'validate', str(outside))
    assert refused.returncode == 1
    assert 'is outside the directories designs may be read from' in \
        refused.stderr

    log = open(home / 'aio.log', 'w')
    daemon = subprocess.Popen(_as_nobody(home, 'drydockd', 'all-in-one'),
                              cwd=str(home), stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while 'Ready:' not in (home / 'aio.log').read_text():
            assert daemon.poll() is None, (home / 'aio.log').read_text()
            assert time.monotonic() < deadline, (home / 'aio.log').read_text()
            time.sleep(0.1)
        created = _run(home, 'drydock2', 'task', 'create', 'deploy_nodes',
                       '--design-ref', str(site), '--wait', '-f', 'json')
        assert created.returncode == 0, created.stdout + created.stderr
        assert json.loads(created.stdout)['result']['status'] == 'success'
        assert (state / 'workplane.sqlite').is_file()
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(60) == 0
        log.close()


def test_xdg_state_home_is_honoured(home):
    xdg = home / 'xdg-state'
    upgrade = _run(home, 'drydock-manage', 'db', 'upgrade',
                   extra_env={'XDG_STATE_HOME': str(xdg)})
    assert upgrade.returncode == 0, upgrade.stderr
    assert (xdg / 'drydock' / 'drydock.sqlite').is_file()
    assert not (home / '.local').exists()


def test_an_unusable_state_directory_is_named(home):
    locked = home / 'locked'
    locked.mkdir(mode=0o700)         # owned by root: nobody cannot enter
    for script, args in (('drydock-manage', ['db', 'upgrade']),
                         ('drydockd', ['all-in-one']),
                         ('drydock2', ['task', 'list'])):
        done = _run(home, script, *args,
                    extra_env={'XDG_STATE_HOME': str(locked)})
        assert done.returncode == 1, done.stdout + done.stderr
        out = done.stdout + done.stderr
        assert 'Cannot use %s/drydock' % locked in out, out
        assert 'Traceback' not in out
        assert 'state_path' in out


def test_root_and_system_users_get_var_lib_drydock(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, 'SYSTEM_STATE_PATH', str(tmp_path / 'none'))
    assert paths.default_state_path(0, {}) == str(tmp_path / 'none')
    env = {'HOME': '/home/op'}
    assert paths.default_state_path(1000, env) == \
        '/home/op/.local/state/drydock'
    assert paths.default_state_path(1000, dict(env, XDG_STATE_HOME='/x')) \
        == '/x/drydock'
    assert paths.default_state_path(1000, dict(env, XDG_STATE_HOME='rel')) \
        == '/home/op/.local/state/drydock'
    # A service user whose systemd unit made /var/lib/drydock for it.
    (tmp_path / 'none').mkdir()
    assert paths.default_state_path(1000, env) == str(tmp_path / 'none')


@pytest.mark.parametrize('url, path', [
    ('sqlite:////var/lib/drydock/drydock.sqlite',
     '/var/lib/drydock/drydock.sqlite'),
    ('sqla+sqlite:////srv/work%20plane.sqlite', '/srv/work plane.sqlite'),
    ('sqlite+pysqlite:///relative.sqlite', 'relative.sqlite'),
    ('sqlite://', None),
    ('sqlite:///:memory:', None),
    ('postgresql+psycopg2://u:p@db/drydock', None),
    ('amqp://guest:guest@127.0.0.1:5672//', None),
])
def test_sqlite_file_of_a_url(url, path):
    assert paths.sqlite_file(url) == path


def test_missing_directories_are_created_private(tmp_path):
    target = tmp_path / 'a' / 'b'
    paths.ensure_sqlite_dir('sqlite:///%s/drydock.sqlite' % target)
    assert target.is_dir()
    assert stat.S_IMODE(target.stat().st_mode) == 0o700


def test_a_file_in_the_way_is_named(tmp_path):
    (tmp_path / 'state').write_text('not a directory')
    with pytest.raises(exception.StatePathError) as err:
        paths.ensure_sqlite_dir('sqla+sqlite:///%s/state/workplane.sqlite'
                                % tmp_path)
    assert str(tmp_path / 'state') in err.value.message
