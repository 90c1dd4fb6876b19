"""[graph] options: the deployment graph engine."""

from oslo_config import cfg

GROUP = 'graph'

opts = [
    cfg.IntOpt('max_busy_nodes', default=200, min=1,
               help='Most nodes running a graph task at once.'),
    cfg.IntOpt('default_task_timeout', default=600, min=1,
               help='Seconds a graph task may run when its parameters '
                    'give no timeout.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
