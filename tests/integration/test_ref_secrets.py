"""A design_ref's credentials are found nowhere but in the fetch itself.

The design server wants HTTP basic authentication and a token in the
query. Tasks are created with such a reference on PostgreSQL with
RabbitMQ (three daemons) and on the embedded default (all-in-one), every
daemon logging at debug. Then the password and the token are looked for
in the daemons' logs, a dump of the database (pg_dump, sqlite's
iterdump) and ``drydock2`` output in every format; the design server
meanwhile saw both, so the fetches used the real reference.
"""

import base64
import http.server
import os
import sqlite3
import subprocess
import threading

import pytest

import conftest

PASSWORD = 'pw-Zr8vQ2-never-shown'
TOKEN = 'tok-K3m9X1-never-shown'
SITE = open(conftest.DEMO_SITE, 'rb').read()
FORMATS = ('json', 'table', 'yaml', 'value')


@pytest.fixture
def design_server():
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            auth = self.headers.get('Authorization', '')
            seen.append((self.path, auth))
            want = 'Basic ' + base64.b64encode(
                ('admin:' + PASSWORD).encode()).decode()
            if auth != want or 'token=' + TOKEN not in self.path:
                self.send_response(401)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header('Content-Length', str(len(SITE)))
            self.end_headers()
            self.wfile.write(SITE)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,),
                     daemon=True).start()
    port = httpd.server_address[1]
    yield ('127.0.0.1:%d' % port,
           'http://admin:%s@127.0.0.1:%d/site.yaml?rev=7&token=%s'
           % (PASSWORD, port, TOKEN), seen)
    httpd.shutdown()
    httpd.server_close()


def _exercise(config, ref):
    """Tasks of every kind with ``ref``; returns every CLI output."""
    outputs = []

    def cli(*args, code=0):
        done = conftest.drydock2(config, '--debug', *args, timeout=180)
        assert done.returncode == code, done.stdout + done.stderr
        outputs.append(done.stdout + done.stderr)
        return done

    cli('design', 'validate', ref)
    cli('task', 'create', 'prepare_site', '--design-ref', ref)
    cli('task', 'create', 'deploy_nodes', '--design-ref', ref, '--nodes',
        'node05', '--wait')
    cli('task', 'create', 'verify_nodes', '--design-ref', ref, '--nodes',
        'node06', '--wait')
    for fmt in FORMATS:
        cli('task', 'list', '-f', fmt)
        for task in ('1', '4'):
            cli('task', 'show', task, '-f', fmt)
        cli('node', 'list', '-f', fmt)
        cli('node', 'show', 'node05', '-f', fmt)
    cli('task', 'history', 'show', '3', '--include-summary', '-f', 'json')
    return outputs


def _assert_nowhere(texts):
    for where, text in texts:
        assert PASSWORD not in text, where
        assert TOKEN not in text, where


def _assert_masked_and_fetched(outputs, seen):
    assert any('http://***@127.0.0.1' in o and 'token=***' in o
               for o in outputs), 'the masked reference is shown'
    assert any(auth and 'token=' + TOKEN in path for path, auth in seen)
    assert all(auth for _, auth in seen)


def test_postgresql_and_rabbitmq(tmp_path, pg_url, rabbit_vhost, daemons,
                                 design_server):
    host, ref, seen = design_server
    site = dict(conftest.TEST_SITE, design_http_hosts=host)
    config = conftest.production_config(
        tmp_path / 'drydock.conf', pg_url, rabbit_vhost,
        DEFAULT={'debug': 'true'}, site=site,
        executor={'oob_driver': 'fake', 'report_interval': 0.05})
    conftest.migrate(config)
    for role in ('manager', 'executor', 'receiver'):
        daemons(role, config, tmp_path / (role + '.log')).wait_ready()
    outputs = _exercise(config, ref)
    _assert_masked_and_fetched(outputs, seen)
    dump = subprocess.run(
        ['pg_dump', '--data-only', '-h', '127.0.0.1', '-U', 'postgres',
         pg_url.rsplit('/', 1)[1]], capture_output=True, text=True,
        timeout=120)
    assert dump.returncode == 0, dump.stderr
    assert 'http://***@127.0.0.1' in dump.stdout
    logs = [(n, open(tmp_path / (n + '.log')).read())
            for n in ('manager', 'executor', 'receiver')]
    # At debug, SQLAlchemy logs every statement with its parameters.
    assert any('sqlalchemy.engine' in text for _, text in logs)
    _assert_nowhere([('pg_dump', dump.stdout)] + logs +
                    [('cli', o) for o in outputs])


def test_embedded_default(tmp_path, daemons, design_server):
    host, ref, seen = design_server
    config = conftest.write_config(
        tmp_path / 'drydock.conf',
        DEFAULT={'state_path': tmp_path, 'debug': 'true'},
        executor={'report_interval': 0.05, 'oob_driver': 'fake'},
        receiver={'batch_window_ms': 20},
        site=dict(conftest.TEST_SITE, design_http_hosts=host))
    daemons('all-in-one', config, tmp_path / 'aio.log').wait_ready()
    outputs = _exercise(config, ref)
    _assert_masked_and_fetched(outputs, seen)
    dumps = []
    for name in ('drydock.sqlite', 'workplane.sqlite'):
        with sqlite3.connect(tmp_path / name) as db:
            dumps.append((name, '\n'.join(db.iterdump())))
    assert 'http://***@127.0.0.1' in dumps[0][1]
    log = open(tmp_path / 'aio.log').read()
    assert 'sqlalchemy.engine' in log
    files = [(n, open(tmp_path / n, errors='replace').read())
             for n in os.listdir(tmp_path) if n.endswith(('.log', '.conf'))
             and n != 'drydock.conf']
    _assert_nowhere(dumps + files + [('cli', o) for o in outputs])
