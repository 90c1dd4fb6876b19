"""[graph] options: the deployment graph engine."""

from oslo_config import cfg

GROUP = 'graph'

opts = [
    cfg.IntOpt('max_busy_nodes', default=200, min=1,
               help='Most nodes running a graph task at once.'),
    cfg.IntOpt('default_task_timeout', default=600, min=1,
               help='Seconds a graph task may run when its parameters '
                    'give no timeout.'),
    cfg.IntOpt('max_deployment_tasks', default=300000, min=1,
               help='Most node tasks (selected nodes x their graph tasks: '
                    'the rows of its history) one deployment may have. '
                    'The manager refuses a larger deployment when it is '
                    'created, and an executor refuses one it is sent; '
                    'an executor holds about 2 KB per node task while it '
                    'runs (bench/README.md).'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
