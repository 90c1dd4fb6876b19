"""Parse configuration into the process-wide ``CONF``.

The global ``cfg.CONF`` is used (as Ironic does) because oslo.messaging
registers its tracing and metrics groups only there.
"""

import os

from oslo_config import cfg

from drydockd.conf import opts

CONF = cfg.CONF
_registered = False


CLI_OPTS = [cfg.BoolOpt('debug', short='d', default=False,
                        help='Log at DEBUG level.'),
            cfg.BoolOpt('allow-root', default=False,
                        help='Let drydockd run as root, which it refuses '
                             'otherwise (DRYDOCK_ALLOW_ROOT=1 does the '
                             'same).')]


def register():
    global _registered
    if not _registered:
        opts.register_opts(CONF)
        CONF.register_cli_opts(CLI_OPTS)
        _registered = True
    return CONF


def parse_args(argv, default_config_files=None):
    """Register every group and parse ``argv`` and the config files.

    ``DRYDOCK_CONFIG`` names a config file when none is given on the
    command line, so that a shell can point every command at one site.
    """
    register()
    if default_config_files is None:
        env = os.environ.get('DRYDOCK_CONFIG')
        default_config_files = [env] if env else None
    CONF(argv, project='drydock', default_config_files=default_config_files)
    return CONF
