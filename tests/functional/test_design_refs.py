"""Hostile and careless design references, through ``drydock2`` processes.

On the embedded default the CLI process hosts the API endpoints, so these
run the manager's own code: the answer must come back promptly, in one
clean line per problem, echoing nothing a remote peer sent.
"""

import http.server
import json
import os
import socket
import threading
import time

import pytest
import yaml

import conftest

SITE = open(conftest.DEMO_SITE, 'rb').read()


def _validate(config, ref):
    started = time.monotonic()
    result = conftest.drydock2(config, 'design', 'validate', ref,
                               '-f', 'json', timeout=60)
    return result, time.monotonic() - started


def _problems(result):
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Traceback' not in result.stderr
    return [(p['context'], p['problem']) for p in json.loads(result.stdout)]


def test_every_problem_with_its_document_and_field(embedded_config,
                                                  tmp_path):
    doc = yaml.safe_load(open(conftest.DEMO_SITE))
    doc['nodes'][6]['rack'] = 'r9'
    doc['nodes'][7]['lables'] = doc['nodes'][7].pop('labels')
    doc['deployment_tasks'][0]['requires'] = ['deployment_end']
    doc['deployment_tasks'].append({'id': 'ceph', 'type': 'shell',
                                    'roles': ['ceph-osd'],
                                    'parameters': {'timout': 5}})
    path = tmp_path / 'site.yaml'
    path.write_text(yaml.safe_dump(doc))
    result, _ = _validate(embedded_config, str(path))
    assert _problems(result) == [
        ('node node07.rack', "unknown rack 'r9' (racks: rack1, rack2)"),
        ('node node08.lables', 'unknown key (did you mean labels?)'),
        ('deployment_task ceph.parameters.timout',
         'unknown key (did you mean timeout?)'),
        ('deployment_task ceph.roles', "unknown role 'ceph-osd'"),
        # upload_repos (master) now waits for the end, which waits for
        # every node, whose install_packages waits for upload_repos.
        ('design.deployment_tasks', 'cycle upload_repos@master -> '
         'deployment_end@null -> post_deployment_check@1 -> '
         'install_packages@1 -> upload_repos@master')]
    assert 'Design has 5 problems' in result.stderr


@pytest.mark.parametrize('kind', ['fifo', '/dev/kmsg'])
def test_fifos_and_devices_answer_at_once(embedded_config, tmp_path, kind):
    path = str(tmp_path / 'site.yaml')
    if kind == 'fifo':
        os.mkfifo(path)
    else:
        path = kind
        conftest.add_options(embedded_config, 'site',
                             design_file_roots='%s,/dev' % tmp_path)
    result, elapsed = _validate(embedded_config, path)
    assert _problems(result) == [
        ('Design file://%s is invalid' % path, 'not a regular file')]
    assert elapsed < 20


@pytest.fixture
def peers():
    """A design server that redirects elsewhere, the 'elsewhere', and a
    service that is not HTTP."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.server.hits.append(self.path)
            if self.path == '/site.yaml':
                self.send_response(200)
                self.send_header('Content-Length', str(len(SITE)))
                self.end_headers()
                self.wfile.write(SITE)
                return
            self.send_response(302)
            self.send_header('Location', self.server.target)
            self.end_headers()

        def log_message(self, *args):
            pass

    servers = []
    for _ in range(2):
        httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        httpd.hits = []
        threading.Thread(target=httpd.serve_forever, args=(0.05,),
                         daemon=True).start()
        servers.append(httpd)
    design_server, other = servers
    other_url = 'http://127.0.0.1:%d' % other.server_address[1]
    design_server.target = other_url + '/site.yaml'

    banner = socket.create_server(('127.0.0.1', 0))
    stop = threading.Event()

    def ssh_like():
        while not stop.is_set():
            try:
                conn, _ = banner.accept()
            except OSError:
                return
            conn.sendall(b'SSH-2.0-OpenSSH_9.2p1 SECRET-BANNER\r\n')
            conn.close()
    threading.Thread(target=ssh_like, daemon=True).start()
    yield ('http://127.0.0.1:%d' % design_server.server_address[1], other,
           'http://127.0.0.1:%d/site.yaml' % banner.getsockname()[1])
    stop.set()
    banner.close()
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def _allow_hosts(config, *urls):
    conftest.add_options(config, 'site', design_http_hosts=','.join(
        url.split('/')[2] for url in urls))


def test_redirects_leave_no_origin(embedded_config, peers):
    url, other, _ = peers
    _allow_hosts(embedded_config, url, 'http://127.0.0.1:%d'
                 % other.server_address[1])
    good, _ = _validate(embedded_config, url + '/site.yaml')
    assert good.returncode == 0, good.stderr
    result, _ = _validate(embedded_config, url + '/elsewhere.yaml')
    assert _problems(result) == [
        ('Design %s/elsewhere.yaml is invalid' % url,
         'redirected to another server (refused: give the final address '
         'as the design_ref)')]
    assert other.hits == []


def test_a_non_http_service_is_not_echoed(embedded_config, peers):
    _, _, banner_url = peers
    _allow_hosts(embedded_config, banner_url)
    result, _ = _validate(embedded_config, banner_url)
    assert _problems(result) == [
        ('Design %s is invalid' % banner_url,
         'the server did not answer with HTTP')]
    assert 'SECRET' not in result.stdout + result.stderr


def test_an_alias_bomb_never_reaches_the_database(embedded_config,
                                                  tmp_path):
    lines = ['x-l0: &l0 "%s"' % ('x' * 64)]
    lines += ['x-l%d: &l%d [%s]' % (i, i, ', '.join(['*l%d' % (i - 1)] * 9))
              for i in range(1, 8)]
    lines += ['nodes:', '  - {id: 1, name: node01, labels: {bomb: *l7}}']
    path = tmp_path / 'bomb.yaml'
    path.write_text('\n'.join(lines) + '\n')
    created = conftest.drydock2(embedded_config, 'task', 'create',
                                'prepare_site', '--design-ref', str(path))
    assert created.returncode == 1
    assert created.stderr.count('\n') == 1, created.stderr
    assert 'once its aliases are expanded' in created.stderr
    nodes = conftest.drydock2(embedded_config, 'node', 'list', '-f', 'json')
    assert json.loads(nodes.stdout) == []
