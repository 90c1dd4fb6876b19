"""[ipmi] options: the pyghmi out-of-band driver."""

from oslo_config import cfg

GROUP = 'ipmi'


def bounds_opts(concurrency_help):
    """The bounds every BMC driver group has ([ipmi], [redfish]): tries,
    backoff, calls in flight and the power-change poll."""
    return [
        cfg.IntOpt('retries', default=3, min=1,
                   help='Attempts per BMC operation before it fails.'),
        cfg.FloatOpt('retry_backoff', default=0.5, min=0.0,
                     help='First backoff in seconds between attempts; it '
                          'doubles each time.'),
        cfg.IntOpt('max_concurrency', default=64, min=1,
                   help=concurrency_help),
        cfg.FloatOpt('status_poll_interval', default=0.5, min=0.01,
                     help='Seconds between power status reads while '
                          'waiting for a power change; the wait counts '
                          'against command_timeout.'),
    ]


opts = [
    cfg.FloatOpt('command_timeout', default=10.0, min=0.1,
                 help='Hard limit in seconds on one BMC operation '
                      '(login included).'),
    *bounds_opts('Most BMCs talked to at once by one process. Too many '
                 'at once may overwhelm a shared management network.'),
    cfg.BoolOpt('reuse_sessions', default=True,
                help='Keep each BMC session logged in after a call and '
                     'reuse it for the next call to that BMC (kept alive '
                     'by pyghmi; a session the BMC dropped is logged in '
                     'again). Off: log in and out for every call, never '
                     'holding one of the BMC\'s few session slots.'),
    cfg.IntOpt('max_kept_sessions', default=1000, min=1,
               help='Most sessions reuse_sessions keeps per process; past '
                    'it the least recently used is dropped (no longer kept '
                    'alive; the BMC expires it). pyghmi '
                    'looks at every kept session on every packet, so each '
                    'call costs more CPU the more are kept: an executor '
                    'of more BMCs than this logs in again to some of '
                    'them instead.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
