"""Fetch the bytes behind a ``design_ref``, bounded in time, size and kind.

The manager fetches designs inside RPC workers and the executor inside its
work loop, so no reference may hold either for long, whoever wrote it:

- **Time.** One deadline covers the whole fetch: name resolution, connect,
  TLS, headers, every redirect and the body. A server that drips one byte
  at a time is cut off when the deadline passes, not when it pauses.
- **Kind.** ``file://`` opens regular files only, without blocking: a FIFO
  or a device (``/dev/kmsg``, ``/dev/zero``) is refused, never read. Only
  the size the file had when opened is read (procfs files say 0 and are
  therefore empty, never endless).
- **Where.** ``http(s)://`` follows at most ``MAX_REDIRECTS`` redirects,
  and only within the origin of the reference (same scheme, host and
  port), so a design server cannot send the manager to another service or
  to ``ftp://``. Proxies from the environment are not used.
- **Size.** At most ``MAX_DESIGN_BYTES``; a larger ``Content-Length`` is
  refused before the body is read.
- **Errors.** Every error is one line made of the reference without its
  password and text of drydock's own: nothing a server sent (a status
  line, a reason phrase, a redirect target, a body) is echoed.

A user and password in an ``http(s)://`` reference are sent as HTTP basic
authentication (to the same origin only, redirects included).
"""

import base64
import http
import http.client
import os
import socket
import ssl
import stat
import threading
import time
import urllib.parse

from drydockd.common import exception
from drydockd.common import redact

MAX_DESIGN_BYTES = 16 * 1024 * 1024
FETCH_TIMEOUT = 30.0          # seconds for a whole fetch, redirects included
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024


def fetch(ref, timeout=FETCH_TIMEOUT):
    """The bytes behind ``ref`` (``file:///abs/path``, ``http(s)://…``).

    :raises: DesignError naming the reference (password removed) and the
        reason in drydock's words.
    """
    ref = '' if ref is None else ref
    if not isinstance(ref, str):
        raise exception.DesignError(ref=repr(type(ref).__name__),
                                    reason='design_ref must be a string')
    parsed = urllib.parse.urlparse(ref)
    deadline = time.monotonic() + timeout
    if parsed.scheme == 'file':
        data = _read_file(ref, parsed, deadline, timeout)
    elif parsed.scheme in ('http', 'https'):
        data = _HTTPFetch(ref, parsed, deadline, timeout).run()
    else:
        raise _error(parsed, 'unsupported scheme; use file://, http:// '
                             'or https://')
    if not data:
        raise _error(parsed, 'the document is empty')
    return data


def safe_ref(ref):
    """``ref`` with its credentials masked (common.redact), for messages
    and logs."""
    if not isinstance(ref, str):
        return '<unreadable reference>'
    return redact.mask_ref(ref)


def _error(parsed, reason):
    return exception.DesignError(ref=safe_ref(parsed.geturl()),
                                 reason=reason)


def _too_large():
    return 'larger than %d bytes' % MAX_DESIGN_BYTES


# -- file:// ------------------------------------------------------------------

def _read_file(ref, parsed, deadline, timeout):
    path = urllib.parse.unquote(parsed.path)
    if parsed.netloc or not os.path.isabs(path):
        raise _error(parsed, 'file:// needs an absolute path '
                             '(file:///path/to/site.yaml)')
    if '\0' in path:
        raise _error(parsed, 'the path holds a NUL character')
    try:
        # Checked before opening, so a device is never even opened, and
        # again on the open descriptor, in case the path changed between.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise _error(parsed, 'not a regular file')
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY |
                     os.O_CLOEXEC)
    except OSError as exc:
        raise _error(parsed, exc.strerror or type(exc).__name__)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _error(parsed, 'not a regular file')
        if info.st_size > MAX_DESIGN_BYTES:
            raise _error(parsed, _too_large())
        chunks, left = [], info.st_size
        while left > 0:
            if time.monotonic() > deadline:
                raise _error(parsed, 'timed out after %gs' % timeout)
            chunk = os.read(fd, min(left, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b''.join(chunks)
    except OSError as exc:
        raise _error(parsed, exc.strerror or type(exc).__name__)
    finally:
        os.close(fd)


# -- http(s):// ---------------------------------------------------------------

def _origin(parsed):
    default = 443 if parsed.scheme == 'https' else 80
    return parsed.scheme, (parsed.hostname or '').lower(), \
        parsed.port or default


class _HTTPFetch:
    """One GET with same-origin redirects under one deadline.

    A watchdog timer shuts the socket down when the deadline passes, which
    wakes any read in progress (headers, TLS, body) at once; every socket
    operation also has the remaining time as its own timeout.
    """

    def __init__(self, ref, parsed, deadline, timeout):
        self.parsed = parsed
        self.deadline = deadline
        self.timeout = timeout
        self.expired = threading.Event()
        self.sock = None
        self.headers = {'User-Agent': 'drydock', 'Accept': '*/*'}
        if parsed.username is not None:
            pair = '%s:%s' % (urllib.parse.unquote(parsed.username),
                              urllib.parse.unquote(parsed.password or ''))
            self.headers['Authorization'] = 'Basic ' + base64.b64encode(
                pair.encode('utf-8')).decode('ascii')

    def run(self):
        try:
            self._check_url(self.parsed)
        except ValueError:
            raise _error(self.parsed, 'bad host or port')
        timer = threading.Timer(self.deadline - time.monotonic(),
                                self._expire)
        timer.daemon = True
        timer.start()
        try:
            return self._follow()
        except exception.DesignError:
            raise
        except Exception as exc:  # noqa: BLE001 - described, never echoed
            raise _error(self.parsed, self._describe(exc))
        finally:
            timer.cancel()
            self._close()

    def _follow(self):
        current = self.parsed
        for _ in range(MAX_REDIRECTS + 1):
            status, location, body = self._get(current)
            if status not in REDIRECTS:
                if status != 200:
                    raise _error(self.parsed, 'HTTP %d%s' % (
                        status, _phrase(status)))
                return body
            if not location:
                raise _error(self.parsed, 'HTTP %d redirect without a '
                                          'Location' % status)
            target = urllib.parse.urlparse(
                urllib.parse.urljoin(current.geturl(), location))
            if target.scheme not in ('http', 'https'):
                raise _error(self.parsed, 'redirected to a non-HTTP '
                                          'address (refused)')
            try:
                self._check_url(target)
                same = _origin(target) == _origin(self.parsed)
            except ValueError:
                same = False
            if not same:
                raise _error(self.parsed, 'redirected to another server '
                                          '(refused: give the final '
                                          'address as the design_ref)')
            current = target
        raise _error(self.parsed, 'more than %d redirects' % MAX_REDIRECTS)

    @staticmethod
    def _check_url(parsed):
        if not parsed.hostname:
            raise ValueError('no host')
        parsed.port     # raises ValueError for a bad port

    def _get(self, parsed):
        """``(status, Location or None, body or None)`` of one GET."""
        self._close()
        port = _origin(parsed)[2]
        self.sock = self._connect(parsed.hostname, port)
        if parsed.scheme == 'https':
            context = ssl.create_default_context()
            self.sock = context.wrap_socket(self.sock,
                                            server_hostname=parsed.hostname)
            conn = http.client.HTTPSConnection(parsed.hostname, port,
                                               context=context)
        else:
            conn = http.client.HTTPConnection(parsed.hostname, port)
        conn.sock = self.sock
        path = parsed.path or '/'
        if parsed.query:
            path += '?' + parsed.query
        conn.putrequest('GET', path, skip_accept_encoding=True)
        for name, value in self.headers.items():
            conn.putheader(name, value)
        conn.putheader('Connection', 'close')
        self._tick()
        conn.endheaders()
        self._tick()
        # Read the answer on our own socket rather than through
        # conn.getresponse(), which may close it under our timeouts.
        resp = conn.response_class(self.sock, method='GET')
        resp.begin()
        if resp.status in REDIRECTS:
            return resp.status, resp.getheader('Location'), None
        if resp.status != 200:
            return resp.status, None, None
        length = resp.getheader('Content-Length')
        if length and length.strip().isdigit() and \
                int(length) > MAX_DESIGN_BYTES:
            raise _error(self.parsed, _too_large())
        chunks, size = [], 0
        while True:
            self._tick()
            chunk = resp.read(CHUNK)
            if not chunk:
                return resp.status, None, b''.join(chunks)
            size += len(chunk)
            if size > MAX_DESIGN_BYTES:
                raise _error(self.parsed, _too_large())
            chunks.append(chunk)

    def _connect(self, host, port):
        """A TCP connection; name resolution runs in a helper thread so
        that a hung resolver cannot outlive the deadline either."""
        found = {}
        done = threading.Event()

        def resolve():
            try:
                found['addrs'] = socket.getaddrinfo(host, port,
                                                    type=socket.SOCK_STREAM)
            except OSError as exc:
                found['error'] = exc
            done.set()

        threading.Thread(target=resolve, daemon=True,
                         name='design-resolve').start()
        if not done.wait(self._remaining()):
            raise socket.timeout('name resolution timed out')
        if 'error' in found:
            raise found['error']
        error = None
        for family, kind, proto, _, address in found['addrs']:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(self._remaining())
                sock.connect(address)
                return sock
            except OSError as exc:
                error = exc
                sock.close()
        raise error or OSError('no address')

    def _remaining(self):
        left = self.deadline - time.monotonic()
        if left <= 0 or self.expired.is_set():
            raise socket.timeout('deadline passed')
        return left

    def _tick(self):
        """Give the next socket operation only the time that is left."""
        if self.sock is not None:
            self.sock.settimeout(self._remaining())

    def _expire(self):
        self.expired.set()
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass        # already closed: the fetch is ending anyway

    def _close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _describe(self, exc):
        """drydock's words for a failure; never the server's."""
        if self.expired.is_set() or isinstance(exc, socket.timeout):
            return 'timed out after %gs' % self.timeout
        if isinstance(exc, ssl.SSLCertVerificationError):
            return 'TLS certificate not trusted (%s)' % (
                exc.verify_message or 'verification failed')
        if isinstance(exc, ssl.SSLError):
            return 'TLS handshake failed'
        if isinstance(exc, http.client.InvalidURL):
            return 'not a valid URL'
        if isinstance(exc, http.client.IncompleteRead):
            return 'the connection closed before the whole document came'
        if isinstance(exc, http.client.HTTPException):
            return 'the server did not answer with HTTP'
        if isinstance(exc, socket.gaierror):
            return 'cannot resolve the host name (%s)' % exc.strerror
        if isinstance(exc, OSError) and exc.strerror:
            return exc.strerror
        return 'fetch failed (%s)' % type(exc).__name__


def _phrase(status):
    try:
        return ' ' + http.HTTPStatus(status).phrase
    except ValueError:
        return ''
