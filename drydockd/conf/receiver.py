"""[receiver] options."""

from oslo_config import cfg

GROUP = 'receiver'

opts = [
    cfg.StrOpt('queue', default='drydock.receiver',
               help='Durable queue the receivers consume reports from.'),
    cfg.IntOpt('batch_size', default=200, min=1,
               help='Most reports applied in one DB transaction; also '
                    'the consumer prefetch.'),
    cfg.IntOpt('batch_window_ms', default=50, min=1,
               help='Longest time in milliseconds a report waits for '
                    'its batch to fill before it is applied.'),
    cfg.IntOpt('drain_timeout', default=30, min=0,
               help='Seconds SIGTERM waits for the batch in hand.'),
    cfg.ListOpt('executor_identities',
                help='Broker users whose executor reports (*_resp) are '
                     'accepted (the AMQP user_id the broker validated). '
                     'Unset: the receiver\'s own work-plane user, as in a '
                     'one-user setup and the embedded default. Anything '
                     'else is dead-lettered with the reason.'),
    cfg.ListOpt('agent_identities',
                help='Broker users whose node_agent_resp reports are '
                     'accepted. Unset: the receiver\'s own work-plane '
                     'user.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
