"""The boot service's HTTP pieces: tokens, Range requests, iPXE scripts
and the agent endpoint, through the WSGI application itself (no mocks:
reports go into a list, as the work plane would take them)."""

import hashlib
import io
import os

import pytest

from drydockd.boot import agent_api
from drydockd.boot import app as app_mod
from drydockd.boot import files
from drydockd.boot import provisions
from drydockd.boot import tokens
from drydockd.messaging import schemas

MAC = '52:54:00:00:00:0a'
IMAGE = {'name': 'os.img', 'url': 'http://10.0.0.1:8080/images/os.img',
         'sha256': 'ab' * 32, 'format': 'raw', 'size': 4096}


def test_token_is_checked_and_void_after_revoke():
    book = tokens.TokenBook()
    token = book.issue('5')
    assert book.check('5', token)
    assert not book.check('5', token + 'x')
    assert not book.check('6', token)
    assert not book.check('5', '')
    newer = book.issue('5')
    assert not book.check('5', token), 'a reissued token voids the old one'
    book.revoke('5')
    assert not book.check('5', newer), 'replay after the end is refused'


def test_only_digests_are_kept():
    book = tokens.TokenBook()
    token = book.issue('1')
    assert token not in repr(book._digests)


@pytest.mark.parametrize('header,size,expected', [
    (None, 100, None),
    ('bytes=0-9', 100, (0, 9)),
    ('bytes=90-', 100, (90, 99)),
    ('bytes=-10', 100, (90, 99)),
    ('bytes=-500', 100, (0, 99)),
    ('bytes=50-5000', 100, (50, 99)),
    ('bytes=100-', 100, 'unsatisfiable'),
    ('bytes=9-3', 100, 'unsatisfiable'),
    ('bytes=-0', 100, 'unsatisfiable'),
    ('bytes=0-1,5-6', 100, None),
    ('items=0-1', 100, None),
])
def test_parse_range(header, size, expected):
    assert files.parse_range(header, size) == expected


class Client:
    """Calls a WSGI app in-process and collects the answer."""

    def __init__(self, app):
        self.app = app

    def request(self, method, path, body=b'', headers=None):
        environ = {'REQUEST_METHOD': method, 'PATH_INFO': path,
                   'CONTENT_LENGTH': str(len(body)),
                   'wsgi.input': io.BytesIO(body)}
        for key, value in (headers or {}).items():
            environ['HTTP_' + key.upper().replace('-', '_')] = value
        seen = {}

        def start_response(status, headers):
            seen['status'] = status
            seen['headers'] = dict(headers)
        chunks = self.app(environ, start_response)
        data = b''.join(chunks)
        getattr(chunks, 'close', lambda: None)()
        return seen['status'], seen['headers'], data


@pytest.fixture
def boot(tmp_path):
    (tmp_path / 'files').mkdir()
    (tmp_path / 'images').mkdir()
    payload = os.urandom(300_000)
    (tmp_path / 'images' / 'os.img').write_bytes(payload)
    (tmp_path / 'files' / 'vmlinuz').write_bytes(b'kernel')
    book = tokens.TokenBook()
    registry = provisions.Registry(book)
    registry.set_macs({MAC: ('7', 'node07')})
    sent = []
    agent = agent_api.AgentAPI(registry, sent.append)
    app = app_mod.BootApp('http://10.0.0.1:8080', registry, agent,
                          files.FileStore(str(tmp_path / 'files')),
                          files.FileStore(str(tmp_path / 'images')),
                          'console=ttyS0')
    return Client(app), registry, sent, payload


def _provision(registry, action='deploy'):
    registry.sync([provisions.Provisioning(
        node='7', name='node07', mac=MAC, task='t-1', action=action,
        image=dict(IMAGE))])


def _token_of(script):
    for word in script.split():
        if word.startswith('drydock.token='):
            return word.split('=', 1)[1]
    raise AssertionError('no token in %s' % script)


def test_range_requests_and_checksum(boot):
    client, _, _, payload = boot
    status, headers, data = client.request('GET', '/images/os.img')
    assert status == '200 OK' and data == payload
    assert headers['Accept-Ranges'] == 'bytes'
    status, headers, data = client.request(
        'GET', '/images/os.img', headers={'Range': 'bytes=1000-1999'})
    assert status == '206 Partial Content'
    assert data == payload[1000:2000]
    assert headers['Content-Range'] == 'bytes 1000-1999/%d' % len(payload)
    status, _, data = client.request('GET', '/images/os.img',
                                     headers={'Range': 'bytes=-5'})
    assert data == payload[-5:]
    status, headers, _ = client.request(
        'GET', '/images/os.img', headers={'Range': 'bytes=400000-'})
    assert status.startswith('416')
    assert headers['Content-Range'] == 'bytes */%d' % len(payload)
    status, headers, data = client.request('HEAD', '/images/os.img')
    assert data == b'' and headers['Content-Length'] == str(len(payload))
    status, _, data = client.request('GET', '/images/os.img.sha256')
    assert data.split()[0].decode() == hashlib.sha256(payload).hexdigest()
    for bad in ('/images/../files/vmlinuz', '/images/nothere',
                '/images/.hidden'):
        assert client.request('GET', bad)[0].startswith('404')


def test_scripts_follow_the_provisioning(boot):
    client, registry, _, _ = boot
    status, _, data = client.request('GET', '/boot/%s.ipxe' % MAC)
    assert b'sanboot' in data and b'drydock.token' not in data
    _provision(registry)
    status, _, data = client.request('GET', '/boot/%s.ipxe' % MAC.upper())
    script = data.decode()
    assert 'kernel http://10.0.0.1:8080/files/vmlinuz' in script
    assert 'drydock.node=7' in script
    token = _token_of(script)
    assert registry.tokens.check('7', token)
    # An unknown MAC boots its disk and gets no token.
    data = client.request('GET', '/boot/52:54:00:ff:ff:ff.ipxe')[2]
    assert b'unknown machine' in data and b'token' not in data
    assert client.request('GET', '/boot.ipxe')[2].startswith(b'#!ipxe')


def _agent(client, step, token, body=b''):
    return client.request('POST', '/v1/agent/7/%s' % step, body,
                          {'X-Drydock-Token': token})


def test_agent_deploy_protocol_reports_each_step(boot):
    client, registry, sent, _ = boot
    _provision(registry)
    token = _token_of(client.request('GET', '/boot/%s.ipxe' % MAC)[2]
                      .decode())
    inventory = (b'cpus=2\nmemory_bytes=268435456\ndisk=vda 1073741824\n'
                 b'nic=eth0 52:54:00:00:00:0A\n')
    status, _, data = _agent(client, 'start', token, inventory)
    assert status == '200 OK', data
    answer = dict(agent_api.parse_body(data.decode()))
    assert answer['action'] == 'deploy'
    assert answer['image_sha256'] == IMAGE['sha256']
    assert answer['image_size'] == '4096'
    for step, body in (('writing', b''), ('progress', b'progress=50\n'),
                       ('written', b'disk=vda\nsha256=ab\n')):
        assert _agent(client, step, token, body)[0] == '200 OK'
    status, _, data = _agent(client, 'done', token)
    assert data == b'then=reboot\n'
    # Rebooting: the node's script is its local disk now.
    assert b'sanboot' in client.request('GET', '/boot/%s.ipxe' % MAC)[2]
    assert _agent(client, 'firstboot', token)[0] == '200 OK'
    # The provisioning is over: the same token is refused.
    assert _agent(client, 'firstboot', token)[0] == '403 Forbidden'
    for report in sent:
        schemas.validate_report(report)
        assert token not in repr(report)
    entries = [e for r in sent for e in r['args']['nodes']]
    steps = [(e['deployment_graph_task_name'], e['task_status'])
             for e in entries if 'deployment_graph_task_name' in e]
    assert steps == [('boot', 'ready'), ('inspect', 'ready'),
                     ('write_image', 'running'), ('write_image', 'running'),
                     ('write_image', 'ready'), ('reboot', 'running'),
                     ('reboot', 'ready'), ('first_boot', 'ready')]
    inv = [e['inventory'] for e in entries if 'inventory' in e][0]
    assert inv == {'cpus': 2, 'memory_mb': 256,
                   'disks': [{'name': 'vda', 'size_bytes': 1073741824}],
                   'nics': [{'name': 'eth0', 'mac': '52:54:00:00:00:0a'}]}
    last = entries[-1]
    assert last['agent_result'] == 'success'
    assert last['status'] == 'provisioned'
    assert all(r['args']['task_uuid'] == 't-1' for r in sent)


def test_wrong_token_is_refused_and_fails_the_node(boot):
    client, registry, sent, _ = boot
    _provision(registry)
    token = _token_of(client.request('GET', '/boot/%s.ipxe' % MAC)[2]
                      .decode())
    status, _, _ = _agent(client, 'start', 'not-' + token, b'cpus=1\n')
    assert status == '403 Forbidden'
    [report] = sent
    entry = report['args']['nodes'][-1]
    assert entry['agent_result'] == 'failure'
    assert entry['message'] == ('node node07: agent call refused: wrong '
                                'token')
    # And the right token is void too: the provisioning ended.
    assert _agent(client, 'start', token, b'cpus=1\n')[0] == '403 Forbidden'
    assert len(sent) == 1


def test_no_provisioning_no_call(boot):
    client, _, sent, _ = boot
    assert _agent(client, 'start', 'anything')[0] == '403 Forbidden'
    assert client.request('GET', '/v1/agent/7/start')[0].startswith('405')
    assert sent == []


def test_agent_error_ends_with_its_message(boot):
    client, registry, sent, _ = boot
    _provision(registry)
    token = _token_of(client.request('GET', '/boot/%s.ipxe' % MAC)[2]
                      .decode())
    _agent(client, 'start', token, b'cpus=1\n')
    _agent(client, 'writing', token)
    status, _, data = _agent(client, 'error', token,
                             b'message=image checksum mismatch\x07\n')
    assert data == b'then=poweroff\n'
    entries = sent[-1]['args']['nodes']
    assert entries[0]['deployment_graph_task_name'] == 'write_image'
    assert entries[0]['task_status'] == 'error'
    assert entries[-1]['message'] == ('node node07: image checksum '
                                      'mismatch?')
    assert not registry.tokens.check('7', token)


def test_bad_inventory_is_refused(boot):
    client, registry, sent, _ = boot
    _provision(registry)
    token = _token_of(client.request('GET', '/boot/%s.ipxe' % MAC)[2]
                      .decode())
    status, _, _ = _agent(client, 'start', token, b'nic=eth0 nonsense\n')
    assert status == '400 Bad Request'
    assert sent == []


def test_agent_wipe_protocol_reports_progress_and_powers_off(boot):
    client, registry, sent, _ = boot
    _provision(registry, action='wipe')
    token = _token_of(client.request('GET', '/boot/%s.ipxe' % MAC)[2]
                      .decode())
    status, _, data = _agent(client, 'start', token, b'cpus=1\n')
    assert dict(agent_api.parse_body(data.decode())) == {'action': 'wipe'}
    # Done before the wipe is reported is not done.
    for step, body in (('writing', b'disks=2\n'),
                       ('progress', b'progress=50\n'),
                       ('progress', b'progress=100\n'),
                       ('wiped', b'disks=vda vdb\n')):
        assert _agent(client, step, token, body)[0] == '200 OK'
    assert _agent(client, 'written', token)[0] == '409 Conflict'
    status, _, data = _agent(client, 'done', token)
    assert data == b'then=poweroff\n'
    assert _agent(client, 'done', token)[0] == '403 Forbidden'
    entries = [e for r in sent for e in r['args']['nodes']]
    steps = [(e['deployment_graph_task_name'], e['task_status'],
              (e.get('custom') or {}).get('progress'))
             for e in entries if 'deployment_graph_task_name' in e]
    assert steps[:2] == [('boot', 'ready', None), ('inspect', 'ready', None)]
    assert steps[2:] == [('wipe', 'running', None), ('wipe', 'running', 50),
                         ('wipe', 'running', 100), ('wipe', 'ready', 100)]
    wiped = [e for e in entries if e.get('task_status') == 'ready'][-1]
    assert wiped['summary'] == {'disks': 'vda vdb'}
    assert entries[-1]['agent_result'] == 'success'
    assert entries[-1]['message'] == 'node node07: disks wiped, powering off'


def test_wipe_done_before_wiped_fails_the_node(boot):
    client, registry, sent, _ = boot
    _provision(registry, action='wipe')
    token = _token_of(client.request('GET', '/boot/%s.ipxe' % MAC)[2]
                      .decode())
    _agent(client, 'start', token, b'cpus=1\n')
    assert _agent(client, 'done', token)[2] == b'then=poweroff\n'
    last = sent[-1]['args']['nodes'][-1]
    assert last['agent_result'] == 'failure'
    assert last['message'] == ('node node07: agent finished before the '
                               'disks were wiped')


@pytest.mark.parametrize('action, step', [
    ('inspect', 'writing'), ('inspect', 'progress'), ('inspect', 'wiped'),
    ('deploy', 'wiped'), ('wipe', 'written')])
def test_a_step_of_another_kind_is_refused_and_reports_nothing(
        boot, action, step):
    """An agent (or someone with its token) calling a step its node's
    work does not have: refused, nothing reported, the node still
    provisioning."""
    client, registry, sent, _ = boot
    _provision(registry, action=action)
    token = _token_of(client.request('GET', '/boot/%s.ipxe' % MAC)[2]
                      .decode())
    _agent(client, 'start', token, b'cpus=1\n')
    before = list(sent)
    assert _agent(client, step, token, b'progress=5\n')[0] == \
        '409 Conflict'
    assert sent == before
    assert registry.get('7') is not None
