"""[manager] options."""

from oslo_config import cfg

GROUP = 'manager'

opts = [
    cfg.IntOpt('max_output_chars', default=16384, min=256,
               help='Characters of one status message, or of one history '
                    'row\'s custom or summary (what a graph task '
                    'printed), returned over the API; longer ones are cut '
                    'and marked truncated (the database keeps them '
                    'whole).'),
    cfg.StrOpt('topic', default='drydock',
               help='oslo.messaging topic of the public RPC API.'),
    cfg.StrOpt('api_version_cap',
               help='Highest RPC API version clients send, for rolling '
                    'upgrades (e.g. 1.0). Unset: the newest.'),
    cfg.IntOpt('rpc_timeout', default=60, min=1,
               help='Seconds a client waits for an RPC reply.'),
    cfg.IntOpt('deploy_timeout', default=3600, min=1,
               help='Seconds a deployment task may take from creation; '
                    'an executor refuses work past it and the leader '
                    'fails the task.'),
    cfg.IntOpt('provision_timeout', default=1800, min=1,
               help='Seconds a node has, after its PXE power cycle, to '
                    'report provisioned before it is failed.'),
    cfg.FloatOpt('lease_interval', default=5.0, min=0.1,
                 help='Seconds between leader-lease renewals and reaper '
                      'runs.'),
    cfg.FloatOpt('lease_grace', default=30.0, min=0.2,
                 help='Seconds without renewal after which another '
                      'manager takes the leader lease.'),
    cfg.FloatOpt('executor_timeout', default=60.0, min=0.2,
                 help='Seconds without any report (executors heartbeat '
                      'every [executor] heartbeat_interval) after which '
                      'the leader fails a running task.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
