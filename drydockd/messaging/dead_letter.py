"""Set aside messages that cannot be processed, with the reason.

The original body goes unchanged to ``<queue>.dead`` with the reason in the
``x-drydock-reason`` header; the original is acknowledged only after that
publish succeeded, so nothing is lost and the queue keeps moving.

py-amqp hands back a body published with a text ``content_encoding`` (what
kombu's json serializer and the executor's publisher send: ``utf-8``) as
``str``, and any other body as ``bytes``; :func:`body_bytes` gives the bytes
either way, so sizes, previews and re-published bodies are the originals.
"""

import codecs
import logging
import threading

from drydockd.messaging import entities

LOG = logging.getLogger(__name__)
MAX_REASON = 500


def body_bytes(message):
    """The message body as the bytes that were published."""
    body = message.body
    if isinstance(body, bytes):
        return body
    encoding = message.content_encoding or 'utf-8'
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = 'utf-8'
    return body.encode(encoding, 'surrogateescape')


class DeadLetters:

    def __init__(self, conf, publisher, queue_name):
        self.publisher = publisher
        self.queue = entities.dead_letter_queue(conf, queue_name)
        self.count = 0
        self._lock = threading.Lock()

    def put(self, message, reason, ack=True):
        """Publish ``message`` to the dead queue; ack it unless the caller
        acknowledges it with its batch."""
        reason = reason[:MAX_REASON]
        headers = dict(message.headers or {})
        if not message.errors:
            # kombu already decompressed the body we are about to copy.
            headers.pop('compression', None)
        headers[entities.REASON_HEADER] = reason
        headers[entities.USER_HEADER] = (message.properties or {}).get(
            'user_id') or ''
        self.publisher.publish_raw(self.queue, body_bytes(message),
                                   message.content_type or
                                   'application/octet-stream',
                                   message.content_encoding or 'binary',
                                   headers)
        if ack:
            message.ack()
        with self._lock:
            self.count += 1
            count = self.count
        LOG.warning('Dead-lettered a message to %s (%d so far): %s',
                    self.queue.name, count, reason)


def _fetch(conn, queue, limit):
    """Take up to ``limit`` dead letters off ``queue`` (unacked)."""
    channel = conn.channel()
    bound = queue(channel)
    bound.declare()
    taken = []
    while len(taken) < limit:
        message = bound.get(no_ack=False)
        if message is None:
            break
        taken.append(message)
    return channel, taken


def reason_of(headers):
    """Why a message was set aside: drydock's reason, or the broker's when
    the broker did it (a quorum queue's delivery limit)."""
    headers = headers or {}
    if entities.REASON_HEADER in headers:
        return headers[entities.REASON_HEADER]
    broker_reason = headers.get('x-first-death-reason')
    if broker_reason == 'delivery_limit':
        return ('delivered %s times without being processed (the broker\'s '
                'delivery limit on %s)' % (
                    headers.get('x-delivery-count', 'too many'),
                    headers.get('x-first-death-queue', 'its queue')))
    if broker_reason:
        return 'set aside by the broker: %s' % broker_reason
    return ''


def browse(conf, queue_name, limit=100):
    """Describe dead letters without removing them.

    :returns: dicts with reason, size, content_type and a masked preview.
    """
    from oslo_utils import strutils
    with entities.connection(conf) as conn:
        channel, taken = _fetch(
            conn, entities.dead_letter_queue(conf, queue_name), limit)
        out = []
        for message in taken:
            body = body_bytes(message)
            out.append({
                'reason': reason_of(message.headers),
                'size': len(body),
                'content_type': message.content_type,
                'preview': strutils.mask_password(
                    body[:120].decode('utf-8', 'replace'))})
        for message in taken:
            message.requeue()
        channel.close()
    return out


def replay(conf, queue_name, limit=100):
    """Move up to ``limit`` dead letters back to their work queue.

    Each is published (confirmed on AMQP) before it is removed from the
    dead-letter queue, so a crash in between duplicates, never loses.
    A replayed message carries the ``user_id`` of whoever replays it: a
    report goes back to the receiver only as an executor or agent
    identity would have sent it (docs/security.md).
    :returns: how many were replayed.
    """
    from drydockd.messaging import publisher as publisher_mod
    target = entities.work_queues(conf)[queue_name]
    pub = publisher_mod.Publisher(conf)
    try:
        with entities.connection(conf) as conn:
            channel, taken = _fetch(
                conn, entities.dead_letter_queue(conf, queue_name), limit)
            for message in taken:
                headers = dict(message.headers or {})
                reason = reason_of(headers)
                headers.pop(entities.REASON_HEADER, None)
                headers['x-drydock-replayed-reason'] = reason
                pub.publish_raw(target, body_bytes(message),
                                message.content_type or 'application/json',
                                message.content_encoding or 'utf-8', headers)
                message.ack()
            channel.close()
    finally:
        pub.close()
    return len(taken)
