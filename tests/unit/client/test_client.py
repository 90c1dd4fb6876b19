"""The client side of the RPC API (Ironic's test_rpcapi.py, method by method).

Each ``_test_rpcapi`` case checks the version a method prepares (the
lowest that supports its arguments), whether it calls or casts, and the
exact keyword arguments sent. The server-side checks run a real
oslo.messaging server over the in-process transport.
"""

import base64
import json
import zlib
from unittest import mock

from oslo_config import cfg
import oslo_messaging as messaging
import pytest

from drydock_client import client as client_lib
from drydock_client import exceptions
from drydockd.api import rpc
from drydockd.common import exception
from drydockd.db import api as db_api
from drydockd.manager import manager

USER = 'tester'
CTXT = {'user': USER}


@pytest.fixture(scope='module')
def transport():
    # The global CONF, as drydock's daemons and CLI use: oslo.messaging
    # registers its tracing and metrics options only there.
    conf = cfg.CONF
    rpc.register_opts(conf)
    transport = messaging.get_rpc_transport(
        conf, url='kombu+memory:////rpcapi-test')
    yield transport
    transport.cleanup()


def test_versions_in_sync():
    assert client_lib.RPC_API_VERSION == manager.RPC_API_VERSION
    assert client_lib.Client.RPC_API_VERSION == manager.RPC_API_VERSION


def test_version_cap(transport):
    assert client_lib.Client(transport).version_cap == \
        client_lib.RPC_API_VERSION
    assert client_lib.Client(transport, version_cap='1.0').version_cap == \
        '1.0'


def test_target_is_drydocks_exchange(transport):
    """A transport's default control exchange is ``openstack``: a client
    that names none never reaches the manager."""
    target = client_lib.Client(transport).rpc.target
    assert (target.exchange, target.topic) == ('drydock', 'drydock')


def _test_rpcapi(transport, method, rpc_method, version, expected=None,
                 version_cap=None, **kwargs):
    """Call ``method`` with ``kwargs``; check prepare(version=...) and the
    call/cast it makes (``expected``: the kwargs sent, if they differ)."""
    api = client_lib.Client(transport, version_cap=version_cap, user=USER)
    with mock.patch.object(api.rpc, 'prepare', autospec=True) as prepare:
        prepared = prepare.return_value
        getattr(prepared, rpc_method).return_value = 'answer'
        result = getattr(api, method)(**kwargs)
    # RPCClient.can_send_version() prepares too: every prepare is at
    # the method's version.
    assert prepare.call_args_list
    assert all(c == mock.call(version=version)
               for c in prepare.call_args_list), prepare.call_args_list
    sent = dict(kwargs if expected is None else expected)
    getattr(prepared, rpc_method).assert_called_once_with(CTXT, method,
                                                          **sent)
    other = 'call' if rpc_method == 'cast' else 'cast'
    assert not getattr(prepared, other).called
    assert result == ('answer' if rpc_method == 'call' else None)


def test_create_task(transport):
    _test_rpcapi(transport, 'create_task', 'call', '1.0',
                 action='deploy_nodes', design_ref='file:///s.yaml',
                 node_filter={'filter_set_type': 'union', 'filter_set': []},
                 dry_run=True)


def test_create_task_of_a_node_action_stays_1_0(transport):
    """1.0-pinned callers have always sent the node actions (added in
    1.2) at 1.0; an older manager answers UnsupportedAction."""
    _test_rpcapi(transport, 'create_task', 'call', '1.0',
                 action='verify_nodes', design_ref='file:///s.yaml',
                 node_filter=None, dry_run=False)


def test_create_task_defaults(transport):
    _test_rpcapi(transport, 'create_task', 'call', '1.0',
                 expected={'action': 'validate_design',
                           'design_ref': 'file:///s.yaml',
                           'node_filter': None, 'dry_run': False},
                 action='validate_design', design_ref='file:///s.yaml')


def test_create_task_async_casts(transport):
    api = client_lib.Client(transport, user=USER)
    with mock.patch.object(api.rpc, 'prepare', autospec=True) as prepare:
        api.create_task_async('deploy_nodes', 'file:///s.yaml')
    prepare.assert_called_with(version='1.0')
    prepare.return_value.cast.assert_called_once_with(
        CTXT, 'create_task', action='deploy_nodes',
        design_ref='file:///s.yaml', node_filter=None, dry_run=False)
    assert not prepare.return_value.call.called


def test_get_task(transport):
    _test_rpcapi(transport, 'get_task', 'call', '1.0', task_id=5)


def test_list_tasks(transport):
    _test_rpcapi(transport, 'list_tasks', 'call', '1.0',
                 statuses=['running'], include_deleted=True)


def test_list_tasks_page(transport):
    _test_rpcapi(transport, 'list_tasks', 'call', '1.3',
                 expected={'statuses': None, 'include_deleted': False,
                           'limit': 50, 'marker': 1000},
                 limit=50, marker=1000)


def test_delete_task(transport):
    _test_rpcapi(transport, 'delete_task', 'call', '1.0', task_id='5')


def test_get_deployment_history_from_an_older_manager(transport):
    """Under a cap below 1.4: one unpaged 1.0 call, as before."""
    api = client_lib.Client(transport, version_cap='1.3', user=USER)
    with mock.patch.object(transport, '_send', autospec=True) as send:
        send.return_value = ['row']
        assert api.get_deployment_history(
            5, nodes=['5', '6'], statuses=['ready'],
            tasks_names=['netconfig'], include_summary=True) == ['row']
    message = send.call_args.args[2]
    assert (message['method'], message['version']) == (
        'get_deployment_history', '1.0')
    assert message['args'] == {'task_id': 5, 'nodes': ['5', '6'],
                               'statuses': ['ready'],
                               'tasks_names': ['netconfig'],
                               'include_summary': True}


def test_get_deployment_history_page(transport):
    marker = {'time_start': None, 'node_id': '5', 'task_name': 'hiera'}
    _test_rpcapi(transport, 'get_deployment_history', 'call', '1.4',
                 expected={'task_id': 5, 'nodes': None, 'statuses': None,
                           'tasks_names': None, 'include_summary': False,
                           'limit': 100, 'marker': marker},
                 task_id=5, limit=100, marker=marker)


@pytest.mark.parametrize('cap', ['1.4', '1.5', '1.6'])
def test_get_deployment_history_fetches_every_page(transport, cap):
    """Without limit/marker a client asks page after page, each after the
    one before (its ``next``), until a page has no ``next``; rows come
    back as dicts. From 1.5 a page's rows arrive as one JSON text, from
    1.6 as its columns, compressed."""
    size = client_lib.HISTORY_PAGE
    columns = ['task_name', 'node_id', 'time_start']
    rows = [['t', str(i), None] for i in range(2 * size + 3)]
    nexts = [{'time_start': None, 'node_id': str(size - 1),
              'task_name': 't'},
             {'time_start': None, 'node_id': str(2 * size - 1),
              'task_name': 't'}, None]

    def body(part):
        if cap == '1.6':
            text = json.dumps([list(c) for c in zip(*part)])
            return {'columns_z': base64.b64encode(zlib.compress(
                text.encode())).decode()}
        return ({'rows_json': json.dumps(part)} if cap == '1.5'
                else {'rows': part})

    api = client_lib.Client(transport, version_cap=cap, user=USER)
    with mock.patch.object(transport, '_send', autospec=True) as send:
        send.side_effect = [
            dict(body(rows[i * size:(i + 1) * size]), columns=columns,
                 next=nexts[i]) for i in range(3)]
        got = api.get_deployment_history(5, statuses=['pending'])
    assert got == [dict(zip(columns, r)) for r in rows]
    messages = [c.args[2] for c in send.call_args_list]
    assert [m['args']['marker'] for m in messages] == [None] + nexts[:2]
    assert {m['args']['limit'] for m in messages} == {size}
    assert all(m['args']['statuses'] == ['pending'] for m in messages)
    assert all(m['args'].get('page_format') == {
        '1.5': 'json', '1.6': 'columns'}.get(cap) for m in messages)
    assert {m['version'] for m in messages} == {cap}


def test_create_task_all_nodes(transport):
    _test_rpcapi(transport, 'create_task', 'call', '1.4',
                 action='destroy_nodes', design_ref='file:///s.yaml',
                 node_filter=None, dry_run=False, all_nodes=True)


def test_set_node_power_dry_run(transport):
    _test_rpcapi(transport, 'set_node_power', 'call', '1.4',
                 node_id='node05', power='off', dry_run=True)


def test_stop_task(transport):
    _test_rpcapi(transport, 'stop_task', 'call', '1.1', task_id=5)


def test_list_nodes(transport):
    _test_rpcapi(transport, 'list_nodes', 'call', '1.2')


def test_get_node(transport):
    _test_rpcapi(transport, 'get_node', 'call', '1.2', node_id='node05')


def test_set_node_power(transport):
    _test_rpcapi(transport, 'set_node_power', 'call', '1.2',
                 node_id='node05', power='cycle')


def test_every_api_method_has_a_version_test():
    """A new client method needs its own _test_rpcapi case above."""
    tests = [name for name in globals() if name.startswith('test_')]
    for method in manager.ManagerEndpoint.API_METHODS:
        assert any(name.startswith('test_' + method) for name in tests), \
            method


@pytest.mark.parametrize('method, kwargs', [
    ('stop_task', {'task_id': 5}),
    ('list_nodes', {}),
    ('get_node', {'node_id': 'node05'}),
    ('set_node_power', {'node_id': 'node05', 'power': 'on'}),
    ('create_task', {'action': 'destroy_nodes', 'design_ref': 'x',
                     'all_nodes': True}),
    ('set_node_power', {'node_id': 'node05', 'power': 'on',
                        'dry_run': True}),
    ('get_deployment_history', {'task_id': 5, 'limit': 10}),
])
def test_newer_methods_refused_under_the_1_0_cap(transport, method, kwargs):
    api = client_lib.Client(transport, version_cap='1.0')
    with mock.patch.object(transport, '_send', autospec=True) as send:
        with pytest.raises(exceptions.UnsupportedVersion,
                           match='%s needs RPC API 1.[124]; the version cap '
                                 'is 1.0' % method):
            getattr(api, method)(**kwargs)
    assert not send.called      # nothing was sent


def test_client_carries_user_and_retry(transport):
    dd = client_lib.Client(transport, version_cap='1.1', user='other-daemon',
                           retry=1)
    assert dd.rpc.retry == 1
    assert dd.version_cap == '1.1'
    assert dd.can_send_version('1.1') and not dd.can_send_version('1.2')
    assert dd.context == {'user': 'other-daemon'}


class _Endpoint(manager.ManagerEndpoint):
    """The real endpoint plus a private helper that must stay private."""

    def _private(self, context):
        return 'leaked'


@pytest.fixture
def server(transport):
    db = mock.create_autospec(db_api.Connection, instance=True)
    conf = mock.Mock(host='test-host')
    conf.manager.topic = 'drydock-rpcapi-test'
    srv = rpc.get_server(conf, transport, [_Endpoint(db, mock.Mock(),
                                                     conf)])
    srv.start()
    yield db
    srv.stop()
    srv.wait()


def test_private_method_refused_by_server(transport, server):
    target = messaging.Target(topic='drydock-rpcapi-test', version='1.0')
    raw = messaging.get_rpc_client(transport, target, timeout=10)
    with pytest.raises(messaging.RemoteError) as refused:
        raw.call(CTXT, '_private')
    assert refused.value.exc_type == 'NoSuchMethod'
    server.get_task.side_effect = exception.TaskNotFound(task=9)
    api = client_lib.Client(transport, topic='drydock-rpcapi-test',
                            timeout=10)
    # Public methods answer; the server's error arrives as RemoteError
    # (this transport allows no remote exception module) and leaves the
    # client as its own typed, one-line error.
    with pytest.raises(exceptions.TaskNotFound) as missing:
        api.get_task(9)
    assert missing.value.message == 'Task 9 not found'
    server.list_nodes.side_effect = exception.DatabaseUnavailable(
        reason='OperationalError')
    with pytest.raises(exceptions.DrydockError) as failed:
        api.list_nodes()
    assert failed.value.message == 'Database unavailable: OperationalError'


@pytest.mark.parametrize('name', exceptions.SERVER_ERRORS)
def test_every_server_error_has_a_client_class(name):
    server = getattr(exception, name)
    assert issubclass(server, exception.DrydockException)
    assert issubclass(getattr(exceptions, name), exceptions.DrydockError)


def test_errors_callers_get_are_all_known_to_the_client():
    """What the API raises (docs/integration.md's error table), by name."""
    for name in ('InvalidInput', 'TaskNotFound', 'NodeNotFound',
                 'NodeLocked', 'UnsupportedAction', 'DesignError',
                 'GraphCycle', 'GraphInvalid', 'InternalError'):
        assert hasattr(exception, name), name
        assert name in exceptions.SERVER_ERRORS
