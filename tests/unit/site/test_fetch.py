"""Fetching design references: bounded in time, size and kind; errors of
drydock's own words. The peers are real local servers (http.server and
raw sockets in threads) and real FIFOs and devices."""

import base64
import http.server
import os
import socket
import threading
import time

import pytest

import conftest
from drydockd.common import exception
from drydockd.site import design
from drydockd.site import fetch

with open(conftest.DEMO_SITE, 'rb') as _f:
    SITE = _f.read()
PASSWORD = 's3cret-never-shown'


class _Handler(http.server.BaseHTTPRequestHandler):

    def do_GET(self):
        self.server.hits.append(self.path)
        routes = self.server.routes
        if self.path not in routes:
            self.send_error(404)
            return
        status, headers, body = routes[self.path](self)
        self.send_response(status, headers.pop('reason', None))
        for name, value in headers.items():
            self.send_header(name, value)
        if 'Content-Length' not in headers:
            self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(routes):
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    httpd.routes, httpd.hits = routes, []
    threading.Thread(target=httpd.serve_forever, args=(0.05,),
                     daemon=True).start()
    return httpd


def _auth(handler):
    want = 'Basic ' + base64.b64encode(
        ('admin:%s' % PASSWORD).encode()).decode()
    if handler.headers.get('Authorization') != want:
        return 401, {}, b'SECRET-401-BODY'
    return 200, {}, SITE


@pytest.fixture
def servers():
    """Two HTTP servers: the design server and 'another service'."""
    other = _serve({'/site.yaml': lambda h: (200, {}, SITE)})
    other_url = 'http://127.0.0.1:%d' % other.server_address[1]

    def to(location):
        return lambda h: (302, {'Location': location}, b'')

    main = _serve({
        '/site.yaml': lambda h: (200, {}, SITE),
        '/big.yaml': lambda h: (200, {}, b'#' * 4096),
        '/huge-length.yaml': lambda h: (200, {'Content-Length': '999999999'},
                                        b'nodes: []\n'),
        '/empty.yaml': lambda h: (200, {}, b''),
        '/reason.yaml': lambda h: (404, {'reason': 'SECRET-REASON'},
                                   b'SECRET-BODY'),
        '/teapot.yaml': lambda h: (599, {'reason': 'SECRET'}, b''),
        '/auth.yaml': _auth,
        '/same.yaml': to('/site.yaml'),
        '/same-absolute.yaml': None,     # filled below: needs the port
        '/other-port.yaml': to(other_url + '/site.yaml'),
        '/ftp.yaml': to('ftp://127.0.0.1/site.yaml'),
        '/file.yaml': to('file://' + conftest.DEMO_SITE),
        '/https.yaml': None,
        '/loop.yaml': to('/loop.yaml'),
        '/nowhere.yaml': lambda h: (302, {}, b''),
    })
    url = 'http://127.0.0.1:%d' % main.server_address[1]
    main.routes['/same-absolute.yaml'] = to(url + '/site.yaml')
    main.routes['/https.yaml'] = to(url.replace('http:', 'https:') +
                                    '/site.yaml')
    yield url, main, other
    for httpd in (main, other):
        httpd.shutdown()
        httpd.server_close()


def _error(ref, **kwargs):
    with pytest.raises(exception.DesignError) as err:
        fetch.fetch(ref, **kwargs)
    return err.value.message


def test_http_design_loads(servers):
    url, _, _ = servers
    assert len(design.load(url + '/site.yaml')['nodes']) == 8


@pytest.mark.parametrize('path', ['/same.yaml', '/same-absolute.yaml'])
def test_redirects_within_the_origin_are_followed(servers, path):
    url, main, _ = servers
    assert fetch.fetch(url + path) == SITE
    assert main.hits[-1] == '/site.yaml'


@pytest.mark.parametrize('path, reason', [
    ('/other-port.yaml', 'redirected to another server (refused'),
    ('/https.yaml', 'redirected to another server (refused'),
    ('/ftp.yaml', 'redirected to a non-HTTP address (refused)'),
    ('/file.yaml', 'redirected to a non-HTTP address (refused)'),
    ('/loop.yaml', 'more than 5 redirects'),
    ('/nowhere.yaml', 'HTTP 302 redirect without a Location'),
])
def test_other_redirects_are_refused(servers, path, reason):
    url, _, other = servers
    message = _error(url + path)
    assert message.startswith('Design %s%s is invalid: %s'
                              % (url, path, reason)), message
    assert str(other.server_address[1]) not in message
    assert other.hits == []


def test_http_errors_never_echo_the_server(servers):
    url, _, _ = servers
    message = _error(url + '/reason.yaml')
    assert message.endswith('is invalid: HTTP 404 Not Found')
    assert 'SECRET' not in message
    assert _error(url + '/teapot.yaml').endswith('is invalid: HTTP 599')
    assert _error(url + '/empty.yaml').endswith('the document is empty')


def test_size_limits(servers, monkeypatch):
    url, _, _ = servers
    monkeypatch.setattr(fetch, 'MAX_DESIGN_BYTES', 1024)
    assert _error(url + '/big.yaml').endswith('larger than 1024 bytes')
    # Refused on the announced length, before any body is read.
    monkeypatch.setattr(fetch, 'MAX_DESIGN_BYTES', 10 ** 8)
    started = time.monotonic()
    assert _error(url + '/huge-length.yaml').endswith(
        'larger than 100000000 bytes')
    assert time.monotonic() - started < 5


def test_basic_auth_from_the_reference(servers):
    url, _, _ = servers
    with_user = url.replace('http://', 'http://admin:%s@' % PASSWORD)
    assert fetch.fetch(with_user + '/auth.yaml') == SITE
    wrong = _error(url.replace('http://', 'http://admin:wrong-%s@'
                               % PASSWORD) + '/auth.yaml')
    assert wrong == 'Design %s/auth.yaml is invalid: HTTP 401 ' \
        'Unauthorized' % url.replace('http://', 'http://***@')
    missing = _error(with_user + '/missing.yaml')
    assert PASSWORD not in missing and 'admin' not in missing
    assert '127.0.0.1' in missing


# -- peers that are not well-behaved HTTP servers -----------------------------

class _RawPeer:
    """A TCP server whose connections are handled by ``serve(conn)``;
    stops (and closes every connection) on ``close``."""

    def __init__(self, serve):
        self.sock = socket.create_server(('127.0.0.1', 0))
        self.url = 'http://127.0.0.1:%d/site.yaml' % self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.serve = serve
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._run, args=(conn,),
                             daemon=True).start()

    def _run(self, conn):
        try:
            self.serve(conn, self.stop)
        except OSError:
            pass       # the client gave up: that is what tests expect

    def close(self):
        self.stop.set()
        self.sock.close()
        for conn in self.conns:
            conn.close()


def _drip(head):
    """Answer ``head`` at once, then one byte every 0.2 s for ever."""
    def serve(conn, stop):
        conn.recv(65536)
        conn.sendall(head)
        while not stop.wait(0.2):
            conn.sendall(b'x')
    return serve


@pytest.mark.parametrize('serve', [
    _drip(b''),                                            # status line
    _drip(b'HTTP/1.0 200 OK\r\nX-Slow: '),                  # headers
    _drip(b'HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n'),   # body
    lambda conn, stop: stop.wait(),                         # silence
], ids=['status', 'headers', 'body', 'silent'])
def test_a_slow_server_is_cut_off_at_the_deadline(serve):
    peer = _RawPeer(serve)
    try:
        started = time.monotonic()
        message = _error(peer.url, timeout=1.0)
        elapsed = time.monotonic() - started
    finally:
        peer.close()
    assert message.endswith('is invalid: timed out after 1s'), message
    assert elapsed < 2.5


def test_a_non_http_service_is_not_echoed():
    def banner(conn, stop):
        conn.sendall(b'SSH-2.0-OpenSSH_9.2p1 SECRET-BANNER\r\n')
        stop.wait()
    peer = _RawPeer(banner)
    try:
        message = _error(peer.url, timeout=5.0)
    finally:
        peer.close()
    assert message.endswith('is invalid: the server did not answer with '
                            'HTTP'), message
    assert 'SSH' not in message and 'SECRET' not in message


def test_connection_refused_is_clear():
    with socket.create_server(('127.0.0.1', 0)) as sock:
        port = sock.getsockname()[1]
    message = _error('http://127.0.0.1:%d/site.yaml' % port)
    assert message.endswith('is invalid: Connection refused')


@pytest.mark.parametrize('ref', ['http://:80/site.yaml',
                                 'http://127.0.0.1:99999/site.yaml',
                                 'https:///site.yaml'])
def test_bad_http_references(ref):
    assert _error(ref) == 'Design %s is invalid: bad host or port' % ref


# -- file:// ------------------------------------------------------------------

def _within(seconds, func):
    """Run ``func`` in a thread; fail if it has not returned in time."""
    result = {}

    def run():
        try:
            result['value'] = func()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            result['error'] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), 'still blocked after %ss' % seconds
    if 'error' in result:
        raise result['error']
    return result.get('value')


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / 'site.yaml'
    os.mkfifo(fifo)
    with pytest.raises(exception.DesignError) as err:
        _within(5, lambda: fetch.fetch('file://%s' % fifo))
    assert err.value.message.endswith('is invalid: not a regular file')


@pytest.mark.parametrize('path', ['/dev/kmsg', '/dev/zero', '/dev/null'])
def test_devices_are_refused(path):
    assert os.path.exists(path)
    with pytest.raises(exception.DesignError) as err:
        _within(5, lambda: fetch.fetch('file://' + path))
    assert err.value.message.endswith('is invalid: not a regular file')


def test_directories_and_empty_files(tmp_path):
    assert _error('file://%s' % tmp_path).endswith('not a regular file')
    (tmp_path / 'empty.yaml').write_bytes(b'')
    assert _error('file://%s/empty.yaml' % tmp_path).endswith(
        'the document is empty')
    # procfs says size 0: read as empty, never as an endless stream.
    assert _error('file:///proc/self/status').endswith(
        'the document is empty')


def test_a_symlink_to_a_regular_file_is_read(tmp_path):
    link = tmp_path / 'site.yaml'
    link.symlink_to(conftest.DEMO_SITE)
    assert fetch.fetch('file://%s' % link) == SITE


def test_a_large_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, 'MAX_DESIGN_BYTES', 1024)
    path = tmp_path / 'big.yaml'
    path.write_bytes(b'#' * 1025)
    assert _error('file://%s' % path).endswith('larger than 1024 bytes')


def test_file_reference_never_shows_a_password():
    message = _error('file://admin:%s@/etc/site.yaml' % PASSWORD)
    assert PASSWORD not in message
    assert 'absolute path' in message


@pytest.mark.parametrize('ref', [123, ['file:///etc/site.yaml'], b'x'])
def test_a_reference_must_be_a_string(ref):
    assert _error(ref).endswith('design_ref must be a string')
