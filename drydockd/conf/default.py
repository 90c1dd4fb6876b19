"""[DEFAULT] options: identity of this host and where the work plane lives."""

import socket

from oslo_config import cfg

from drydockd.common import paths

opts = [
    cfg.StrOpt('host', default=socket.gethostname(),
               sample_default='<hostname>',
               help='Name of this drydock host, used in heartbeats, the '
                    'leader lease and messages that name an executor.'),
    cfg.StrOpt('state_path', default=paths.default_state_path(),
               sample_default=paths.SYSTEM_STATE_PATH,
               help='Directory for the embedded default\'s SQLite files, '
                    'created (mode 0700) when first used. Default: '
                    '/var/lib/drydock for root or a user who can write '
                    'it; otherwise $XDG_STATE_HOME/drydock, else '
                    '~/.local/state/drydock.'),
    cfg.StrOpt('work_transport_url',
               default='sqla+sqlite:///$state_path/workplane.sqlite',
               secret=True,
               help='kombu URL of the work plane (manager -> executor -> '
                    'receiver). Production: amqp://user:pass@host:5672//. '
                    'The embedded default is a SQLite-backed kombu virtual '
                    'transport that crosses processes without a broker.'),
    cfg.FloatOpt('work_polling_interval', default=0.05, min=0.001,
                 help='Seconds between polls on broker-less work-plane '
                      'transports (ignored on AMQP).'),
    cfg.FloatOpt('publish_timeout', default=10.0, min=0.1,
                 help='Seconds one work-plane publish may take, connecting '
                      'and the broker\'s confirm included, before it '
                      'fails: the manager then fails the task it was '
                      'handing to an executor, and an executor keeps the '
                      'report and publishes it again. Keep it well under '
                      '[manager] rpc_timeout and executor_timeout.'),
    cfg.IntOpt('max_message_bytes', default=8 * 1024 * 1024, min=1024,
               help='Largest work-plane body (after decompression) that is '
                    'accepted; larger ones are dead-lettered.'),
]


def register_opts(conf):
    conf.register_opts(opts)
