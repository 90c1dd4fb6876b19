"""The work-plane protocol: decoding bodies and validating reports."""

import datetime
import gzip
import json
import re
import uuid
import zlib

import kombu
import pytest
from kombu import compression

from drydockd.common import exception
from drydockd.messaging import schemas

LIMIT = 4096
UUID = str(uuid.uuid4())
WHEN = datetime.datetime(2026, 11, 22, 10, 0, 1, 123456)


def _json(value):
    return json.dumps(value).encode('utf-8')


def _report(**args):
    return schemas.report('deploy_resp', UUID, **args)


# -- decode_body --------------------------------------------------------------

def test_decode_one_object():
    body = _json({'method': 'deploy_resp', 'args': {'task_uuid': UUID}})
    assert schemas.decode_body(body, LIMIT) == [
        {'method': 'deploy_resp', 'args': {'task_uuid': UUID}}]


def test_decode_text_body():
    assert schemas.decode_body('{"a": 1}', LIMIT) == [{'a': 1}]


def test_decode_list_keeps_order():
    items = [{'n': i} for i in range(5)]
    assert schemas.decode_body(_json(items), LIMIT) == items


def test_decode_empty_list_is_invalid():
    with pytest.raises(exception.MessageInvalid, match='empty list'):
        schemas.decode_body(b'[]', LIMIT)


def _through_kombu(body, **publish):
    """Publish on an in-memory broker and return the consumed message."""
    queue = kombu.Queue('schemas-test', kombu.Exchange('schemas-test'),
                        routing_key='schemas-test')
    got, errors = [], []
    with kombu.Connection('memory://') as conn:
        conn.Producer().publish(body, exchange=queue.exchange,
                                routing_key='schemas-test', declare=[queue],
                                **publish)
        with conn.Consumer(queue, accept=['json'], on_message=got.append,
                           on_decode_error=lambda m, e: errors.append(m)):
            conn.drain_events(timeout=2)
        queue(conn.default_channel).delete()
    return (got or errors)[0], bool(errors)


@pytest.mark.parametrize('codec', ['gzip', 'zlib'])
def test_decode_kombu_compressed_message(codec):
    """kombu's compression header: the consumer sees the inflated body."""
    envelope = [{'method': 'deploy_resp', 'args': {'task_uuid': UUID}},
                {'method': 'deploy_resp', 'args': {'task_uuid': UUID,
                                                   'progress': 5}}]
    message, failed = _through_kombu(envelope, serializer='json',
                                     compression=codec)
    assert not failed
    assert message.headers['compression'] == 'application/x-gzip'
    assert schemas.decode_body(message.body, LIMIT) == envelope


def test_compressed_body_kombu_cannot_inflate_is_never_decoded():
    message, failed = _through_kombu(
        b'\x78\x9cnot really zlib', content_type='application/json',
        content_encoding='binary',
        headers={'compression': 'application/x-gzip'})
    assert failed          # the consumer's on_decode_error got it
    with pytest.raises(exception.MessageInvalid, match='undecodable'):
        schemas.decode_body(message.body, LIMIT)


def test_oversize_plain_body():
    body = _json({'pad': 'x' * LIMIT})
    with pytest.raises(exception.MessageInvalid,
                       match='exceeds the limit of %d' % LIMIT):
        schemas.decode_body(body, LIMIT)


def test_body_at_the_limit_is_accepted():
    body = _json({'pad': ''})
    body = _json({'pad': 'x' * (LIMIT - len(body))})
    assert len(body) == LIMIT
    assert schemas.decode_body(body, LIMIT)[0]['pad']


@pytest.mark.parametrize('codec', ['gzip', 'zlib'])
def test_oversize_after_decompression(codec):
    # A few hundred bytes on the wire, far over the limit once inflated.
    envelope = {'method': 'deploy_resp',
                'args': {'task_uuid': UUID, 'error': 'x' * (LIMIT * 50)}}
    wire, _ = compression.compress(_json(envelope), codec)
    assert len(wire) < LIMIT
    message, failed = _through_kombu(envelope, serializer='json',
                                     compression=codec)
    assert not failed
    with pytest.raises(exception.MessageInvalid, match='exceeds the limit'):
        schemas.decode_body(message.body, LIMIT)


@pytest.mark.parametrize('body', [
    b'\xff\xfe\xfa\x00garbage',
    b'\x80\x81\x82',
    b'{"a": "\xff"}',
    gzip.compress(b'{"a": 1}', mtime=0),
    zlib.compress(b'{"a": 1}'),
])
def test_undecodable_bytes(body):
    with pytest.raises(exception.MessageInvalid, match='undecodable'):
        schemas.decode_body(body, LIMIT)


@pytest.mark.parametrize('body', [
    b'{"method": "deploy_resp", "args": {"task_uuid": "',
    b'[{"a": 1},',
    b'',
])
def test_truncated_json(body):
    with pytest.raises(exception.MessageInvalid, match='undecodable'):
        schemas.decode_body(body, LIMIT)


# -- validate_report ----------------------------------------------------------

def _invalid(item, field):
    """validate_report refuses ``item`` with a reason naming ``field``."""
    with pytest.raises(exception.MessageInvalid) as err:
        schemas.validate_report(item)
    assert re.search(field, err.value.message), err.value.message


def test_valid_report_is_returned():
    rep = _report(status='running', progress=10, nodes=[
        schemas.node_entry('5', WHEN, 'netconfig', 'running',
                           status='deploying', progress=40),
        schemas.node_entry('master', WHEN, 'upload', 'ready',
                           time_start=schemas.format_time(WHEN),
                           summary={'a': 1}, custom={'b': 2}),
        schemas.node_entry(None, WHEN, 'stage', 'skipped'),
        schemas.node_entry('6', WHEN, status='ready', progress=100)])
    assert schemas.validate_report(rep) is rep


def test_astute_report_without_times_is_valid():
    rep = {'method': 'deploy_resp', 'args': {
        'task_uuid': UUID, 'status': 'ready', 'progress': 100.0,
        'nodes': [{'uid': '1', 'deployment_graph_task_name': 'x',
                   'task_status': 'ready'}]}}
    assert schemas.validate_report(rep) is rep


@pytest.mark.parametrize('args', [
    {},
    {'task_uuid': None},
    {'task_uuid': ''},
    {'task_uuid': 42},
    {'task_uuid': 'x' * 65},
])
def test_missing_task_uuid(args):
    _invalid({'method': 'deploy_resp', 'args': args}, 'task_uuid')


@pytest.mark.parametrize('method', [
    None, 'deploy', 'task_deploy', '_private', 'DEPLOY_RESP', 7])
def test_unknown_method(method):
    _invalid({'method': method, 'args': {'task_uuid': UUID}}, 'method')


def test_method_is_required():
    _invalid({'args': {'task_uuid': UUID}}, 'method')


@pytest.mark.parametrize('item,field', [
    ([], 'object'),
    ('deploy_resp', 'object'),
    ({'method': 'deploy_resp'}, 'args'),
    ({'method': 'deploy_resp', 'args': []}, 'args'),
    (_report(progress='50'), 'progress'),
    (_report(progress=True), 'progress'),
    (_report(progress=101), 'progress'),
    (_report(progress=-1), 'progress'),
    (_report(error=['x']), 'error'),
    ({'method': 'deploy_resp',
      'args': {'task_uuid': UUID, 'nodes': {'uid': '1'}}}, 'nodes'),
    (_report(nodes=['5']), r'nodes\[0\]'),
    (_report(nodes=[{'uid': 5}]), 'uid'),
    (_report(nodes=[{'time': '2026-11-22T10:00:00Z'}]), 'uid'),
    (_report(nodes=[{'uid': '5', 'status': 3}]), 'status'),
    (_report(nodes=[{'uid': '5', 'status': 'happy'}]), 'status'),
    (_report(nodes=[{'uid': '5', 'progress': '1'}]), 'progress'),
    (_report(nodes=[{'uid': '5', 'progress': False}]), 'progress'),
    (_report(nodes=[{'uid': '5', 'deployment_graph_task_name': 1,
                     'task_status': 'ready'}]),
     'deployment_graph_task_name'),
    (_report(nodes=[{'uid': '5', 'error_msg': {'a': 1}}]), 'error_msg'),
    (_report(nodes=[{'uid': '5', 'custom': 'x'}]), 'custom'),
    (_report(nodes=[{'uid': '5', 'summary': [1]}]), 'summary'),
])
def test_wrong_types(item, field):
    _invalid(item, field)


@pytest.mark.parametrize('status', ['complete', 'pending', 'READY', ''])
def test_unknown_report_status(status):
    _invalid(_report(status=status), 'status')


@pytest.mark.parametrize('task_status', [
    None, 'pending', 'done', 'Ready', 'stopped'])
def test_unknown_task_status(task_status):
    entry = {'uid': '5', 'deployment_graph_task_name': 'netconfig',
             'task_status': task_status}
    _invalid(_report(nodes=[entry]), 'task_status')


def test_graph_task_without_task_status():
    entry = {'uid': '5', 'deployment_graph_task_name': 'netconfig'}
    _invalid(_report(nodes=[entry]), 'task_status')


@pytest.mark.parametrize('uid', ['', 'node5', '-1', '5a', 'Master',
                                 'null', ' 5', '5 '])
def test_bad_uid(uid):
    _invalid(_report(nodes=[{'uid': uid}]), 'uid')


@pytest.mark.parametrize('key', ['time', 'time_start'])
@pytest.mark.parametrize('value', ['yesterday', '2026-13-01T00:00:00Z',
                                   '2026-11-22 25:00', '', 1700000000])
def test_bad_time(key, value):
    _invalid(_report(nodes=[{'uid': '5', key: value}]), 'time')


# -- time format --------------------------------------------------------------

@pytest.mark.parametrize('value', [
    WHEN,
    datetime.datetime(2026, 1, 1),
    datetime.datetime(1999, 12, 31, 23, 59, 59, 999999),
])
def test_time_round_trip(value):
    text = schemas.format_time(value)
    assert text.endswith('Z')
    assert schemas.parse_time(text) == value


def test_format_time_shape_and_none():
    assert schemas.format_time(WHEN) == '2026-11-22T10:00:01.123456Z'
    assert schemas.format_time(None) is None


@pytest.mark.parametrize('text,expected', [
    ('2026-11-22T10:00:01.123456Z', WHEN),
    ('2026-11-22T10:00:01.123456+00:00', WHEN),
    ('2026-11-22T12:00:01.123456+02:00', WHEN),
    ('2026-11-22T10:00:01.123456', WHEN),
    ('2026-11-22T10:00:01Z', WHEN.replace(microsecond=0)),
])
def test_parse_time_is_naive_utc(text, expected):
    parsed = schemas.parse_time(text)
    assert parsed.tzinfo is None
    assert parsed == expected


@pytest.mark.parametrize('value', [
    None, 5, 'soon', '2026-11-22T99:00', '2026-11-22T25:00:00Z',
    '2026-11-22T10:00:01+01:00Z', 'Z'])
def test_parse_time_rejects(value):
    with pytest.raises(exception.MessageInvalid, match='bad time'):
        schemas.parse_time(value)


def test_utcnow_is_naive_and_round_trips():
    now = schemas.utcnow()
    assert now.tzinfo is None
    assert schemas.parse_time(schemas.format_time(now)) == now


def test_node_entry_builder():
    entry = schemas.node_entry(None, WHEN, 'stage', 'ready', error_msg=None,
                               summary={'x': 1})
    assert entry == {'uid': None, 'time': '2026-11-22T10:00:01.123456Z',
                     'deployment_graph_task_name': 'stage',
                     'task_status': 'ready', 'summary': {'x': 1}}


def test_report_builder_leaves_out_none():
    assert schemas.report('deploy_resp', UUID) == {
        'method': 'deploy_resp', 'args': {'task_uuid': UUID}}
    assert schemas.report('deploy_resp', UUID, status='ready', progress=0,
                          nodes=[])['args'] == {
        'task_uuid': UUID, 'status': 'ready', 'progress': 0, 'nodes': []}


def test_a_cut_compressed_stream_is_refused_even_if_it_inflates_whole():
    """Without its checksum a zlib stream still inflates to the whole,
    valid body; the bounded decoder refuses it (no half-read message is
    ever taken for a whole one)."""
    from drydockd.messaging import compression as bounded
    bounded.install(LIMIT)
    body = _json({'method': 'deploy_resp', 'args': {'task_uuid': UUID}})
    whole = zlib.compress(body)
    assert compression.decompress(whole, 'application/x-gzip') == body
    assert zlib.decompressobj().decompress(whole[:-4]) == body
    with pytest.raises(ValueError, match='truncated'):
        compression.decompress(whole[:-4], 'application/x-gzip')
