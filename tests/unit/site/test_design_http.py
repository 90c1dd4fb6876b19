"""http:// design references: fetched with a timeout and a size limit."""

import http.server
import threading

import pytest

import conftest
from drydockd.common import exception
from drydockd.site import design

SITE = open(conftest.DEMO_SITE, 'rb').read()


class _Handler(http.server.BaseHTTPRequestHandler):

    def do_GET(self):
        if self.path == '/slow.yaml':
            self.server.release.wait(5)
        if self.path in ('/site.yaml', '/slow.yaml'):
            body = SITE
        elif self.path == '/big.yaml':
            body = b'#' * 4096
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


def test_http_design_loads(server):
    doc = design.load(server + '/site.yaml')
    assert len(doc['nodes']) == 8


def test_http_errors_are_clear(server, monkeypatch):
    with pytest.raises(exception.DesignError, match='404'):
        design.fetch(server + '/missing.yaml')
    monkeypatch.setattr(design, 'MAX_DESIGN_BYTES', 1024)
    with pytest.raises(exception.DesignError, match='larger than 1024'):
        design.fetch(server + '/big.yaml')
    monkeypatch.setattr(design, 'HTTP_TIMEOUT', 0.5)
    with pytest.raises(exception.DesignError, match='timed out'):
        design.fetch(server + '/slow.yaml')


def test_credentials_in_the_url_never_reach_the_error(server):
    url = server.replace('http://', 'http://admin:s3cret@') + '/missing.yaml'
    with pytest.raises(exception.DesignError) as info:
        design.fetch(url)
    assert 's3cret' not in info.value.message
    assert '127.0.0.1' in info.value.message
