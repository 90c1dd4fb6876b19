"""[database] options."""

from oslo_config import cfg

GROUP = 'database'

opts = [
    cfg.StrOpt('connection', secret=True,
               default='sqlite:///$state_path/drydock.sqlite',
               help='SQLAlchemy URL of the drydock database. Production: '
                    'postgresql+psycopg2://user:pass@host/drydock.'),
    cfg.IntOpt('pool_size', default=5, min=1,
               help='Connections kept open per process (server databases).'),
    cfg.IntOpt('deadlock_retries', default=5, min=0,
               help='How often a writer retries after a deadlock or '
                    'serialization failure before giving up.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
