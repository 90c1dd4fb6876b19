"""[oob] options: the power-state sync.

The leader manager asks an executor for a sweep every ``sync_interval``
seconds; the executor reads every node's power state through its BMC
with at most ``sync_workers`` calls in flight, and reports what it read
to the receiver (docs/oob.md).
"""

from oslo_config import cfg

GROUP = 'oob'

opts = [
    cfg.IntOpt('sync_interval', default=300, min=0,
               help='Seconds between power-state sweeps over every node '
                    'with a BMC; 0 turns the sync off. The first sweep '
                    'runs one interval after a manager becomes leader.'),
    cfg.IntOpt('sync_workers', default=32, min=1,
               help='Most BMC calls in flight during a sweep (each '
                    "driver's max_concurrency still applies)."),
    cfg.BoolOpt('force_power_state', default=False,
                help='When a sweep finds a node in another power state '
                     'than drydock expects (power_drift), power it back '
                     'to the expected state; otherwise drydock records '
                     'the drift and takes the state read as the truth. '
                     'Nodes held by a running task are never corrected.'),
    cfg.IntOpt('sync_report_batch', default=500, min=1,
               help='Node readings per report a sweep sends to the '
                    'receiver.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
