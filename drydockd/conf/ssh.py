"""[ssh] options: the ssh node transport (OpenSSH client, batch mode)."""

from oslo_config import cfg

GROUP = 'ssh'

opts = [
    cfg.StrOpt('ssh_binary', default='ssh',
               help='OpenSSH client to run.'),
    cfg.StrOpt('user', help='Remote user when a node names none.'),
    cfg.PortOpt('port', help='Remote port when a node names none.'),
    cfg.StrOpt('identity_file', help='Private key to offer.'),
    cfg.StrOpt('known_hosts_file',
               help='Known hosts file; host keys are always checked '
                    '(StrictHostKeyChecking=yes).'),
    cfg.IntOpt('connect_timeout', default=10, min=1,
               help='Seconds to establish a connection.'),
    cfg.IntOpt('output_tail_bytes', default=4096, min=0,
               help='Bytes of stdout/stderr kept in the report summary.'),
    cfg.FloatOpt('reboot_poll_interval', default=5.0, min=0.1,
                 help='Seconds between checks that a rebooted node is '
                      'back (its boot id changed).'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
