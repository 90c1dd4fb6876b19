"""``drydock2``: the operator CLI (cliff)."""

import logging
import os
import sys
import warnings

from cliff import app
from cliff import commandmanager

from drydock_client.cli import clientmanager

VERSION = '0.1.0'
QUIET_LOGGERS = ('drydockd', 'oslo_messaging', 'oslo_service', 'kombu',
                 'amqp', 'alembic', 'stevedore')


class Drydock2(app.App):

    def __init__(self):
        super().__init__(
            description='drydock: provision and deploy bare-metal nodes',
            version=VERSION,
            command_manager=commandmanager.CommandManager('drydock.cli'),
            deferred_help=True)
        self.client_manager = None

    def build_option_parser(self, description, version, argparse_kwargs=None):
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs)
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
        """Libraries speak only on errors unless --debug/-v is given."""
        super().configure_logging()
        if not self.options.debug and self.options.verbose_level < 2:
            warnings.filterwarnings('ignore',
                                    message=r'(?s).*Eventlet is deprecated')
            for name in QUIET_LOGGERS:
                logging.getLogger(name).setLevel(logging.ERROR)

    def initialize_app(self, argv):
        self.client_manager = clientmanager.ClientManager(
            self.options.config_file, self.options.os_transport_url,
            self.options.timeout)

    def clean_up(self, cmd, result, err):
        if self.client_manager is not None:
            self.client_manager.close()


def main(argv=None):
    return Drydock2().run(sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
