"""[executor] options."""

from oslo_config import cfg

GROUP = 'executor'

opts = [
    cfg.StrOpt('queue', default='drydock.executor',
               help='Durable queue the executors consume work from.'),
    cfg.StrOpt('service_exchange', default='drydock.executor_service',
               help='Fanout exchange for service messages (stop).'),
    cfg.StrOpt('node_transport', default='fake',
               help='How shell tasks reach a node (entry point in '
                    'drydock.node_transports): ssh for real sites, fake '
                    'for the simulator.'),
    cfg.StrOpt('oob_driver', default='design',
               help='How BMCs are driven: design (each node by the '
                    'driver its design names in oob.type, ipmi when it '
                    'names none), or one entry point of '
                    'drydock.oob_drivers for every node whatever its '
                    'design says: ipmi (pyghmi), redfish (sushy), or '
                    'fake for tests without BMCs.'),
    cfg.IntOpt('workers', default=4, min=1,
               help='Work messages one executor process runs at once.'),
    cfg.FloatOpt('report_interval', default=0.2, min=0.01,
                 help='Longest time in seconds transitions are held before '
                      'they are published while a task is busy.'),
    cfg.FloatOpt('heartbeat_interval', default=10.0, min=0.05,
                 help='Seconds between heartbeats of each running task; '
                      'keep well under [manager] executor_timeout.'),
    cfg.IntOpt('drain_timeout', default=30, min=0,
               help='Seconds SIGTERM waits for work in hand to finish.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
