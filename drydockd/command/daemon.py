"""``drydockd manager|executor|receiver|all-in-one``."""

import logging
import sys
import warnings

# oslo.messaging imports eventlet (through oslo.service) on import; drydock
# never uses it, and its deprecation banner would open every daemon log.
warnings.filterwarnings('ignore', message=r'(?s).*Eventlet is deprecated')

from drydockd.command import services  # noqa: E402
from drydockd.common import exception  # noqa: E402
from drydockd.common import logs  # noqa: E402
from drydockd.conf import config  # noqa: E402

USAGE = ('usage: drydockd {%s} [--config-file FILE] [--debug]'
         % ','.join(services.BUILDERS))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in services.BUILDERS:
        print(USAGE, file=sys.stderr)
        return 2
    conf = config.parse_args(argv[1:])
    logs.setup(conf.debug)
    try:
        launcher = services.BUILDERS[argv[0]](conf)
    except (exception.DatabaseNotCurrent, exception.StatePathError) as exc:
        logging.getLogger(__name__).error('%s', exc.message)
        return 1
    return launcher.run()


if __name__ == '__main__':
    sys.exit(main())
