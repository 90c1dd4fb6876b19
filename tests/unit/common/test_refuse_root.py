"""drydockd refuses to run as root unless the operator says so."""

import os
import subprocess
import sys

from oslo_config import cfg

from drydockd.command import daemon
from drydockd.conf import config


def _conf(*argv):
    conf = cfg.ConfigOpts()
    conf.register_cli_opts(config.CLI_OPTS)
    conf(list(argv), project='drydock', default_config_files=[])
    return conf


def test_root_is_refused_naming_the_option():
    refusal = daemon.refuse_root(_conf(), 0, {})
    assert '--allow-root' in refusal and 'DRYDOCK_ALLOW_ROOT=1' in refusal
    assert '\n' not in refusal


def test_root_when_asked_and_other_users():
    assert daemon.refuse_root(_conf('--allow-root'), 0, {}) is None
    assert daemon.refuse_root(_conf(), 0, {'DRYDOCK_ALLOW_ROOT': '1'}) is None
    assert daemon.refuse_root(_conf(), 0, {'DRYDOCK_ALLOW_ROOT': '0'})
    assert daemon.refuse_root(_conf(), 1000, {}) is None


def test_the_daemon_process_refuses_root(tmp_path):
    if os.geteuid() != 0:
        return      # only root can be refused; the unit tests above hold
    conf = tmp_path / 'drydock.conf'
    conf.write_text('[DEFAULT]\nstate_path = %s\n' % tmp_path)
    env = {k: v for k, v in os.environ.items() if k != 'DRYDOCK_ALLOW_ROOT'}
    done = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'drydockd'),
         'all-in-one', '--config-file', str(conf)],
        capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1
    assert done.stderr.count('\n') == 1, done.stderr
    assert 'drydockd refuses to run as root' in done.stderr
    assert not (tmp_path / 'drydock.sqlite').exists()
