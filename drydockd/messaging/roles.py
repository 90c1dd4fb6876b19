"""The broker roles and what each may configure, write and read.

RabbitMQ grants a user, per virtual host, three regular expressions over
exchange and queue names: *configure* (declare, delete), *write* (publish
to an exchange, bind a queue) and *read* (consume from a queue, bind to
an exchange); and per topic exchange, regular expressions over routing
keys. This module turns the entity names of ``entities`` (and
oslo.messaging's names on the API plane) into those grants, so that each
role can send exactly its own traffic:

- ``api`` (operators, other daemons): call the manager's RPC topic on
  the API virtual host; nothing on the work plane.
- ``manager``: serve the RPC topic; write work messages and the service
  fanout; read nothing on the work plane.
- ``executor``: read the work queue and its own fanout queue; write
  executor reports and the executor queue's dead letters.
- ``receiver``: read the receiver queue; write its dead letters.
- ``agent``: write agent reports, nothing else.

Nobody but the broker administrator (``broker setup``) configures a
shared entity: configure also allows deleting it.
"""

import collections
import re

from drydockd.messaging import entities

ROLES = ('api', 'manager', 'executor', 'receiver', 'agent')
NOTHING = '^$'

Grant = collections.namedtuple('Grant', 'configure write read')
TopicGrant = collections.namedtuple('TopicGrant', 'exchange write read')


def _names(*names):
    """A regex matching exactly ``names`` (already escaped parts end
    with ``$`` left to us)."""
    parts = sorted(set(names))
    return '^(%s)$' % '|'.join(parts) if parts else NOTHING


def _exact(name):
    return re.escape(name)


def work_grants(conf):
    """role -> Grant on the work-plane virtual host."""
    wp = conf.work_plane
    commands = _exact(wp.command_exchange)
    reports = _exact(wp.executor_report_exchange)
    agent = _exact(wp.agent_report_exchange)
    dead = _exact(wp.dead_letter_exchange)
    fanout = _exact(conf.executor.service_exchange)
    own_queue = _exact(entities.service_queue_prefix(conf)) + '.+'
    return {
        'manager': Grant(NOTHING, _names(commands, fanout), NOTHING),
        'executor': Grant(_names(own_queue),
                          _names(reports, dead, own_queue),
                          _names(_exact(conf.executor.queue), fanout,
                                 own_queue)),
        'receiver': Grant(NOTHING, _names(dead),
                          _names(_exact(conf.receiver.queue))),
        'agent': Grant(NOTHING, _names(agent), NOTHING),
    }


def work_topic_grants(conf):
    """role -> TopicGrant: which dead-letter queue each may fill."""
    exchange = conf.work_plane.dead_letter_exchange

    def dead(queue):
        return TopicGrant(exchange, '^%s$' % _exact(
            queue + entities.DEAD_SUFFIX), NOTHING)
    return {'executor': dead(conf.executor.queue),
            'receiver': dead(conf.receiver.queue)}


def api_grants(control_exchange, topic):
    """role -> Grant on the API virtual host (oslo.messaging's names: the
    control exchange, the topic and per-server queues, the fanout, the
    callers' ``reply_*`` queues and exchanges)."""
    exchange = _exact(control_exchange)
    server = [exchange, _exact(topic), _exact(topic) + r'\..+',
              _exact(topic) + '_fanout.*']
    replies = 'reply_.+'
    return {
        'api': Grant(_names(exchange, replies), _names(exchange, replies),
                     _names(replies)),
        # Replies go through the default exchange, routed by the reply
        # queue's name: the manager may write there, on this vhost only.
        'manager': Grant(_names(*server),
                         _names(replies, r'amq\.default', *server),
                         _names(*server)),
    }


def api_topic_grants(control_exchange, topic):
    """Callers publish on the control exchange to the topic only."""
    return {'api': TopicGrant(control_exchange,
                              '^%s$' % _exact(topic), NOTHING)}
