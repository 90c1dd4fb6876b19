"""Where the embedded default keeps its files, and making sure it can.

The embedded default (SQLite database, SQLite-backed work plane) lives in
``[DEFAULT] state_path``. Its default must work for whoever runs drydock
with no config file: root, or a service user that systemd gives
``/var/lib/drydock`` (``StateDirectory=drydock``), gets ``/var/lib/drydock``;
anyone else gets a per-user directory after the XDG base-directory rules
(``$XDG_STATE_HOME/drydock``, else ``~/.local/state/drydock``). The
directory is created, private to its owner, when a SQLite file in it is
first used, and every error about it names the path.
"""

import os
import urllib.parse

from drydockd.common import exception

SYSTEM_STATE_PATH = '/var/lib/drydock'


def default_state_path(euid=None, environ=None):
    """The ``state_path`` to use when the config names none."""
    euid = os.geteuid() if euid is None else euid
    environ = os.environ if environ is None else environ
    if euid == 0 or os.access(SYSTEM_STATE_PATH, os.W_OK | os.X_OK):
        return SYSTEM_STATE_PATH
    base = environ.get('XDG_STATE_HOME', '')
    if not os.path.isabs(base):     # unset, empty or relative: ignored
        home = environ.get('HOME') or os.path.expanduser('~')
        base = os.path.join(home, '.local', 'state')
    return os.path.join(base, 'drydock')


def sqlite_file(url):
    """The file behind a SQLite URL (``sqlite:///relative``,
    ``sqlite:////absolute``, ``sqla+sqlite:///…``, a driver such as
    ``sqlite+pysqlite`` allowed), or None for other URLs and in-memory
    databases."""
    scheme, sep, rest = url.partition('://')
    scheme = scheme.removeprefix('sqla+')
    if not sep or scheme.split('+')[0] != 'sqlite':
        return None
    path = urllib.parse.unquote(rest.partition('?')[0])
    if not path.startswith('/') or path in ('/', '/:memory:'):
        return None
    return path[1:]


def ensure_sqlite_dir(url):
    """Create the directory of a SQLite URL's file (mode 0700) if needed
    and check this user can write there.

    :raises: StatePathError naming the directory.
    """
    path = sqlite_file(url)
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise exception.StatePathError(path=directory,
                                       reason=exc.strerror or str(exc))
    if not os.path.isdir(directory):
        raise exception.StatePathError(path=directory,
                                       reason='not a directory')
    if not os.access(directory, os.W_OK | os.X_OK):
        raise exception.StatePathError(path=directory,
                                       reason='not writable by this user')
    if os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
        raise exception.StatePathError(
            path=path, reason='not readable and writable by this user')


# A source checkout's examples (etc/drydock/demo-site.yaml), next to the
# package; absent from an installed wheel.
EXAMPLES_DIR = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', 'etc',
    'drydock'))
SAMPLE_DESIGN_ROOTS = ('/etc/drydock', '/srv/drydock', '$state_path')


def default_design_roots():
    """``[site] design_file_roots`` when the config names none: the
    system's drydock directories, the state path, and the examples when
    drydock runs from a source checkout (``tools/demo``)."""
    roots = list(SAMPLE_DESIGN_ROOTS)
    if os.path.isdir(EXAMPLES_DIR):
        roots.append(EXAMPLES_DIR)
    return roots
