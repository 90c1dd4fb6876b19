"""[manager] options."""

from oslo_config import cfg

GROUP = 'manager'

opts = [
    cfg.StrOpt('topic', default='drydock',
               help='oslo.messaging topic of the public RPC API.'),
    cfg.StrOpt('api_version_cap',
               help='Highest RPC API version clients send, for rolling '
                    'upgrades (e.g. 1.0). Unset: the newest.'),
    cfg.IntOpt('rpc_timeout', default=60, min=1,
               help='Seconds a client waits for an RPC reply.'),
    cfg.IntOpt('deploy_timeout', default=3600, min=1,
               help='Seconds a deployment task may run before it is '
                    'failed as timed out.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
