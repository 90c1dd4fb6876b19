"""``drydock2``: the operator CLI (cliff).

Errors are one line on stderr with a non-zero exit status: 1 for what the
service refused or could not do, 2 for a bad command line. ``--debug``
adds the traceback. Nothing here imports oslo.messaging or drydockd:
commands reach them through ``self.app.client_manager`` only when they
talk to drydock, so ``drydock2 --help`` starts in a fraction of a second.
"""

import logging
import os
import sys
import warnings

from cliff import app
from cliff import commandmanager

from drydock_client import exceptions
from drydock_client.cli import clientmanager
from drydock_client.cli.errors import CommandError

QUIET_LOGGERS = ('drydockd', 'oslo_messaging', 'oslo_service', 'oslo_config',
                 'kombu', 'amqp', 'alembic', 'stevedore', 'sqlalchemy',
                 'matplotlib', 'fontTools', 'PIL')
EXIT_USAGE = 2


class _OneLineLog:
    """cliff reports errors through ``App.LOG``; this keeps them one line.

    ``error(exc)`` prints the exception's first line (a ``CommandError`` as
    is, anything unexpected with its type); ``exception(exc)``, used by
    cliff when ``--debug`` is given, prints the full traceback.
    """

    def __init__(self, logger):
        self._log = logger

    def error(self, msg, *args):
        if isinstance(msg, BaseException):
            msg, args = one_line(msg), ()
        self._log.error(msg, *args)

    def exception(self, msg, *args):
        self._log.exception(msg, *args)

    def __getattr__(self, name):
        return getattr(self._log, name)


def one_line(exc):
    """An exception as the one line an operator reads."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ''
    if isinstance(exc, (CommandError, exceptions.DrydockError)):
        return first
    name = type(exc).__name__
    return '%s: %s' % (name, first) if first else name


def _version():
    """The installed distribution's version (written in pyproject.toml)."""
    from importlib import metadata
    try:
        return metadata.version('drydock')
    except metadata.PackageNotFoundError:
        return 'unknown'


def _usage_error(parser, message):
    """argparse's ``error`` in one line (it prints the usage first)."""
    parser.exit(EXIT_USAGE, "%s: error: %s (see '%s --help')\n"
                % (parser.prog, message, parser.prog))


class Drydock2(app.App):

    def __init__(self):
        super().__init__(
            description='drydock: provision and deploy bare-metal nodes',
            version=_version(),
            command_manager=commandmanager.CommandManager('drydock.cli'),
            deferred_help=True)
        self.client_manager = None
        self.LOG = _OneLineLog(logging.getLogger('drydock2'))

    def build_option_parser(self, description, version, argparse_kwargs=None):
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs)
        parser.prog = 'drydock2'
        parser.error = lambda message: _usage_error(parser, message)
        env_config = os.environ.get('DRYDOCK_CONFIG')
        parser.add_argument(
            '--config-file', action='append',
            default=[env_config] if env_config else [],
            help='drydock config file (env DRYDOCK_CONFIG)')
        parser.add_argument(
            '--os-transport-url',
            default=os.environ.get('DRYDOCK_TRANSPORT_URL'),
            help='oslo.messaging URL of the API plane (env '
                 'DRYDOCK_TRANSPORT_URL); unset: the embedded default')
        parser.add_argument('--timeout', type=int, default=None,
                            help='seconds to wait for an RPC reply')
        return parser

    def configure_logging(self):
        """Libraries stay silent unless --debug or -vv is given: their
        failures reach the operator as one CommandError line."""
        super().configure_logging()
        if not self.options.debug and self.options.verbose_level < 2:
            warnings.filterwarnings('ignore',
                                    message=r'(?s).*Eventlet is deprecated')
            for name in QUIET_LOGGERS:
                logging.getLogger(name).setLevel(logging.CRITICAL)

    def initialize_app(self, argv):
        self.client_manager = clientmanager.ClientManager(
            self.options.config_file, self.options.os_transport_url,
            self.options.timeout)

    def run_subcommand(self, argv):
        """An unknown command is one line on stderr, exit 2."""
        try:
            self.command_manager.find_command(argv)
        except ValueError:
            matches = self.get_fuzzy_matches(argv[0]) if argv else []
            hint = ('; did you mean %s?' % ', '.join(matches[:3])
                    if matches else '.')
            self.stderr.write("drydock2: '%s' is not a drydock2 command%s "
                              "See 'drydock2 --help'.\n"
                              % (' '.join(argv), hint))
            return EXIT_USAGE
        return super().run_subcommand(argv)

    def prepare_to_run_command(self, cmd):
        """Give the command's parser the one-line usage error."""
        _skip_plugin_epilog()
        get_parser = cmd.get_parser

        def one_line_errors(prog_name):
            parser = get_parser(prog_name)
            parser.error = lambda message: _usage_error(parser, message)
            return parser
        cmd.get_parser = one_line_errors

    def clean_up(self, cmd, result, err):
        if self.client_manager is not None:
            self.client_manager.close()


def _skip_plugin_epilog():
    """Every drydock2 command comes from drydock itself, so cliff's epilog
    "This command is provided by the X plugin" never applies; computing it
    maps every installed distribution's files (~0.1 s per command run).
    An empty module-to-distribution map skips that work."""
    from cliff import command
    if getattr(command, '_dists_by_mods', {}) is None:
        command._dists_by_mods = {}


def main(argv=None):
    # eventlet (pulled in by oslo.messaging through oslo.service) would
    # load dnspython for a green resolver drydock never uses: 0.2 s.
    os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')
    return Drydock2().run(sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
