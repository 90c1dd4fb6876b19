"""``drydockd manager|executor|receiver|all-in-one``."""

import logging
import os
import sys
import threading
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
    refusal = refuse_root(conf, os.geteuid(), os.environ)
    if refusal:
        logging.getLogger(__name__).error('%s', refusal)
        return 1
    try:
        launcher = services.BUILDERS[argv[0]](conf)
    except exception.DrydockException as exc:
        # A start-up check: an unmigrated database, an unusable state
        # directory, a pyghmi whose internals moved.
        logging.getLogger(__name__).error('%s', exc.message)
        return 1
    code = launcher.run()
    _exit_past_stuck_threads(code)
    return code


def refuse_root(conf, euid, environ):
    """Why drydockd will not start as this user, or None.

    The daemons need no privilege (systemd/ runs them as ``drydock``):
    as root, a design's command or a bug would own the master node. An
    operator who means it says so.
    """
    if euid != 0 or conf.allow_root or \
            environ.get('DRYDOCK_ALLOW_ROOT') == '1':
        return None
    return ('drydockd refuses to run as root: run it as an unprivileged '
            'user (the systemd units use "drydock"), or pass --allow-root '
            '(or set DRYDOCK_ALLOW_ROOT=1) if you mean it')


def _exit_past_stuck_threads(code):
    """Exit now even if a thread is still inside a BMC or SSH call.

    The drain has reported or given up on everything by now; Python would
    otherwise wait for such non-daemon worker threads at exit, past the
    drain, until systemd killed the process.
    """
    stuck = [t.name for t in threading.enumerate()
             if t is not threading.main_thread() and not t.daemon
             and t.is_alive()]
    if stuck:
        logging.getLogger(__name__).warning(
            'Exiting with %d threads still busy: %s', len(stuck),
            ', '.join(sorted(stuck)[:10]))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == '__main__':
    sys.exit(main())
