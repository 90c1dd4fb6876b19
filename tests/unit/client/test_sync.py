"""What the client knows of the server's vocabulary cannot drift.

The client may not import drydockd, so it keeps its own copies of the few
names it validates or offers (statuses, power actions, config options);
these tests compare them with the server's.
"""

from oslo_config import cfg

from drydock_client.cli import clientmanager
from drydock_client.cli import history as history_cli
from drydock_client.cli import node as node_cli
from drydock_client.cli import task as task_cli
from drydock_client import client
from drydockd.api import rpc
from drydockd.common import actions
from drydockd.common import states
from drydockd.conf import manager as manager_opts


def test_statuses_and_actions():
    assert task_cli.TASK_STATUSES == states.TASK_STATUSES
    assert set(task_cli.FINAL) == states.TASK_FINAL
    assert set(client.FINAL_STATUSES) == states.TASK_FINAL
    assert history_cli.HISTORY_STATUSES == states.HISTORY_STATUSES
    assert node_cli.POWER_ACTIONS == actions.POWER_CHOICES


def test_client_options_match_the_servers():
    mine = clientmanager.client_opts()
    servers = {o.dest: o for o in manager_opts.opts}
    for opt in mine['manager']:
        assert opt.default == servers[opt.dest].default, opt.dest
        assert type(opt) is type(servers[opt.dest]), opt.dest
    conf = cfg.ConfigOpts()
    rpc.register_opts(conf)
    assert client.EXCHANGE == rpc.CONTROL_EXCHANGE
    assert client.TOPIC == servers['topic'].default
    defaults = {o.dest: o.default for o in mine['DEFAULT']}
    assert defaults['control_exchange'] == rpc.CONTROL_EXCHANGE
